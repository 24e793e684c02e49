// Which ports of the host are taken by its own processes, from /proc/net/{tcp,tcp6,udp,udp6} (this
// network namespace's sockets): a published port is a DNAT rule, not a socket, so a host program
// listening on it would be shadowed without a word. docker finds out by binding the port in its
// proxy; mini, with no proxy, reads the kernel's socket tables (a TCP socket in LISTEN, or any UDP
// socket bound to the port). Also the range mini picks free host ports from.
import { readFileSync } from "node:fs";
import type { Proto } from "./firewall-rules.ts";

export interface HostSocket {
  /** IPv4 dotted quad, "::" or another IPv6 address (v4-mapped ones as IPv4). */
  ip: string;
  port: number;
}

const TCP_LISTEN = "0A";

/** /proc/net/tcp's address: 8 hex digits of the address in host (little-endian) order. */
function ipv4FromHex(hex: string): string {
  const n = Number.parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join(".");
}

/** /proc/net/tcp6's address: four 32-bit words, each in host order. */
function ipv6FromHex(hex: string): string {
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const n = Number.parseInt(hex.slice(w * 8, w * 8 + 8), 16);
    bytes.push(n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24);
  }
  if (bytes.every((b) => b === 0)) return "::";
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255)
    return bytes.slice(12).join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return groups.join(":");
}

/**
 * The sockets in one /proc/net table: TCP ones in LISTEN (`listenOnly`), else every socket with a
 * local port (UDP). Malformed lines are skipped.
 */
export function parseProcNet(text: string, v6: boolean, listenOnly: boolean): HostSocket[] {
  const out: HostSocket[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    const [addr, portHex] = f[1].split(":");
    if (!addr || !portHex || addr.length !== (v6 ? 32 : 8)) continue;
    if (listenOnly && f[3] !== TCP_LISTEN) continue;
    const port = Number.parseInt(portHex, 16);
    if (!port) continue;
    out.push({ ip: v6 ? ipv6FromHex(addr) : ipv4FromHex(addr), port });
  }
  return out;
}

function readTable(name: string): string {
  try {
    return readFileSync(`/proc/net/${name}`, "utf8");
  } catch {
    return ""; // no IPv6 in this kernel
  }
}

/** The host's sockets that hold ports of `proto`: TCP listeners, bound UDP sockets. */
export function hostSockets(proto: Proto): HostSocket[] {
  const listen = proto === "tcp";
  return [...parseProcNet(readTable(proto), false, listen), ...parseProcNet(readTable(`${proto}6`), true, listen)];
}

/**
 * A host socket that a mapping of `hostIp` (undefined: every address) port `port` would shadow:
 * one on that port bound to every address, to `hostIp`, or to anything when `hostIp` is every
 * address. IPv6 sockets count when bound to "::" (they may take IPv4 too). Undefined if none.
 */
export function socketOnPort(sockets: HostSocket[], hostIp: string | undefined, port: number): HostSocket | undefined {
  const all = !hostIp || hostIp === "0.0.0.0";
  return sockets.find(
    (s) =>
      s.port === port &&
      (all ? s.ip === "::" || !s.ip.includes(":") : s.ip === "0.0.0.0" || s.ip === "::" || s.ip === hostIp),
  );
}

/** The range host ports are chosen from: net.ipv4.ip_local_port_range (docker's choice too). */
export function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (lo > 0 && hi >= lo && hi <= 65535) return [lo, hi];
  } catch {}
  return [32768, 60999];
}
