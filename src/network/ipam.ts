// Container addresses on mini's networks: a lease file per network in the store (networkPaths),
// read and written only under the network's file lock, so that concurrent mini processes never hand
// out one address twice. Lock order: "networks" (networks.ts, removeNetwork) before "network-<name>".
//
// In a subnet, address 0 is the network, the gateway (the bridge; 1 unless chosen) and the last the
// broadcast; containers get the others: the one asked for (--ip), or the next free one after the
// last one handed out, wrapping around (as docker does, so that an address just released is not
// given again at once, while ARP caches and conntrack entries may still point at its former owner).
//
// Each lease's holder is described too (an Endpoint: its name and aliases for the members' /etc/hosts,
// and the pid and start time of its process, which tell a live holder from one that is gone without
// reading the container's records).
import { existsSync, unlinkSync } from "node:fs";
import { UserError } from "../common/errors.ts";
import { withLock } from "../common/lock.ts";
import { lockPath, networkPaths } from "../common/paths.ts";
import { blockSize, type Cidr, contains, formatIPv4, macFromIPv4, parseCidr, tryParseIPv4 } from "./cidr.ts";
import { checkNetworkName, getNetwork, type NetworkRecord, readJson, writeJson } from "./networks.ts";

export interface Lease {
  containerId: string;
  ip: string;
  /** The subnet's prefix length, for "ip/prefix". */
  prefix: number;
  gateway: string;
  /** docker's 02:42 + the address. */
  mac: string;
}

/** Who holds a lease: what the other members' /etc/hosts say of it, and its process. */
export interface Endpoint {
  name: string;
  aliases: string[];
  /** The container's /etc/hosts on the host (kept current with the other members: runtime/hosts-sync.ts). */
  hostsFile?: string;
  /** The container's process and its start time (field 22 of /proc/PID/stat). */
  pid?: number;
  pidStart?: string;
}

/** A lease with its holder, as listEndpoints gives them. */
export interface Member extends Endpoint {
  containerId: string;
  ip: string;
}

interface LeaseFile {
  /** The last address handed out by search (not by request): the next search starts after it. */
  last?: string;
  /** address → container id */
  leases: Record<string, string>;
  /** container id → its description (absent for leases made without one) */
  endpoints?: Record<string, Endpoint>;
}

/** Whether a lease's holder is still there; given the holder's description when there is one. */
export type IsAlive = (containerId: string, endpoint?: Endpoint) => boolean;

const readLeases = (name: string): LeaseFile => readJson<LeaseFile>(networkPaths.leases(name)) ?? { leases: {} };
const lockOf = (network: string) => lockPath(`network-${network}`);

/** The addresses in use on a network: address → container id. */
export function listLeases(network: string): Record<string, string> {
  checkNetworkName(network);
  return { ...readLeases(network).leases };
}

const membersOf = (file: LeaseFile): Member[] =>
  Object.entries(file.leases).map(([ip, containerId]) => ({
    name: containerId.slice(0, 12),
    aliases: [],
    ...file.endpoints?.[containerId],
    containerId,
    ip,
  }));

/** The members of a network: each lease with its holder's description (read without the lock). */
export function listEndpoints(network: string): Member[] {
  checkNetworkName(network);
  return membersOf(readLeases(network));
}

/** Runs `fn` with the network's members, holding its lease lock (no lease changes meanwhile). */
export async function withMembers<T>(network: string, fn: (members: Member[]) => Promise<T> | T): Promise<T> {
  checkNetworkName(network);
  return withLock(lockOf(network), () => fn(membersOf(readLeases(network))));
}

function leaseOf(net: NetworkRecord, ip: number, containerId: string): Lease {
  return {
    containerId,
    ip: formatIPv4(ip),
    prefix: parseCidr(net.subnet).prefix,
    gateway: net.gateway,
    mac: macFromIPv4(ip),
  };
}

/** The address `wanted` checked against the network: UserError if it can't be `containerId`'s. */
function checkRequested(net: NetworkRecord, wanted: string, file: LeaseFile, containerId: string): number {
  const ip = tryParseIPv4(wanted);
  if (ip === undefined) throw new UserError(`invalid IPv4 address "${wanted}"`);
  const subnet = parseCidr(net.subnet);
  if (!contains(subnet, ip))
    throw new UserError(`address ${wanted} is not in network ${net.name}'s subnet ${net.subnet}`);
  const offset = ip - subnet.network;
  const reserved =
    offset === 0
      ? "the network address"
      : formatIPv4(ip) === net.gateway
        ? "the gateway"
        : offset === blockSize(subnet) - 1
          ? "the broadcast address"
          : "";
  if (reserved) throw new UserError(`address ${wanted} is reserved on network ${net.name} (${reserved})`);
  const holder = file.leases[wanted];
  if (holder !== undefined && holder !== containerId)
    throw new UserError(`address ${wanted} is already in use on network ${net.name}`);
  return ip;
}

/**
 * The next free address after `file.last` (wrapping around), or undefined if the subnet is full.
 * Host k (0-based) is at offset k + 1; the gateway is skipped like a lease.
 */
function nextFree(subnet: Cidr, gateway: string, file: LeaseFile): number | undefined {
  const hosts = blockSize(subnet) - 2;
  const last = file.last === undefined ? undefined : tryParseIPv4(file.last);
  const lastOffset = last === undefined ? -1 : last - subnet.network;
  // Before any search: start right after the gateway, as docker does (.2 with the usual .1).
  const gw = tryParseIPv4(gateway);
  const from =
    lastOffset >= 1 && lastOffset <= hosts ? lastOffset - 1 : gw === undefined ? -1 : gw - subnet.network - 1;
  for (let i = 1; i <= hosts; i++) {
    const ip = subnet.network + 1 + ((from + i) % hosts);
    const text = formatIPv4(ip);
    if (text !== gateway && file.leases[text] === undefined) return ip;
  }
  return undefined;
}

export interface AllocateOptions {
  /** A specific address (--ip). */
  ip?: string;
  /** When the subnet is full: the leases of containers for which this is false are dropped, and the search retried. */
  isAlive?: IsAlive;
  /** The holder's description, kept with the lease. */
  endpoint?: Endpoint;
}

/**
 * An address on `network` for `containerId`: the one it already holds, the one asked for, or the
 * next free one. UserError if the network doesn't exist, the address asked for is invalid, outside
 * the subnet, reserved or taken, or no address is left.
 */
export async function allocate(network: string, containerId: string, opts: AllocateOptions = {}): Promise<Lease> {
  const net = getNetwork(network);
  return withLock(lockOf(network), () => {
    const file = readLeases(network);
    const held = Object.keys(file.leases).find((ip) => file.leases[ip] === containerId);
    const describe = () => {
      if (opts.endpoint) file.endpoints = { ...file.endpoints, [containerId]: opts.endpoint };
    };
    if (held !== undefined && (opts.ip === undefined || opts.ip === held)) {
      if (opts.endpoint) {
        describe();
        writeJson(networkPaths.leases(network), file);
      }
      return leaseOf(net, tryParseIPv4(held)!, containerId);
    }
    let ip: number | undefined;
    if (opts.ip !== undefined) ip = checkRequested(net, opts.ip, file, containerId);
    else {
      const subnet = parseCidr(net.subnet);
      ip = nextFree(subnet, net.gateway, file);
      if (ip === undefined && opts.isAlive) {
        for (const [addr, id] of Object.entries(file.leases))
          if (!opts.isAlive(id, file.endpoints?.[id])) {
            delete file.leases[addr];
            delete file.endpoints?.[id];
          }
        ip = nextFree(subnet, net.gateway, file);
      }
      if (ip === undefined) throw new UserError(`no available IPv4 addresses on network ${network} (${net.subnet})`);
      file.last = formatIPv4(ip);
    }
    if (held !== undefined) delete file.leases[held];
    file.leases[formatIPv4(ip)] = containerId;
    describe();
    writeJson(networkPaths.leases(network), file);
    return leaseOf(net, ip, containerId);
  });
}

async function dropLeases(network: string, drop: IsAlive) {
  checkNetworkName(network);
  return withLock(lockOf(network), () => {
    const file = readLeases(network);
    const gone = Object.entries(file.leases)
      .filter(([, id]) => drop(id, file.endpoints?.[id]))
      .map(([ip, containerId]) => ({ ip, containerId }));
    if (gone.length > 0) {
      for (const { ip, containerId } of gone) {
        delete file.leases[ip];
        delete file.endpoints?.[containerId];
      }
      writeJson(networkPaths.leases(network), file);
    }
    return gone;
  });
}

/** Gives back the address(es) `containerId` holds on `network`; returns them. */
export async function release(network: string, containerId: string): Promise<string[]> {
  return (await dropLeases(network, (id) => id === containerId)).map((l) => l.ip);
}

/** Drops the leases of containers that are gone (`isAlive` false); returns them. */
export async function reclaim(network: string, isAlive: IsAlive): Promise<{ ip: string; containerId: string }[]> {
  return dropLeases(network, (id, endpoint) => !isAlive(id, endpoint));
}

/**
 * Removes a network's record and leases. UserError (docker's message) while containers hold
 * addresses on it; with `isAlive`, the leases of containers that are gone don't count.
 */
export async function removeNetwork(name: string, isAlive?: IsAlive): Promise<void> {
  getNetwork(name);
  return withLock(lockPath("networks"), () =>
    withLock(lockOf(name), () => {
      const file = readLeases(name);
      const holders = Object.values(file.leases).filter((id) => !isAlive || isAlive(id, file.endpoints?.[id]));
      if (holders.length > 0) throw new UserError(`error while removing network: network ${name} has active endpoints`);
      for (const path of [networkPaths.leases(name), networkPaths.record(name)]) if (existsSync(path)) unlinkSync(path);
    }),
  );
}
