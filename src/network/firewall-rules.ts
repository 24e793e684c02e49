// mini's firewall as data: the complete nftables table for a description of mini's networks and
// published ports, rendered as one `nft -f` script that replaces the table in a single transaction,
// and the inverse (the description read back from the rules' comments). Pure; firewall.ts runs nft.
//
// Everything lives in `table inet mini`; nothing else is named, so other tables (docker's,
// podman's, the distribution's) are never touched. Per network (bridge B, subnet S):
//   raw        iifname B ip daddr 127.0.0.0/8 drop       route_localnet must not open the host's loopback
//   prerouting fib daddr type local → ports              published ports for traffic from outside…
//   output     fib daddr type local → ports              …and from the host itself (127.0.0.1 included)
//   ports      [ip daddr H] tcp|udp dport P dnat ip to C:Q     one rule per mapping (ranges one to one)
//   postrouting ip saddr S oifname != B masquerade       the way out (not for --internal)
//              oifname B ip saddr S ct status dnat masquerade     hairpin: a container to its own network's published port
//              oifname B ip saddr 127.0.0.0/8 masquerade          127.0.0.1:P → container (with route_localnet)
//   forward    established,related accept; B→B accept; internal: anything else from B dropped;
//              published ports (ct status dnat) into B accepted, from anywhere, other mini networks included;
//              anything else into B dropped (this is the isolation between networks); B→outside accepted.
// Chains have policy accept: traffic that is not mini's is left to whoever else filters it.
//
// Each port rule carries its mapping in its comment ("port <container> <proto> <hostIp|*> <P[-E]> <C> <Q>"),
// and each network its description on the B→B rule ("net <name> <bridge> <subnet> [internal]"), so
// the state can be read back from the kernel to find leftovers. nft limits comments to 128 bytes: the
// longest port comment is 123.
import { UserError } from "../common/errors.ts";
import { contains, type Cidr, formatCidr, parseCidr, tryParseIPv4 } from "./cidr.ts";

export const TABLE = "mini";
export const FAMILY = "inet";

export interface FirewallNetwork {
  name: string;
  /** The Linux bridge (at most 15 characters). */
  bridge: string;
  /** IPv4 CIDR, e.g. "172.18.0.0/16". */
  subnet: string;
  /** No way out: no masquerade, nothing forwarded to or from other interfaces, no published ports. */
  internal: boolean;
}

export type Proto = "tcp" | "udp";

export interface PortMapping {
  containerId: string;
  proto: Proto;
  /** An address of the host; undefined, "" or "0.0.0.0": all of them. */
  hostIp?: string;
  hostPort: number;
  /** Last port of a host range hostPort..hostPortEnd, mapped one to one onto containerPort.. */
  hostPortEnd?: number;
  containerIp: string;
  containerPort: number;
}

export interface FirewallState {
  networks: FirewallNetwork[];
  ports: PortMapping[];
}

const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const CONTAINER_ID = /^[A-Za-z0-9_.-]{1,64}$/;

const isPort = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;
const allAddresses = (hostIp: string | undefined) => !hostIp || hostIp === "0.0.0.0";

interface CheckedNetwork extends FirewallNetwork {
  cidr: Cidr;
}

function checkNetworks(networks: FirewallNetwork[]): CheckedNetwork[] {
  const out: CheckedNetwork[] = [];
  for (const n of networks) {
    if (!NETWORK_NAME.test(n.name)) throw new Error(`firewall: invalid network name "${n.name}"`);
    if (!IFNAME.test(n.bridge)) throw new Error(`firewall: invalid bridge name "${n.bridge}"`);
    const cidr = parseCidr(n.subnet);
    for (const o of out) {
      if (o.name === n.name) throw new Error(`firewall: network "${n.name}" listed twice`);
      if (o.bridge === n.bridge) throw new Error(`firewall: bridge "${n.bridge}" used by "${o.name}" and "${n.name}"`);
      if (contains(o.cidr, cidr.network) || contains(cidr, o.cidr.network))
        throw new Error(`firewall: subnets of "${o.name}" and "${n.name}" overlap`);
    }
    out.push({ name: n.name, bridge: n.bridge, subnet: formatCidr(cidr), internal: !!n.internal, cidr });
  }
  return out;
}

function checkPort(p: PortMapping): void {
  const what = `port mapping of ${p.containerId}`;
  if (!CONTAINER_ID.test(p.containerId)) throw new Error(`firewall: invalid container id "${p.containerId}"`);
  if (p.proto !== "tcp" && p.proto !== "udp") throw new Error(`firewall: ${what}: invalid protocol "${p.proto}"`);
  if (!allAddresses(p.hostIp) && tryParseIPv4(p.hostIp!) === undefined)
    throw new UserError(`invalid host IP "${p.hostIp}" for a published port: only IPv4 addresses are supported`);
  const end = p.hostPortEnd ?? p.hostPort;
  if (!isPort(p.hostPort) || !isPort(end) || end < p.hostPort)
    throw new Error(`firewall: ${what}: invalid host port ${p.hostPort}${p.hostPortEnd ? `-${p.hostPortEnd}` : ""}`);
  if (!isPort(p.containerPort) || !isPort(p.containerPort + end - p.hostPort))
    throw new Error(`firewall: ${what}: invalid container port ${p.containerPort}`);
  if (tryParseIPv4(p.containerIp) === undefined)
    throw new Error(`firewall: ${what}: invalid container IP "${p.containerIp}"`);
}

/** Two mappings that would claim the same host address and port: docker's message for the second. */
function checkConflicts(ports: PortMapping[]): void {
  for (let i = 0; i < ports.length; i++) {
    const a = ports[i];
    for (let j = 0; j < i; j++) {
      const b = ports[j];
      if (a.proto !== b.proto) continue;
      if (!allAddresses(a.hostIp) && !allAddresses(b.hostIp) && a.hostIp !== b.hostIp) continue;
      if (a.hostPort > (b.hostPortEnd ?? b.hostPort) || b.hostPort > (a.hostPortEnd ?? a.hostPort)) continue;
      const ip = allAddresses(a.hostIp) ? "0.0.0.0" : a.hostIp;
      throw new UserError(`Bind for ${ip}:${a.hostPort} failed: port is already allocated`);
    }
  }
}

const hostPorts = (p: PortMapping) =>
  p.hostPortEnd !== undefined && p.hostPortEnd !== p.hostPort ? `${p.hostPort}-${p.hostPortEnd}` : `${p.hostPort}`;

export const portComment = (p: PortMapping): string =>
  `port ${p.containerId} ${p.proto} ${allAddresses(p.hostIp) ? "*" : p.hostIp} ${hostPorts(p)} ${p.containerIp} ${p.containerPort}`;

const networkComment = (n: FirewallNetwork): string =>
  `net ${n.name} ${n.bridge} ${n.subnet}${n.internal ? " internal" : ""}`;

/** The DNAT rule of one mapping (for the `ports` chain). */
function portRule(p: PortMapping): string {
  const match = `${allAddresses(p.hostIp) ? "" : `ip daddr ${p.hostIp} `}${p.proto} dport ${hostPorts(p)}`;
  const end = p.hostPortEnd ?? p.hostPort;
  let to: string;
  if (end === p.hostPort) to = `${p.containerIp}:${p.containerPort}`;
  else if (p.containerPort === p.hostPort)
    to = p.containerIp; // same numbers: the port is kept
  else {
    // A range onto a shifted range: nft has no offset, so an anonymous map host port → container port.
    const pairs: string[] = [];
    for (let port = p.hostPort; port <= end; port++) pairs.push(`${port} : ${p.containerPort + port - p.hostPort}`);
    to = `${p.containerIp} : ${p.proto} dport map { ${pairs.join(", ")} }`;
  }
  return `${match} dnat ip to ${to} comment "${portComment(p)}"`;
}

/**
 * The complete `nft -f` script for `state`: `table` + `delete table` + the new table, one transaction
 * (the first line makes the delete valid when the table does not exist yet). No networks and no
 * ports: the table is only deleted. Throws UserError on a port claimed twice.
 */
export function renderRuleset(state: FirewallState): string {
  const networks = checkNetworks(state.networks);
  for (const p of state.ports) checkPort(p);
  const ports = state.ports.filter((p) => {
    const ip = tryParseIPv4(p.containerIp)!;
    const net = networks.find((n) => contains(n.cidr, ip));
    if (!net) throw new Error(`firewall: port mapping of ${p.containerId}: ${p.containerIp} is in no mini network`);
    return !net.internal; // as docker: nothing is published from an internal network
  });
  checkConflicts(ports);

  const head = `table ${FAMILY} ${TABLE}\ndelete table ${FAMILY} ${TABLE}\n`;
  if (networks.length === 0 && ports.length === 0) return head;

  const outward = networks.filter((n) => !n.internal);
  const q = (s: string) => `"${s}"`;
  const chain = (name: string, hook: string | undefined, rules: string[]) => {
    const lines = hook ? [`\t\t${hook}; policy accept;`] : [];
    for (const r of rules) lines.push(`\t\t${r}`);
    return `\tchain ${name} {\n${lines.map((l) => `${l}\n`).join("")}\t}\n`;
  };

  const raw = networks.map((n) => `iifname ${q(n.bridge)} ip daddr 127.0.0.0/8 drop`);
  const toPorts = ["meta nfproto ipv4 fib daddr type local jump ports"];
  const postrouting = outward.flatMap((n) => [
    `ip saddr ${n.subnet} oifname != ${q(n.bridge)} masquerade`,
    `oifname ${q(n.bridge)} ip saddr ${n.subnet} ct status dnat masquerade`,
    `oifname ${q(n.bridge)} ip saddr 127.0.0.0/8 masquerade`,
  ]);
  const forward = [
    "ct state established,related accept",
    ...networks.map((n) => `iifname ${q(n.bridge)} oifname ${q(n.bridge)} accept comment "${networkComment(n)}"`),
    ...networks.filter((n) => n.internal).map((n) => `iifname ${q(n.bridge)} drop`),
    ...outward.map((n) => `oifname ${q(n.bridge)} ct status dnat accept`),
    ...networks.map((n) => `oifname ${q(n.bridge)} drop`),
    ...outward.map((n) => `iifname ${q(n.bridge)} accept`),
  ];

  return (
    `${head}table ${FAMILY} ${TABLE} {\n` +
    chain("raw", "type filter hook prerouting priority raw", raw) +
    chain("prerouting", "type nat hook prerouting priority dstnat", toPorts) +
    // nft 1.0.6 takes the name dstnat only in prerouting: -100 is the same priority.
    chain("output", "type nat hook output priority -100", toPorts) +
    chain("ports", undefined, ports.map(portRule)) +
    chain("postrouting", "type nat hook postrouting priority srcnat", postrouting) +
    chain("forward", "type filter hook forward priority filter", forward) +
    "}\n"
  );
}

/**
 * The `nft -f` script that adds `ports` to a table that holds `current` (only `add rule`s: such a
 * transaction skips the kernel's RCU wait that any other change pays, see firewall.ts). Validates
 * the merged state as renderRuleset does: a port claimed twice, or outside the table's networks, throws.
 */
export function renderAddPorts(current: FirewallState, ports: PortMapping[]): string {
  renderRuleset({ networks: current.networks, ports: [...current.ports, ...ports] });
  const internal = checkNetworks(current.networks).filter((n) => n.internal);
  return ports
    .filter((p) => !internal.some((n) => contains(n.cidr, tryParseIPv4(p.containerIp)!)))
    .map((p) => `add rule ${FAMILY} ${TABLE} ports ${portRule(p)}\n`)
    .join("");
}

/** A network's description read back from its comment, or undefined if `comment` is not one. */
function parseNetworkComment(comment: string): FirewallNetwork | undefined {
  const f = comment.split(" ");
  if (f[0] !== "net" || f.length < 4 || f.length > 5 || (f.length === 5 && f[4] !== "internal")) return undefined;
  return { name: f[1], bridge: f[2], subnet: f[3], internal: f.length === 5 };
}

/** A port mapping read back from its comment, or undefined if `comment` is not one. */
export function parsePortComment(comment: string): PortMapping | undefined {
  const f = comment.split(" ");
  if (f[0] !== "port" || f.length !== 7 || (f[2] !== "tcp" && f[2] !== "udp")) return undefined;
  const [first, last] = f[4].split("-").map(Number);
  const p: PortMapping = {
    containerId: f[1],
    proto: f[2],
    hostPort: first,
    containerIp: f[5],
    containerPort: Number(f[6]),
  };
  if (f[3] !== "*") p.hostIp = f[3];
  if (last !== undefined) p.hostPortEnd = last;
  return p;
}

/** The state described by the comments of a table's rules (as listed by `nft -j`). */
export function stateFromComments(comments: string[]): FirewallState {
  const state: FirewallState = { networks: [], ports: [] };
  for (const c of comments) {
    const n = parseNetworkComment(c);
    if (n) state.networks.push(n);
    const p = parsePortComment(c);
    if (p) state.ports.push(p);
  }
  return state;
}
