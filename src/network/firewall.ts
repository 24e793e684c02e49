// mini's firewall on the running kernel: apply the table rendered by firewall-rules.ts with one
// `nft -f -` (one atomic transaction), read it back, add or drop one container's ports, and the two
// sysctls bridge networking needs. Only `table inet mini` is ever named: nothing else on the host
// is listed, flushed or changed. Read-modify-write changes hold mini's "firewall" lock.
//
// Use: a bridge network in use → enableIpForward(), the bridge made (with hairpin mode on each
// container's bridge port, so a container reaches its own published port), enableRouteLocalnet(bridge),
// setNetworks(every network in use); a container started → addPorts(its ports); stopped or removed →
// removePorts([id]); now and then (e.g. `mini ps`, start-up) → sweepFirewall(isAlive).
// Another firewall's drops still apply: a base chain's accept only ends that chain, so a FORWARD
// policy of drop elsewhere (docker sets one) also drops mini's forwarded traffic.
//
// Costs (scripts/bench-firewall.ts, in a netns; kernel 6.18, nftables 1.0.6; medians of 30, over 3 runs):
//   replace the whole table, one `nft -f -`:   1 port 16 ms   10 ports 16 ms   100 ports 16-18.5 ms   (1000: 36 ms)
//     nft's own start, parse and cache: ~2 ms (an empty script: 1.8 ms)
//     the kernel's commit (the batch's sendmsg): 0.17 / 0.3 / 1.2 ms   (1000: 10 ms)
//     the rest, ~13 ms whatever the size: closing the netlink socket after a commit that creates or
//     deletes a table, chain or rule waits for the kernel's transaction cleanup (an RCU grace period)
//   add rules only (`add rule`, no such wait): 2.1 ms; reading the table back (nft -j): 5.0-5.2 ms
//     so addPorts (lock + read + check + add) takes 8.9-10.9 ms where a replace takes 16
//   delete one rule by handle: 16 ms (plus a read for the handle): no cheaper than a replace
// Hence: a container's ports are added with `add rule`s; everything else re-renders the whole table
// (complete, self-healing, one code path).
// A raw nf_tables netlink batch instead of nft, measured by replaying nft's own 100-port batch (51 KB)
// on a NETLINK_NETFILTER socket: sendmsg 1.1 ms + close 12-15 ms = 13-16 ms against nft's 16-18. It would save
// nft's ~2-3 ms for 600-900 lines of netlink and expression encoding (tables, chains with hooks,
// payload, cmp, meta, ct, fib, nat, masq, immediate, anonymous maps) and a netlink socket in sys/; the
// close's wait stays whoever closes (even at exit). Not done.
//
// Published ports reached from the host itself (127.0.0.1:P, the host's own addresses): DNAT in the
// output hook, net.ipv4.conf.<bridge>.route_localnet=1 and a masquerade of 127.0.0.0/8 out of the
// bridge, rather than a userspace proxy. Measured: route_localnet costs one sysctl write (0.1 ms) and
// two rules in the table's transaction; a new connection 127.0.0.1:P → container takes 0.14 ms (the
// first 0.40-0.44 ms), the same as connecting to the container directly (0.14 ms, first 0.42-0.53 ms). A
// proxy costs a process per port (bun: 5-6 ms to listening and 27 MB RSS; or 0.05 ms to listen() in a
// process that already runs), 1.2-3.4 ms for its first request and 0.24 ms for later ones, a UDP implementation
// of its own, and the container sees the proxy's address. The raw chain drops 127.0.0.0/8 arriving on
// a bridge, so route_localnet does not open the host's loopback services to containers.
import { readFileSync, writeFileSync } from "node:fs";
import { UserError } from "../common/errors.ts";
import type { PortSpec } from "../config/network-flags.ts";
import { withLock } from "../common/lock.ts";
import { lockPath } from "../common/paths.ts";
import { debug } from "../log.ts";
import { contains, parseCidr, parseIPv4 } from "./cidr.ts";
import {
  FAMILY,
  type FirewallNetwork,
  type FirewallState,
  type PortMapping,
  renderAddPorts,
  renderRuleset,
  stateFromComments,
  TABLE,
} from "./firewall-rules.ts";
import { choosePorts } from "./port-choice.ts";

export type { FirewallNetwork, FirewallState, PortMapping, Proto } from "./firewall-rules.ts";
export { renderRuleset } from "./firewall-rules.ts";

export interface NftResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

let nftPath: string | undefined;
function nftBinary(): string {
  nftPath ??= Bun.which("nft") ?? Bun.which("nft", { PATH: "/usr/sbin:/sbin" }) ?? undefined;
  if (!nftPath) throw new UserError("nft not found: bridge networking needs nftables (apt-get install nftables)");
  return nftPath;
}

/** Runs nft with `args` (and `input` on its stdin), synchronously. */
export function nft(args: string[], input?: string): NftResult {
  const r = Bun.spawnSync([nftBinary(), ...args], {
    stdin: input === undefined ? "ignore" : Buffer.from(input),
    stdout: "pipe",
    stderr: "pipe",
  });
  return { ok: r.exitCode === 0, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** `nft -f -` with `script`, without blocking the event loop (most of its time is the kernel's wait). */
async function nftScript(script: string, what: string): Promise<void> {
  const t0 = performance.now();
  const child = Bun.spawn([nftBinary(), "-f", "-"], {
    stdin: Buffer.from(script),
    stdout: "ignore",
    stderr: "pipe",
  });
  const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  if (code !== 0) throw new Error(`nft: ${what} failed: ${stderr.trim()}`);
  debug(`firewall: ${what}`, performance.now() - t0);
}

/** Replaces mini's table with the one for `state` in one transaction (nothing in it: removes the table). */
export async function applyFirewall(state: FirewallState): Promise<void> {
  await nftScript(
    renderRuleset(state),
    `table for ${state.networks.length} networks, ${state.ports.length} published ports`,
  );
}

/** Deletes mini's table if it exists. */
export const removeFirewall = (): Promise<void> => applyFirewall({ networks: [], ports: [] });

interface NftJsonItem {
  rule?: { chain: string; handle: number; comment?: string };
}

export interface MiniRule {
  chain: string;
  handle: number;
  comment?: string;
}

/** The rules of mini's table with their chain, handle and comment; [] if there is no table. */
export function listMiniRules(): MiniRule[] {
  const r = nft(["-j", "list", "table", FAMILY, TABLE]);
  if (!r.ok) {
    if (/No such file or directory/.test(r.stderr)) return [];
    throw new Error(`nft: listing mini's firewall failed: ${r.stderr.trim()}`);
  }
  const items = (JSON.parse(r.stdout) as { nftables: NftJsonItem[] }).nftables;
  return items.flatMap((i) =>
    i.rule ? [{ chain: i.rule.chain, handle: i.rule.handle, comment: i.rule.comment }] : [],
  );
}

/** The networks and published ports mini's table holds now (both empty if there is no table). */
export function currentState(): FirewallState {
  return stateFromComments(listMiniRules().flatMap((r) => (r.comment ? [r.comment] : [])));
}

const locked = <T>(fn: () => Promise<T>): Promise<T> => withLock(lockPath("firewall"), fn);

/**
 * Sets mini's networks, keeping the published ports that still point into one of them; the caller
 * passes every mini network in use (a network left out loses its rules).
 */
export async function setNetworks(networks: FirewallNetwork[]): Promise<void> {
  return locked(async () => {
    const { ports } = currentState();
    const blocks = networks.map((n) => parseCidr(n.subnet));
    await applyFirewall({
      networks,
      ports: ports.filter((p) => blocks.some((b) => contains(b, parseIPv4(p.containerIp)))),
    });
  });
}

/**
 * Publishes `ports` (one container's, typically) by adding rules to the table, which must already
 * hold their networks (setNetworks). UserError if a host port is taken (docker's message).
 */
export async function addPorts(ports: PortMapping[]): Promise<void> {
  if (ports.length === 0) return;
  return locked(async () => {
    const script = renderAddPorts(currentState(), ports);
    if (script) await nftScript(script, `${ports.length} published ports added`);
  });
}

const sameNetwork = (a: FirewallNetwork, b: FirewallNetwork) =>
  a.name === b.name && a.bridge === b.bridge && a.subnet === b.subnet && !!a.internal === !!b.internal;

/**
 * Makes the table hold `networks` (replacing same-named entries) besides the networks it already
 * holds, with their ports; one transaction if anything changes. The networks of other stores
 * sharing this namespace stay.
 */
export async function ensureNetworks(networks: FirewallNetwork[]): Promise<void> {
  return locked(async () => {
    const state = currentState();
    const kept = state.networks.filter((n) => !networks.some((w) => w.name === n.name || w.bridge === n.bridge));
    if (networks.every((w) => state.networks.some((n) => sameNetwork(n, w)))) return;
    await applyFirewall({ networks: [...kept, ...networks], ports: state.ports });
  });
}

/** Takes networks (by name) out of the table with the ports that point into them. */
export async function dropNetworks(names: string[]): Promise<void> {
  return locked(async () => {
    const state = currentState();
    if (!state.networks.some((n) => names.includes(n.name))) return;
    const networks = state.networks.filter((n) => !names.includes(n.name));
    const blocks = networks.map((n) => parseCidr(n.subnet));
    await applyFirewall({
      networks,
      ports: state.ports.filter((p) => blocks.some((b) => contains(b, parseIPv4(p.containerIp)))),
    });
  });
}

/**
 * Publishes one container's ports (-p, -P) to `containerIp`: host ports left open are chosen
 * (port-choice.ts), every host port is checked against the other containers' mappings and the
 * host's own sockets, and the rules are added in one transaction. The mappings of containers that
 * are gone (`isAlive` false) are dropped first, so a killed mini's leftovers never block a port.
 * UserError naming the port when one is taken. Returns the mappings made.
 */
export async function publishPorts(
  containerId: string,
  containerIp: string,
  specs: PortSpec[],
  isAlive: (containerId: string) => boolean,
): Promise<PortMapping[]> {
  if (specs.length === 0) return [];
  return locked(async () => {
    let state = currentState();
    const stale = staleContainers(state, isAlive).filter((id) => id !== containerId);
    if (stale.length > 0) {
      state = { ...state, ports: state.ports.filter((p) => !stale.includes(p.containerId)) };
      await applyFirewall(state);
    }
    const mappings = choosePorts(containerId, containerIp, specs, state.ports);
    const script = renderAddPorts(state, mappings);
    if (script) await nftScript(script, `${mappings.length} published ports added`);
    return mappings;
  });
}

/** Drops the published ports of `containerIds` (re-applying the table); returns the mappings dropped. */
export async function removePorts(containerIds: string[]): Promise<PortMapping[]> {
  return locked(async () => {
    const state = currentState();
    const gone = state.ports.filter((p) => containerIds.includes(p.containerId));
    if (gone.length > 0)
      await applyFirewall({ ...state, ports: state.ports.filter((p) => !containerIds.includes(p.containerId)) });
    return gone;
  });
}

/** Ids of containers with published ports in `state` that are no longer alive. */
export function staleContainers(state: FirewallState, isAlive: (containerId: string) => boolean): string[] {
  return [...new Set(state.ports.map((p) => p.containerId))].filter((id) => !isAlive(id));
}

/** Drops the ports of containers that are gone; returns their ids. */
export async function sweepFirewall(isAlive: (containerId: string) => boolean): Promise<string[]> {
  const gone = staleContainers(currentState(), isAlive);
  if (gone.length > 0) await removePorts(gone);
  return gone;
}

function setSysctl(path: string, value: string): boolean {
  if (readFileSync(path, "utf8").trim() === value) return false;
  writeFileSync(path, value);
  return true;
}

/** net.ipv4.ip_forward=1, needed once a bridge network is in use; true if it was off. */
export function enableIpForward(): boolean {
  const changed = setSysctl("/proc/sys/net/ipv4/ip_forward", "1");
  debug(changed ? "net.ipv4.ip_forward was 0: set to 1" : "net.ipv4.ip_forward already 1");
  return changed;
}

/** net.ipv4.conf.<bridge>.route_localnet=1, so that 127.0.0.1:P can be DNATed to a container on `bridge`. */
export function enableRouteLocalnet(bridge: string): boolean {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(bridge)) throw new Error(`invalid bridge name "${bridge}"`);
  const changed = setSysctl(`/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, "1");
  if (changed) debug(`net.ipv4.conf.${bridge}.route_localnet set to 1`);
  return changed;
}
