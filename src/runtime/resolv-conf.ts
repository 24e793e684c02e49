// /etc/resolv.conf for a container on a mini network, as docker writes it for its bridge networks:
// the host's file with loopback nameservers dropped (they would be the container's own loopback)
// and IPv6 ones too (mini's networks are IPv4 only); nothing left → docker's fallback, Google's
// public resolvers. A host on systemd-resolved (only 127.0.0.53) gives its upstream file instead.
// --dns, --dns-search and --dns-option replace their part. Pure.

export interface DnsFlags {
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
}

/** docker's defaults when no usable nameserver is left (daemon/config's DefaultDNS). */
export const FALLBACK_NAMESERVERS = ["8.8.8.8", "8.8.4.4"];
export const SYSTEMD_RESOLVED = "/run/systemd/resolve/resolv.conf";

const nameserverOf = (line: string) => /^\s*nameserver\s+(\S+)/.exec(line)?.[1];
const usable = (ip: string) => !ip.startsWith("127.") && !ip.includes(":");

/** Whether the host's file points only at systemd-resolved's stub (then its upstream file is the one to read). */
export function onlyResolvedStub(host: string): boolean {
  const servers = host.split("\n").flatMap((l) => nameserverOf(l) ?? []);
  return servers.length > 0 && servers.every((s) => s === "127.0.0.53");
}

export function networkResolvConf(host: string, flags: DnsFlags): string {
  const lines = host.split("\n").filter((l) => {
    const ns = nameserverOf(l);
    if (ns !== undefined) return flags.dns.length === 0 && usable(ns);
    if (/^\s*(search|domain)\s/.test(l)) return flags.dnsSearch.length === 0;
    if (/^\s*options\s/.test(l)) return flags.dnsOptions.length === 0;
    return true;
  });
  while (lines.length && lines.at(-1)!.trim() === "") lines.pop();
  const servers = flags.dns.length ? flags.dns : lines.some((l) => nameserverOf(l)) ? [] : FALLBACK_NAMESERVERS;
  // --dns-search . means "no search domains" (docker).
  const search = flags.dnsSearch.filter((d) => d !== ".");
  if (search.length) lines.push(`search ${search.join(" ")}`);
  for (const s of servers) lines.push(`nameserver ${s}`);
  if (flags.dnsOptions.length) lines.push(`options ${flags.dnsOptions.join(" ")}`);
  return `${lines.join("\n")}\n`;
}
