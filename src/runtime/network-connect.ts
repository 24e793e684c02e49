// `mini network connect|disconnect NETWORK CONTAINER`: a network more or less for a container. A
// running one gets (or loses) a veth in its namespace at once — the next free ethN, no default
// route (that stays the first network's) — and the other members' /etc/hosts follow; the change
// is recorded so that the next start brings the same networks.
import { UserError } from "../common/errors.ts";
import { containerPaths as files } from "../common/paths.ts";
import type { EndpointRequest } from "../config/network-flags.ts";
import { release } from "../network/ipam.ts";
import { Rtnetlink } from "../network/rtnetlink.ts";
import { writeJsonAtomic } from "../common/json-file.ts";
import { type ContainerRecord, readRecord, withContainerLock } from "../state/containers.ts";
import { statusOf } from "../state/status.ts";
import { syncHosts } from "./hosts-sync.ts";
import {
  type NetworkState,
  networkOf,
  plugEndpoint,
  readNetworkState,
  removeVeth,
  resolvesNames,
} from "./network-attach.ts";

function bridged(rec: ContainerRecord, verb: string) {
  const req = rec.network;
  if (req?.mode !== "bridge")
    throw new UserError(
      `container ${rec.name} uses ${req ? `--network ${req.mode}` : "no network"}: it can't be ${verb} a network`,
    );
  return req;
}

const saveState = (id: string, state: NetworkState) => writeJsonAtomic(files.network(id), state);

/** Connects `rec` to `endpoint.network` (now if it runs, and at every start). */
export async function connectNetwork(query: ContainerRecord, endpoint: EndpointRequest): Promise<void> {
  await withContainerLock(query.id, async () => {
    const rec = readRecord(query.id) ?? query;
    const req = bridged(rec, "connected to");
    using nl = Rtnetlink.open();
    const net = await networkOf(nl, endpoint.network);
    if (req.endpoints.some((e) => e.network === net.name))
      throw new UserError(`container ${rec.name} is already connected to network ${net.name}`);
    if ((endpoint.ip !== undefined || endpoint.aliases.length > 0) && !resolvesNames(net.name))
      throw new UserError("--ip and --alias are supported on user-defined networks only");
    const status = statusOf(rec);
    if (status.status === "running" && status.pid) {
      const state: NetworkState = readNetworkState(rec.id) ?? { endpoints: [], ports: [] };
      using ct = Rtnetlink.openIn({ pid: status.pid });
      const used = new Set(ct.listLinks().map((l) => l.name));
      let n = 0;
      while (used.has(`eth${n}`)) n++;
      const target = { id: rec.id, name: rec.name, hostname: rec.etc?.hostname ?? "mini", request: req };
      try {
        await plugEndpoint(nl, ct, target, status.pid, endpoint, `eth${n}`, state.endpoints.length === 0, state);
      } catch (e) {
        // A partial endpoint: its lease is recorded; take it back with whatever veth was made.
        const made = state.endpoints.at(-1);
        if (made?.network === net.name) {
          removeVeth(nl, made.hostVeth);
          await release(net.name, rec.id);
          state.endpoints.pop();
          saveState(rec.id, state);
        }
        throw e;
      }
      if (resolvesNames(net.name)) await syncHosts(net.name);
    }
    const network = { ...req, endpoints: [...req.endpoints, { ...endpoint, network: net.name }] };
    writeJsonAtomic(files.record(rec.id), { ...rec, network });
  });
}

/** Disconnects `rec` from `network` (its veth deleted now if it runs). */
export async function disconnectNetwork(query: ContainerRecord, network: string): Promise<void> {
  await withContainerLock(query.id, async () => {
    const rec = readRecord(query.id) ?? query;
    const req = bridged(rec, "disconnected from");
    if (!req.endpoints.some((e) => e.network === network))
      throw new UserError(`container ${rec.name} is not connected to network ${network}`);
    const state = readNetworkState(rec.id);
    const attached = state?.endpoints.find((e) => e.network === network);
    if (state && attached && statusOf(rec).status === "running") {
      if (state.ports.length > 0 && state.endpoints[0] === attached) {
        // The published ports point at this address.
        const fw = require("../network/firewall.ts") as typeof import("../network/firewall.ts");
        await fw.removePorts([rec.id]);
        state.ports = [];
      }
      using nl = Rtnetlink.open();
      removeVeth(nl, attached.hostVeth);
      await release(network, rec.id);
      state.endpoints = state.endpoints.filter((e) => e !== attached);
      saveState(rec.id, state);
      if (resolvesNames(network))
        await syncHosts(network, { containerId: rec.id, hostsFile: `${files.runDir(rec.id)}/hosts` });
    }
    const left = { ...req, endpoints: req.endpoints.filter((e) => e.network !== network) };
    writeJsonAtomic(files.record(rec.id), { ...rec, network: left });
  });
}
