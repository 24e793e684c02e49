// A mini network made real on the host: its bridge (with the gateway address, the MTU of the host's
// default-route interface), the sysctls (ip_forward, route_localnet on the bridge) and its rules in
// mini's nftables table. Checked on every use, which costs two netlink dumps and one nf_tables rule
// dump (~0.3 ms); anything missing (first use, a reboot, a flushed ruleset) is made again. Like
// docker0, the bridge and the rules stay while no container uses them (deleting and recreating a
// bridge costs ~45 + ~20 ms, the table ~16 ms); `mini network rm` takes a user network's away.
import { UserError } from "../common/errors.ts";
import * as log from "../log.ts";
import { formatCidr, parseCidr } from "../network/cidr.ts";
import { FAMILY, TABLE } from "../network/firewall-rules.ts";
import { chainComments } from "../network/nftables-read.ts";
import { createNetwork, type NetworkRecord, readNetwork } from "../network/networks.ts";
import { NetlinkError, type Rtnetlink } from "../network/rtnetlink.ts";
import { EEXIST } from "../sys/errno.ts";

/** What a container's veth needs of its network's bridge. */
export interface ReadyBridge {
  index: number;
  mtu: number;
}

const firewallNetwork = (n: NetworkRecord) => ({
  name: n.name,
  bridge: n.bridge,
  subnet: n.subnet,
  internal: n.internal,
});

/** The comment firewall-rules.ts puts on a network's bridge-to-bridge rule. */
const networkComment = (n: NetworkRecord) => `net ${n.name} ${n.bridge} ${n.subnet}${n.internal ? " internal" : ""}`;

const ignoreExists = (fn: () => void) => {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof NetlinkError && e.errno === EEXIST)) throw e;
  }
};

/**
 * The default network's record, made on first use: docker's first free pool (host routes checked),
 * or — when mini0 is already there with an address (a store made afresh) — the bridge's own subnet.
 */
export async function defaultNetwork(nl: Rtnetlink): Promise<NetworkRecord> {
  const known = readNetwork("bridge");
  if (known) return known;
  const link = nl.findLink("mini0");
  const address = link && nl.listAddresses().find((a) => a.index === link.index);
  const routes = nl.listRoutes().map((r) => `${r.dst}/${r.dstLen}`);
  try {
    if (address) {
      const subnet = formatCidr(parseCidr(`${address.address}/${address.prefixLen}`));
      return await createNetwork({ name: "bridge", subnet, gateway: address.address }, []);
    }
    return await createNetwork({ name: "bridge" }, routes);
  } catch (e) {
    const raced = readNetwork("bridge"); // another mini made it meanwhile
    if (raced) return raced;
    throw e;
  }
}

/** Makes `net`'s bridge, sysctls and rules whatever is missing of them. */
export async function ensureBridge(nl: Rtnetlink, net: NetworkRecord): Promise<ReadyBridge> {
  const t0 = performance.now();
  const { prefix } = parseCidr(net.subnet);
  let link = nl.findLink(net.bridge);
  if (!link) {
    const mtu = nl.defaultRouteMtu() ?? 1500;
    // A MAC of its own (locally administered): else the bridge takes its lowest port's, and changes
    // it as containers come and go, under the ARP caches of the others (docker sets one too).
    const mac = [
      "02",
      ...Array.from(crypto.getRandomValues(new Uint8Array(5)), (b) => b.toString(16).padStart(2, "0")),
    ].join(":");
    ignoreExists(() => nl.createBridge(net.bridge, { mac }));
    // The MTU by a change, not at creation: only a changed MTU is one the kernel keeps (else the
    // bridge follows its ports, and falls back to 1500 once the last container's veth is gone).
    if (nl.getLink(net.bridge).mtu !== mtu) nl.setMtu(net.bridge, mtu);
    link = nl.getLink(net.bridge);
    log.debug(`network: bridge ${net.bridge} created (mtu ${link.mtu})`);
  }
  const index = link.index;
  const addresses = nl.listAddresses().filter((a) => a.index === index);
  if (!addresses.some((a) => a.address === net.gateway && a.prefixLen === prefix)) {
    if (addresses.length > 0)
      throw new UserError(
        `bridge ${net.bridge} has ${addresses.map((a) => `${a.address}/${a.prefixLen}`).join(", ")} where network ${net.name} expects ${net.gateway}/${prefix}: another mini store (MINI_ROOT) or someone else uses it`,
      );
    ignoreExists(() => nl.addAddress(index, `${net.gateway}/${prefix}`));
  }
  const fw = require("../network/firewall.ts") as typeof import("../network/firewall.ts");
  fw.enableIpForward();
  fw.enableRouteLocalnet(net.bridge);
  if (!chainComments(TABLE, "forward").includes(networkComment(net))) {
    log.debug(`network: table ${FAMILY} ${TABLE} lacks network ${net.name}: applying it`);
    await fw.ensureNetworks([firewallNetwork(net)]);
  }
  if (!link.up) nl.setUp(index);
  log.debug(`network: ${net.name} ready (bridge ${net.bridge}, ${net.subnet})`, performance.now() - t0);
  return { index, mtu: link.mtu };
}

/** Takes a network's bridge and rules away (mini network rm); a missing bridge is fine. */
export async function removeBridge(nl: Rtnetlink, net: NetworkRecord): Promise<void> {
  const fw = require("../network/firewall.ts") as typeof import("../network/firewall.ts");
  await fw.dropNetworks([net.name]);
  const link = nl.findLink(net.bridge);
  if (link) nl.deleteLink(link.index);
}
