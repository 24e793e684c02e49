// IPv4 addresses and CIDR blocks as plain numbers: parse, format, contains, overlap, nth address,
// and the MAC docker derives from a container's address. Pure; no I/O.

/** An IPv4 block: `network` is the first address (host bits zero), as an unsigned 32-bit number. */
export interface Cidr {
  network: number;
  prefix: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** The address as an unsigned 32-bit number, or undefined if `s` is not a dotted quad. */
export function tryParseIPv4(s: string): number | undefined {
  const parts = s.split(".");
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/** The address as an unsigned 32-bit number; throws on anything but a dotted quad. */
export function parseIPv4(s: string): number {
  const n = tryParseIPv4(s);
  if (n === undefined) throw new Error(`invalid IPv4 address "${s}"`);
  return n;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** The netmask of a prefix length as an unsigned number (0 for /0). */
const maskOf = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

/** "a.b.c.d/n" → the block; host bits are cleared ("172.18.0.5/16" → 172.18.0.0/16). Throws if malformed. */
export function parseCidr(s: string): Cidr {
  const slash = s.indexOf("/");
  const prefixText = slash < 0 ? "" : s.slice(slash + 1);
  if (!/^(3[0-2]|[12]?\d)$/.test(prefixText)) throw new Error(`invalid CIDR "${s}": expected a.b.c.d/n`);
  const addr = tryParseIPv4(s.slice(0, slash));
  if (addr === undefined) throw new Error(`invalid CIDR "${s}": expected a.b.c.d/n`);
  const prefix = Number(prefixText);
  return { network: (addr & maskOf(prefix)) >>> 0, prefix };
}

export const formatCidr = (c: Cidr): string => `${formatIPv4(c.network)}/${c.prefix}`;

/** How many addresses the block spans, network and broadcast included. */
export const blockSize = (c: Cidr): number => 2 ** (32 - c.prefix);

export const broadcastOf = (c: Cidr): number => c.network + blockSize(c) - 1;

export const contains = (c: Cidr, ip: number): boolean => ip >= c.network && ip <= broadcastOf(c);

/** Whether two blocks share any address (one contains the other, since blocks are aligned). */
export const overlaps = (a: Cidr, b: Cidr): boolean => a.network <= broadcastOf(b) && b.network <= broadcastOf(a);

/** The address `n` places from the start of the block (0: the network address); throws if outside. */
export function nthAddress(c: Cidr, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n >= blockSize(c)) throw new Error(`no address #${n} in ${formatCidr(c)}`);
  return c.network + n;
}

/** Docker's MAC for a container address: 02:42 then the four octets (locally administered, unicast). */
export function macFromIPv4(ip: number): string {
  const bytes = [0x02, 0x42, ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}
