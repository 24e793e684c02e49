// How a container's and a network's networking looks to the user, in docker's shapes: inspect's
// NetworkSettings, `mini port`, the PORTS column of `mini ps`, `mini network inspect`. Read from
// the container's network.json (what the network step made for the running container) and the
// networks' records and leases.
import type { PortMapping } from "../network/firewall-rules.ts";
import { listEndpoints } from "../network/ipam.ts";
import { type NetworkRecord, networkId } from "../network/networks.ts";
import type { ContainerRecord } from "../state/containers.ts";
import { type AttachedEndpoint, readNetworkState } from "./network-attach.ts";

/** One published port per container port (a range mapping expanded). */
function expand(ports: PortMapping[]): { key: string; hostIp: string; hostPort: number }[] {
  return ports.flatMap((p) => {
    const count = (p.hostPortEnd ?? p.hostPort) - p.hostPort;
    return Array.from({ length: count + 1 }, (_, i) => ({
      key: `${p.containerPort + i}/${p.proto}`,
      hostIp: p.hostIp ?? "0.0.0.0",
      hostPort: p.hostPort + i,
    }));
  });
}

/** The ports of a running container as `mini port` prints them: "80/tcp -> 0.0.0.0:8080". */
export function portLines(rec: ContainerRecord, filter?: string): string[] {
  const state = readNetworkState(rec.id);
  const want = filter && (filter.includes("/") ? filter : `${filter}/tcp`);
  return expand(state?.ports ?? [])
    .filter((p) => !want || p.key === want)
    .map((p) => `${p.key} -> ${p.hostIp}:${p.hostPort}`);
}

/** The PORTS column of `mini ps`: "0.0.0.0:8080->80/tcp, 127.0.0.1:8000-8002->80-82/tcp". */
export function portsColumn(rec: ContainerRecord): string {
  const state = readNetworkState(rec.id);
  return (state?.ports ?? [])
    .map((p) => {
      const end = p.hostPortEnd ?? p.hostPort;
      const host = end === p.hostPort ? `${p.hostPort}` : `${p.hostPort}-${end}`;
      const ctr =
        end === p.hostPort ? `${p.containerPort}` : `${p.containerPort}-${p.containerPort + end - p.hostPort}`;
      return `${p.hostIp ?? "0.0.0.0"}:${host}->${ctr}/${p.proto}`;
    })
    .join(", ");
}

const endpointSettings = (rec: ContainerRecord, e: AttachedEndpoint | undefined, aliases: string[] | null) => ({
  IPAMConfig: null,
  Links: null,
  Aliases: aliases,
  NetworkID: e?.networkId ?? "",
  EndpointID: e ? `${e.networkId.slice(0, 32)}${rec.id.slice(0, 32)}` : "",
  Gateway: e?.gateway ?? "",
  IPAddress: e?.ip ?? "",
  IPPrefixLen: e?.prefix ?? 0,
  MacAddress: e?.mac ?? "",
  DNSNames: e && e.network !== "bridge" ? [rec.name, ...e.aliases, rec.id.slice(0, 12)] : null,
});

/**
 * inspect's NetworkSettings (docker's shape). IPAddress, Gateway and MacAddress are the first
 * network's (docker fills them for its default bridge only). Empty while the container is stopped.
 */
export function networkSettings(rec: ContainerRecord, running: boolean) {
  const state = running ? readNetworkState(rec.id) : undefined;
  const first = state?.endpoints[0];
  const ports: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const key of rec.network?.publishAll ? rec.network.exposed : []) ports[key] = null;
  for (const p of expand(state?.ports ?? []))
    (ports[p.key] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  const networks: Record<string, ReturnType<typeof endpointSettings>> = {};
  const req = rec.network;
  if (req?.mode === "bridge")
    for (const e of req.endpoints) {
      const attached = state?.endpoints.find((a) => a.network === e.network);
      networks[e.network] = endpointSettings(rec, attached, e.network === "bridge" ? null : e.aliases);
    }
  else if (req)
    networks[req.mode === "container" ? `container:${req.container}` : req.mode] = endpointSettings(
      rec,
      undefined,
      null,
    );
  return {
    Bridge: "",
    SandboxID: "",
    SandboxKey: "",
    Ports: ports,
    Gateway: first?.gateway ?? "",
    IPAddress: first?.ip ?? "",
    IPPrefixLen: first?.prefix ?? 0,
    MacAddress: first?.mac ?? "",
    Networks: networks,
  };
}

/** The network mode as docker's HostConfig.NetworkMode says it. */
export function networkMode(rec: ContainerRecord): string {
  const req = rec.network;
  if (!req) return rec.etc?.hostNetwork ? "host" : "none";
  if (req.mode === "container") return `container:${req.container}`;
  if (req.mode === "bridge") return req.endpoints[0]?.network ?? "bridge";
  return req.mode;
}

/** `mini network inspect`: docker's shape, with the members (their names from the leases). */
export function inspectNetwork(n: NetworkRecord) {
  const containers: Record<string, object> = {};
  const prefix = n.subnet.split("/")[1];
  for (const m of listEndpoints(n.name))
    containers[m.containerId] = {
      Name: m.name,
      EndpointID: `${networkId(n).slice(0, 32)}${m.containerId.slice(0, 32)}`,
      IPv4Address: `${m.ip}/${prefix}`,
      IPv6Address: "",
    };
  return {
    Name: n.name,
    Id: networkId(n),
    Created: n.created,
    Scope: "local",
    Driver: "bridge",
    EnableIPv6: false,
    IPAM: { Driver: "default", Options: {}, Config: [{ Subnet: n.subnet, Gateway: n.gateway }] },
    Internal: n.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: "" },
    ConfigOnly: false,
    Containers: containers,
    Options: { "com.docker.network.bridge.name": n.bridge },
    Labels: {},
  };
}
