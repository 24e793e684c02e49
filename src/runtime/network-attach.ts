// The network step of the container pipeline (container.ts): once the child stage exists in its
// new network namespace and before it gets its config, so the command starts with its network up.
//   none       nothing (the child stage brings up lo in any new network namespace itself)
//   bridge     for each network asked (the default network "bridge", or user networks):
//                the network ready (network-bridge.ts) → a lease (ipam, under its lock)
//                → a veth pair, the peer created as ethN directly in the container's namespace
//                  → the host end on the bridge, up, hairpin on → ethN's address, up
//                  → the default route via the first network's gateway
//              → published ports (one nft transaction) → /etc/hosts, /etc/resolv.conf
//              → the other members' /etc/hosts (user networks: hosts-sync.ts)
//   host, container:NAME   nothing (the namespace is the host's, or that container's)
// What was made is recorded in the run dir's network.json as it is made, so teardown (foreground
// end, the reaper of a detached container, rm -f, a failed start) undoes exactly that: ports, then
// leases and the members' hosts blocks. The veth needs nothing: the kernel deletes the pair with
// the container's namespace (deleting it ourselves costs ~15 ms: BENCHMARKS.md).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { containerPaths as files } from "../common/paths.ts";
import { pidStartTime } from "../common/proc.ts";
import { type EndpointRequest, type NetworkRequest, requestedPorts } from "../config/network-flags.ts";
import * as log from "../log.ts";
import type { PortMapping } from "../network/firewall-rules.ts";
import { allocate, release } from "../network/ipam.ts";
import { getNetwork, type NetworkRecord, networkId } from "../network/networks.ts";
import { NetlinkError, Rtnetlink } from "../network/rtnetlink.ts";
import { readJson } from "../common/json-file.ts";
import { ENODEV } from "../sys/errno.ts";
import { containerHosts } from "./etc-files.ts";
import { syncHosts } from "./hosts-sync.ts";
import { defaultNetwork, ensureBridge } from "./network-bridge.ts";
import { containerAlive, holderAlive, sweepNetworks } from "./network-sweep.ts";
import { networkResolvConf, onlyResolvedStub, SYSTEMD_RESOLVED } from "./resolv-conf.ts";

/** One network the container is on, as set up. */
export interface AttachedEndpoint {
  network: string;
  networkId: string;
  bridge: string;
  ip: string;
  prefix: number;
  gateway: string;
  mac: string;
  /** The host end of the veth pair. */
  hostVeth: string;
  /** The container's end. */
  ifname: string;
  aliases: string[];
}

/** network.json: what the network step made for the current start. */
export interface NetworkState {
  endpoints: AttachedEndpoint[];
  ports: PortMapping[];
  /** --network container:: the container whose namespace this one shares. */
  joined?: string;
}

/** The container the step works for. */
export interface NetworkTarget {
  id: string;
  name: string;
  hostname: string;
  request: NetworkRequest;
  /** --network container:NAME: that container's id (it is told it has a joiner). */
  joined?: string;
}

/** Containers sharing `id`'s network namespace leave a mark in its run dir while they run. */
const joinersDir = (id: string) => `${files.runDir(id)}/joined`;

function liveJoiners(id: string): string[] {
  try {
    return readdirSync(joinersDir(id)).filter(containerAlive);
  } catch {
    return [];
  }
}

const hostsPath = (id: string) => `${files.runDir(id)}/hosts`;
const resolvPath = (id: string) => `${files.runDir(id)}/resolv.conf`;

export const readNetworkState = (id: string): NetworkState | undefined => readJson<NetworkState>(files.network(id));

function saveState(id: string, state: NetworkState): void {
  const path = files.network(id);
  writeFileSync(`${path}.tmp`, JSON.stringify(state));
  renameSync(`${path}.tmp`, path);
}

/** Times one step at debug level (async). */
async function step<T>(what: string, fn: () => Promise<T> | T): Promise<T> {
  const t0 = performance.now();
  const r = await fn();
  log.debug(`network: ${what}`, performance.now() - t0);
  return r;
}

const hex = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");

/** A veth's host end: mv + 8 of the container id + 4 random (a restart never meets its predecessor's, still being deleted). */
const vethName = (id: string) => `mv${id.slice(0, 8)}${hex(2)}`;

/** The network record an endpoint names ("bridge": the default one, made on first use). */
export async function networkOf(nl: Rtnetlink, name: string): Promise<NetworkRecord> {
  return name === "bridge" ? defaultNetwork(nl) : getNetwork(name);
}

/**
 * Puts the container (its process `pid`) on one network as `ifname`; with `defaultRoute`, its
 * default route goes through this network's gateway. The lease is recorded in `state` (and saved)
 * before anything else is made.
 */
export async function plugEndpoint(
  nl: Rtnetlink,
  ct: Rtnetlink,
  t: NetworkTarget,
  pid: number,
  e: EndpointRequest,
  ifname: string,
  defaultRoute: boolean,
  state: NetworkState,
): Promise<AttachedEndpoint> {
  const net = await networkOf(nl, e.network);
  const bridge = await ensureBridge(nl, net);
  const lease = await step(`lease on ${net.name}`, () =>
    allocate(net.name, t.id, {
      ip: e.ip,
      isAlive: holderAlive,
      endpoint: {
        name: t.name,
        aliases: e.aliases,
        hostsFile: hostsPath(t.id),
        pid,
        pidStart: pidStartTime(pid),
      },
    }),
  );
  const endpoint: AttachedEndpoint = {
    network: net.name,
    networkId: networkId(net),
    bridge: net.bridge,
    ip: lease.ip,
    prefix: lease.prefix,
    gateway: lease.gateway,
    mac: e.mac ?? lease.mac,
    hostVeth: vethName(t.id),
    ifname,
    aliases: e.aliases,
  };
  state.endpoints.push(endpoint);
  saveState(t.id, state);
  log.debug(`network: ${lease.ip}/${lease.prefix} on ${net.name} for ${t.id.slice(0, 12)}`);
  nl.createVeth(endpoint.hostVeth, ifname, { peerNetns: { pid }, mtu: bridge.mtu, peerMac: endpoint.mac });
  nl.setLink(endpoint.hostVeth, { master: bridge.index, up: true });
  nl.setHairpin(endpoint.hostVeth, true);
  ct.addAddress(ifname, `${lease.ip}/${lease.prefix}`);
  ct.setUp(ifname);
  if (defaultRoute) ct.addDefaultRoute(lease.gateway, ifname);
  return endpoint;
}

/** The container's /etc/hosts: docker's lines, --add-host entries, then its own address under its hostname and name. */
export function ownHosts(t: NetworkTarget, endpoints: AttachedEndpoint[]): string {
  const base = containerHosts(t.hostname, false, "")
    .split("\n")
    .filter((l) => l && !l.startsWith("127.0.1.1"));
  const gateway = endpoints[0]?.gateway;
  for (const h of t.request.addHosts) {
    const ip = h.ip === "host-gateway" ? gateway : h.ip;
    if (ip) base.push(`${ip}\t${h.host}`);
  }
  const names = [...new Set([t.hostname, t.name])].join(" ");
  base.push(endpoints[0] ? `${endpoints[0].ip}\t${names}` : `127.0.1.1\t${names}`);
  return `${base.join("\n")}\n`;
}

function hostResolvConf(): string {
  const read = (p: string) => {
    try {
      return readFileSync(p, "utf8");
    } catch {
      return "";
    }
  };
  const host = read("/etc/resolv.conf");
  return onlyResolvedStub(host) && existsSync(SYSTEMD_RESOLVED) ? read(SYSTEMD_RESOLVED) : host;
}

/** Whether a network's members find each other by name (user networks; not the default bridge, as in docker). */
export const resolvesNames = (network: string) => network !== "bridge";

/** The network step for the container `t` whose child stage is `pid` (see the top of this file). */
export async function attachNetwork(t: NetworkTarget, pid: number): Promise<void> {
  const req = t.request;
  if (req.mode === "container" && t.joined) {
    mkdirSync(joinersDir(t.joined), { recursive: true });
    writeFileSync(`${joinersDir(t.joined)}/${t.id}`, "");
    saveState(t.id, { endpoints: [], ports: [], joined: t.joined });
  }
  if (req.mode !== "bridge") return;
  const t0 = performance.now();
  await step("sweep of leases and ports left by containers that are gone", sweepNetworks);
  const state: NetworkState = { endpoints: [], ports: [] };
  using nl = Rtnetlink.open();
  using ct = Rtnetlink.openIn({ pid });
  for (const [i, e] of req.endpoints.entries()) await plugEndpoint(nl, ct, t, pid, e, `eth${i}`, i === 0, state);
  const specs = requestedPorts(req);
  const first = state.endpoints[0];
  if (specs.length > 0 && first) {
    const fw = require("../network/firewall.ts") as typeof import("../network/firewall.ts");
    state.ports = await step("published ports", () => fw.publishPorts(t.id, first.ip, specs, containerAlive));
    saveState(t.id, state);
  }
  await step("/etc/hosts and /etc/resolv.conf", async () => {
    writeFileSync(hostsPath(t.id), ownHosts(t, state.endpoints));
    writeFileSync(resolvPath(t.id), networkResolvConf(hostResolvConf(), req));
  });
  for (const e of state.endpoints)
    if (resolvesNames(e.network)) await step(`members' /etc/hosts on ${e.network}`, () => syncHosts(e.network));
  log.debug("network: attached, all steps", performance.now() - t0);
}

/**
 * Deletes a veth's host end if it is still there (its container's namespace is kept alive by
 * someone else, or the kernel hasn't got to it yet).
 */
export function removeVeth(nl: Rtnetlink, name: string): void {
  try {
    nl.deleteLink(name);
    log.debug(`network: veth ${name} deleted`);
  } catch (e) {
    if (!(e instanceof NetlinkError && e.errno === ENODEV)) throw e;
  }
}

/**
 * Undoes the network step of container `id` (idempotent): its ports, then its leases and the other
 * members' blocks. Veths go with the container's namespace, unless a container that joined it
 * (--network container:) still runs and keeps it: then they are deleted here.
 */
export async function detachNetwork(id: string): Promise<void> {
  const state = readNetworkState(id);
  if (!state) return;
  const t0 = performance.now();
  if (state.joined) rmSync(`${joinersDir(state.joined)}/${id}`, { force: true });
  const deleteVeths = liveJoiners(id).length > 0;
  if (state.ports.length > 0) {
    const fw = require("../network/firewall.ts") as typeof import("../network/firewall.ts");
    await step("published ports removed", () => fw.removePorts([id]));
  }
  if (deleteVeths && state.endpoints.length > 0) {
    using nl = Rtnetlink.open();
    for (const e of state.endpoints) removeVeth(nl, e.hostVeth);
  }
  for (const e of state.endpoints) {
    await step(`lease ${e.ip} on ${e.network} released`, () => release(e.network, id));
    if (resolvesNames(e.network)) await step(`members' /etc/hosts on ${e.network}`, () => syncHosts(e.network));
  }
  rmSync(files.network(id), { force: true });
  log.debug("network: detached, all steps", performance.now() - t0);
}
