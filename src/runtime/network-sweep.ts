// What a container that is gone leaves on mini's networks, found and removed: leases (with the
// other members' /etc/hosts blocks) and published ports. A lease's holder is alive while the process
// recorded with it (pid and start time) is; a port's while its container's recorded process is.
// A killed mini can leave either behind (its container died with it: PR_SET_PDEATHSIG, or the
// child stage's config pipe closed; an nft it started may even finish after it), never a veth: the
// kernel deletes a veth pair with the container's network namespace. Run by `mini run`, `mini ps`
// and `mini network`; cheap when nothing is stale: the lease files, one /proc read per member, and
// the published ports' comments read from the kernel over netlink (~0.1 ms; nft only to change).
import { pidStartTime } from "../common/proc.ts";
import * as log from "../log.ts";
import { parsePortComment, TABLE } from "../network/firewall-rules.ts";
import { type Endpoint, listEndpoints, reclaim } from "../network/ipam.ts";
import { listNetworks } from "../network/networks.ts";
import { chainComments } from "../network/nftables-read.ts";
import { readState } from "../state/containers.ts";
import { isAlive } from "../state/status.ts";
import { syncHosts } from "./hosts-sync.ts";

/** A container's recorded process still runs. */
export const containerAlive = (id: string): boolean => isAlive(readState(id));

/** A lease's holder is still there: its recorded process (or, without one, its container's). */
export function holderAlive(containerId: string, endpoint?: Endpoint): boolean {
  if (endpoint?.pid !== undefined) return pidStartTime(endpoint.pid) === endpoint.pidStart;
  return containerAlive(containerId);
}

/** Drops the leases and published ports of containers that are gone; returns their ids. */
export async function sweepNetworks(): Promise<string[]> {
  const networks = listNetworks();
  // A store without networks never published a port: nothing to read (nor nf_tables to load).
  if (networks.length === 0) return [];
  const gone = new Set<string>();
  for (const net of networks) {
    let members: ReturnType<typeof listEndpoints>;
    try {
      members = listEndpoints(net.name);
    } catch {
      continue;
    }
    if (members.every((m) => holderAlive(m.containerId, m))) continue;
    const dropped = await reclaim(net.name, holderAlive);
    for (const d of dropped) gone.add(d.containerId);
    if (dropped.length > 0) {
      log.debug(
        `network: ${dropped.map((d) => `${d.ip} (${d.containerId.slice(0, 12)})`).join(", ")} reclaimed on ${net.name}`,
      );
      if (net.name !== "bridge") await syncHosts(net.name);
    }
  }
  let comments: string[] = [];
  try {
    comments = chainComments(TABLE, "ports");
  } catch (e) {
    log.debug(`network: mini's published ports not readable: ${(e as Error).message}`); // no nf_tables
  }
  const published = comments.flatMap((c) => parsePortComment(c)?.containerId ?? []);
  const dead = [...new Set(published)].filter((id) => !containerAlive(id));
  if (dead.length > 0) {
    log.debug(`network: published ports of ${dead.map((id) => id.slice(0, 12)).join(", ")} (gone) removed`);
    const fw = require("../network/firewall.ts") as typeof import("../network/firewall.ts");
    await fw.removePorts(dead);
  }
  return [...new Set([...gone, ...dead])];
}
