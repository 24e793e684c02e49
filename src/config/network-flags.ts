// `mini run`'s network flags → a NetworkRequest: what the container asks of the network step
// (runtime/network-attach.ts). Pure: docker's syntax and its conflicts, checked here; whether a
// network exists or an address is free is the network step's to say.
//   --network bridge (default) | NAME | none | host | container:NAME
//   -p/--publish [IP:][HOSTPORT[-END]:]CTRPORT[-END][/tcp|/udp]   -P/--publish-all
//   --ip, --network-alias, --mac-address, --dns, --dns-search, --dns-option, --add-host NAME:IP
import { UserError } from "../common/errors.ts";

export type Proto = "tcp" | "udp";

/** One -p: host ports undefined = chosen by mini; a host range with one container port = one port of the range. */
export interface PortSpec {
  proto: Proto;
  /** An IPv4 address of the host; undefined: all of them. */
  hostIp?: string;
  hostPort?: number;
  hostPortEnd?: number;
  containerPort: number;
  containerPortEnd?: number;
}

/** The container on one network. */
export interface EndpointRequest {
  network: string;
  ip?: string;
  aliases: string[];
  mac?: string;
}

export interface NetworkRequest {
  /** bridge: on mini networks (`endpoints`); none: only lo; host: the host's; container: another container's. */
  mode: "bridge" | "none" | "host" | "container";
  /** mode container: the container, as the user named it. */
  container?: string;
  /** mode bridge: the networks, the first one's gateway being the default route. */
  endpoints: EndpointRequest[];
  publish: PortSpec[];
  /** -P: the image's exposed ports, each on a host port mini chooses. */
  publishAll: boolean;
  /** The image's ExposedPorts ("80/tcp"), for -P. */
  exposed: string[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  /** --add-host: "host-gateway" stands for the gateway of the container's first network. */
  addHosts: { host: string; ip: string }[];
}

export interface NetworkFlags {
  network?: string;
  ip?: string;
  aliases?: string[];
  mac?: string;
  publish?: string[];
  publishAll?: boolean;
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  addHosts?: string[];
  /** The image's ExposedPorts keys. */
  exposed?: string[];
  /** -h given (refused with --network container:). */
  hostname?: boolean;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
export const isIPv4 = (s: string): boolean => {
  const p = s.split(".");
  return p.length === 4 && p.every((x) => OCTET.test(x));
};
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const HOSTNAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})$/;

function port(text: string, what: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535)
    throw new UserError(`invalid ${what} "${text}": a port is 1 to 65535`);
  return Number(text);
}

function portRange(text: string, what: string): [number, number | undefined] {
  const [a, b, extra] = text.split("-");
  if (extra !== undefined || a === "") throw new UserError(`invalid ${what} "${text}"`);
  const start = port(a, what);
  if (b === undefined) return [start, undefined];
  const end = port(b, what);
  if (end < start) throw new UserError(`invalid ${what} "${text}": the range ends before it starts`);
  return [start, end === start ? undefined : end];
}

/** One -p value, docker's syntax (IPv4 only). */
export function parsePublish(value: string): PortSpec {
  const bad = (why: string) => new UserError(`invalid --publish "${value}": ${why}`);
  let rest = value;
  let proto: Proto = "tcp";
  const slash = rest.lastIndexOf("/");
  if (slash >= 0) {
    const p = rest.slice(slash + 1);
    if (p !== "tcp" && p !== "udp") throw bad(`unknown protocol "${p}" (tcp or udp)`);
    proto = p;
    rest = rest.slice(0, slash);
  }
  if (rest.startsWith("[")) throw bad("IPv6 host addresses are not supported");
  const parts = rest.split(":");
  if (parts.length > 3) throw bad("use [IP:][HOSTPORT:]CONTAINERPORT[/PROTO]");
  const [hostIp, hostPorts, ctrPorts] =
    parts.length === 3 ? parts : parts.length === 2 ? [undefined, parts[0], parts[1]] : [undefined, "", parts[0]];
  if (hostIp !== undefined && hostIp !== "" && !isIPv4(hostIp)) throw bad(`"${hostIp}" is not an IPv4 address`);
  if (!ctrPorts) throw bad("no container port");
  const [containerPort, containerPortEnd] = portRange(ctrPorts, "container port");
  const spec: PortSpec = { proto, containerPort };
  if (containerPortEnd !== undefined) spec.containerPortEnd = containerPortEnd;
  if (hostIp && hostIp !== "0.0.0.0") spec.hostIp = hostIp;
  if (hostPorts) {
    const [hostPort, hostPortEnd] = portRange(hostPorts, "host port");
    spec.hostPort = hostPort;
    if (hostPortEnd !== undefined) spec.hostPortEnd = hostPortEnd;
    const hostCount = (hostPortEnd ?? hostPort) - hostPort;
    const ctrCount = (containerPortEnd ?? containerPort) - containerPort;
    if (ctrCount > 0 && hostCount !== ctrCount)
      throw bad(`the host range has ${hostCount + 1} ports and the container range ${ctrCount + 1}`);
  }
  return spec;
}

/** "80/tcp", "53/udp", "8000-8002/tcp" (an image's ExposedPorts key) → a spec with host ports to choose. */
export function parseExposed(key: string): PortSpec {
  const [ports, proto = "tcp"] = key.split("/");
  if (proto !== "tcp" && proto !== "udp") throw new UserError(`the image exposes "${key}": unknown protocol`);
  const [containerPort, containerPortEnd] = portRange(ports, "exposed port");
  return containerPortEnd === undefined ? { proto, containerPort } : { proto, containerPort, containerPortEnd };
}

/** --add-host NAME:IP (docker also takes NAME=IP); IP may be "host-gateway". */
export function parseAddHost(value: string): { host: string; ip: string } {
  const sep = value.includes("=") ? value.indexOf("=") : value.indexOf(":");
  const host = value.slice(0, sep);
  const ip = value.slice(sep + 1);
  if (sep <= 0 || !HOSTNAME.test(host) || !(ip === "host-gateway" || isIPv4(ip)))
    throw new UserError(`invalid --add-host "${value}": use NAME:IPv4 (or NAME:host-gateway)`);
  return { host, ip };
}

const RESERVED = new Set(["none", "host", "bridge"]);

/**
 * The request the flags make. `network` undefined: the default (`bridge`). Docker's conflicts are
 * refused with docker's reasons.
 */
export function networkRequest(f: NetworkFlags): NetworkRequest {
  const network = f.network ?? "bridge";
  const conflict = (what: string) => new UserError(`conflicting options: ${what} and --network ${network}`);
  const req: NetworkRequest = {
    mode: "bridge",
    endpoints: [],
    publish: (f.publish ?? []).map(parsePublish),
    publishAll: !!f.publishAll,
    exposed: f.exposed ?? [],
    dns: f.dns ?? [],
    dnsSearch: f.dnsSearch ?? [],
    dnsOptions: f.dnsOptions ?? [],
    addHosts: (f.addHosts ?? []).map(parseAddHost),
  };
  for (const d of req.dns) if (!isIPv4(d)) throw new UserError(`invalid --dns "${d}": an IPv4 address`);
  if (f.mac !== undefined && !MAC.test(f.mac)) throw new UserError(`invalid --mac-address "${f.mac}"`);
  const published = req.publish.length > 0 || req.publishAll;
  if (network === "none" || network === "host" || network.startsWith("container:")) {
    req.mode = network.startsWith("container:") ? "container" : (network as "none" | "host");
    if (f.ip !== undefined) throw conflict("--ip");
    if (f.aliases?.length) throw conflict("--network-alias");
    if (f.mac !== undefined) throw conflict("--mac-address");
    if (req.mode === "container") {
      req.container = network.slice("container:".length);
      if (!req.container) throw new UserError('invalid --network "container:": name the container');
      if (published) throw conflict("port publishing");
      if (req.dns.length || req.dnsSearch.length || req.dnsOptions.length) throw conflict("--dns");
      if (req.addHosts.length) throw conflict("--add-host");
      if (f.hostname) throw conflict("--hostname");
    }
    if (req.mode === "host" && (req.dns.length || req.dnsSearch.length || req.dnsOptions.length))
      throw conflict("--dns");
    if (req.mode === "none" && published) throw conflict("port publishing");
    // docker ignores -p with --network host (with a warning): the ports are the host's anyway.
    if (req.mode === "host") req.publish = [];
    if (req.mode === "host") req.publishAll = false;
    return req;
  }
  const endpoint = endpointRequest(network, { ip: f.ip, aliases: f.aliases });
  if (f.mac !== undefined) endpoint.mac = f.mac.toLowerCase();
  req.endpoints.push(endpoint);
  return req;
}

/** One network with --ip and aliases (run, network connect): both only on user-defined networks. */
export function endpointRequest(network: string, o: { ip?: string; aliases?: string[] }): EndpointRequest {
  if (RESERVED.has(network) && network !== "bridge")
    throw new UserError(`network ${network} can't be joined this way: use mini run --network ${network}`);
  const user = network !== "bridge";
  if (o.ip !== undefined && !isIPv4(o.ip)) throw new UserError(`invalid --ip "${o.ip}": an IPv4 address`);
  if (o.ip !== undefined && !user)
    throw new UserError("--ip: a chosen address is supported on user-defined networks only (mini network create)");
  if (o.aliases?.length && !user)
    throw new UserError("--network-alias: aliases are supported on user-defined networks only (mini network create)");
  for (const a of o.aliases ?? [])
    if (!HOSTNAME.test(a)) throw new UserError(`invalid alias "${a}": letters, digits, '_', '.', '-'`);
  const endpoint: EndpointRequest = { network, aliases: o.aliases ?? [] };
  if (o.ip !== undefined) endpoint.ip = o.ip;
  return endpoint;
}

/** The ports -p and -P ask for: -P adds each exposed port not already published, on a host port mini chooses. */
export function requestedPorts(req: NetworkRequest): PortSpec[] {
  const out = [...req.publish];
  if (req.publishAll)
    for (const key of req.exposed) {
      const e = parseExposed(key);
      if (!out.some((p) => p.proto === e.proto && p.containerPort === e.containerPort)) out.push(e);
    }
  return out;
}
