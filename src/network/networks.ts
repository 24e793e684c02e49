// mini's networks, in the store (networkPaths): one record each, created under the "networks" lock
// so that two networks never get the same name, bridge or subnet. The record only; the bridge, its
// addresses and the firewall are made by others from it. Leases and removal: ipam.ts.
//
// Subnets, when not given, come from docker's default local pools in docker's order: 172.17.0.0/16
// through 172.31.0.0/16, then 192.168.0.0/16 cut into sixteen /20s (31 in all). The first one that
// overlaps neither a route of the host (default routes aside) nor another mini network is taken.
// The gateway (the bridge's address) is the subnet's first host address unless one is given.
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { UserError } from "../common/errors.ts";
import { withLock } from "../common/lock.ts";
import { lockPath, networkPaths } from "../common/paths.ts";
import {
  blockSize,
  type Cidr,
  contains,
  formatCidr,
  formatIPv4,
  nthAddress,
  overlaps,
  parseCidr,
  tryParseIPv4,
} from "./cidr.ts";

export interface NetworkRecord {
  /** 64 hex characters, like docker's network ids (records from before ids: see networkId). */
  id?: string;
  name: string;
  /** The Linux bridge (at most 15 characters). */
  bridge: string;
  /** "172.18.0.0/16" */
  subnet: string;
  /** The subnet's first host address: the bridge's own. */
  gateway: string;
  internal: boolean;
  /** ISO 8601 */
  created: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** docker's default local address pools, in order. */
export function defaultPools(): string[] {
  const pools: string[] = [];
  for (let b = 17; b <= 31; b++) pools.push(`172.${b}.0.0/16`);
  for (let c = 0; c < 256; c += 16) pools.push(`192.168.${c}.0/20`);
  return pools;
}

/**
 * The first default pool that overlaps no host route (default routes, /0, are ignored) and no
 * subnet in `used`. UserError (docker's message) when every pool is taken.
 */
export function chooseSubnet(hostRoutes: string[], used: string[]): string {
  const taken = [...hostRoutes.map(parseCidr).filter((c) => c.prefix > 0), ...used.map(parseCidr)];
  const pool = defaultPools().find((p) => !taken.some((t) => overlaps(parseCidr(p), t)));
  if (!pool)
    throw new UserError(
      "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network",
    );
  return pool;
}

const sha256 = (text: string): string => new Bun.CryptoHasher("sha256").update(text).digest("hex");

/** The bridge of a network: mini0 for the default network "bridge", mini-<10 hex of the name's sha256> otherwise. */
export const bridgeNameFor = (name: string): string =>
  name === "bridge" ? "mini0" : `mini-${sha256(name).slice(0, 10)}`;

/** A network's id: its own, or (a record written before ids) the sha256 of its name. */
export const networkId = (n: NetworkRecord): string => n.id ?? sha256(`network ${n.name}`);

/** UserError unless `name` can name a network (and so a file and a lock). */
export function checkNetworkName(name: string): void {
  if (!NAME.test(name))
    throw new UserError(
      `invalid network name "${name}": use up to 64 letters, digits, '_', '.', '-', starting with a letter or digit`,
    );
}

/** Writes `value` as JSON to `path` under the networks directory, whole or not at all. */
export function writeJson(path: string, value: unknown): void {
  mkdirSync(networkPaths.dir(), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/** The JSON in `path`, or undefined if there is no such file. */
export function readJson<T>(path: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  return JSON.parse(text) as T;
}

/** A network's record, or undefined if there is no such network. */
export function readNetwork(name: string): NetworkRecord | undefined {
  checkNetworkName(name);
  return readJson<NetworkRecord>(networkPaths.record(name));
}

/** A network's record; UserError (docker's message) if there is none. */
export function getNetwork(name: string): NetworkRecord {
  const n = readNetwork(name);
  if (!n) throw new UserError(`network ${name} not found`);
  return n;
}

/** Every network, by name. */
export function listNetworks(): NetworkRecord[] {
  let files: string[];
  try {
    files = readdirSync(networkPaths.dir());
  } catch {
    return [];
  }
  return files
    .filter((f) => f.endsWith(".json") && !f.endsWith(".leases.json"))
    .map((f) => readJson<NetworkRecord>(`${networkPaths.dir()}/${f}`))
    .filter((n): n is NetworkRecord => n !== undefined)
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

function checkSubnet(s: string): Cidr {
  let c: Cidr;
  try {
    c = parseCidr(s);
  } catch {
    throw new UserError(`invalid subnet "${s}": expected an IPv4 CIDR such as 172.18.0.0/16`);
  }
  if (formatCidr(c) !== s) throw new UserError(`invalid subnet "${s}": host bits are set (${formatCidr(c)}?)`);
  if (c.prefix > 30)
    throw new UserError(`invalid subnet "${s}": too small for a gateway and a container (/30 at most)`);
  return c;
}

export interface NetworkOptions {
  name: string;
  /** A CIDR; chosen from the default pools when missing. */
  subnet?: string;
  /** The subnet's first host address when missing. */
  gateway?: string;
  /** bridgeNameFor(name) when missing. */
  bridge?: string;
  internal?: boolean;
}

/** The gateway asked for, checked against the subnet: a host address of it. */
function checkGateway(gateway: string, subnet: Cidr): number {
  const ip = tryParseIPv4(gateway);
  if (ip === undefined) throw new UserError(`invalid gateway "${gateway}": an IPv4 address`);
  if (!contains(subnet, ip)) throw new UserError(`gateway ${gateway} is not in subnet ${formatCidr(subnet)}`);
  if (ip === subnet.network || ip === subnet.network + blockSize(subnet) - 1)
    throw new UserError(`gateway ${gateway} is the network or broadcast address of ${formatCidr(subnet)}`);
  return ip;
}

/**
 * Creates a network's record. `hostRoutes`: the host's IPv4 routes as CIDRs, for choosing a subnet.
 * UserError if the name or bridge is taken, the subnet overlaps another network's, or one is invalid.
 */
export async function createNetwork(opts: NetworkOptions, hostRoutes: string[]): Promise<NetworkRecord> {
  checkNetworkName(opts.name);
  const bridge = opts.bridge ?? bridgeNameFor(opts.name);
  if (!IFNAME.test(bridge))
    throw new UserError(`invalid bridge name "${bridge}": up to 15 letters, digits, '_', '.', '-'`);
  const wanted = opts.subnet === undefined ? undefined : checkSubnet(opts.subnet);
  if (opts.gateway !== undefined && !wanted) throw new UserError("--gateway needs --subnet");
  if (opts.gateway !== undefined && wanted) checkGateway(opts.gateway, wanted);
  return withLock(lockPath("networks"), () => {
    const others = listNetworks();
    if (others.some((n) => n.name === opts.name)) throw new UserError(`network with name ${opts.name} already exists`);
    const sameBridge = others.find((n) => n.bridge === bridge);
    if (sameBridge) throw new UserError(`bridge ${bridge} is already used by network ${sameBridge.name}`);
    const clash = wanted && others.find((n) => overlaps(parseCidr(n.subnet), wanted));
    if (clash) throw new UserError(`subnet ${opts.subnet} overlaps with network ${clash.name} (${clash.subnet})`);
    const subnet =
      wanted ??
      parseCidr(
        chooseSubnet(
          hostRoutes,
          others.map((n) => n.subnet),
        ),
      );
    const record: NetworkRecord = {
      id: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex"),
      name: opts.name,
      bridge,
      subnet: formatCidr(subnet),
      gateway: opts.gateway ?? formatIPv4(nthAddress(subnet, 1)),
      internal: opts.internal ?? false,
      created: new Date().toISOString(),
    };
    writeJson(networkPaths.record(opts.name), record);
    return record;
  });
}
