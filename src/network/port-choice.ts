// The host ports of one container's -p/-P, decided: given ports checked, missing ones chosen.
// A host port is free when no other container's mapping claims it (on an overlapping address) and
// no host socket holds it (host-ports.ts). Missing ports come from the ephemeral range, lowest free
// first (docker's allocator also walks the range upwards); a host range with one container port
// takes the first free port of the range, as docker does. Run under the firewall's lock.
import { UserError } from "../common/errors.ts";
import type { PortSpec } from "../config/network-flags.ts";
import type { PortMapping, Proto } from "./firewall-rules.ts";
import { ephemeralRange, type HostSocket, hostSockets, socketOnPort } from "./host-ports.ts";

export interface PortEnvironment {
  sockets: (proto: Proto) => HostSocket[];
  range: () => [number, number];
}

const host: PortEnvironment = { sockets: hostSockets, range: ephemeralRange };

const everyAddress = (ip: string | undefined) => !ip || ip === "0.0.0.0";
const ipsOverlap = (a: string | undefined, b: string | undefined) => everyAddress(a) || everyAddress(b) || a === b;

export function choosePorts(
  containerId: string,
  containerIp: string,
  specs: PortSpec[],
  taken: PortMapping[],
  env: PortEnvironment = host,
): PortMapping[] {
  const out: PortMapping[] = [];
  const sockets = new Map<Proto, HostSocket[]>();
  const socketsOf = (proto: Proto) => {
    if (!sockets.has(proto)) sockets.set(proto, env.sockets(proto));
    return sockets.get(proto)!;
  };
  const claimedBy = (proto: Proto, ip: string | undefined, port: number) =>
    [...taken, ...out].find(
      (m) =>
        m.proto === proto && ipsOverlap(m.hostIp, ip) && port >= m.hostPort && port <= (m.hostPortEnd ?? m.hostPort),
    );
  const isFree = (proto: Proto, ip: string | undefined, port: number) =>
    !claimedBy(proto, ip, port) && !socketOnPort(socketsOf(proto), ip, port);
  const mapping = (spec: PortSpec, hostPort: number, containerPort: number, hostPortEnd?: number): PortMapping => ({
    containerId,
    proto: spec.proto,
    ...(spec.hostIp && { hostIp: spec.hostIp }),
    hostPort,
    ...(hostPortEnd !== undefined && hostPortEnd !== hostPort && { hostPortEnd }),
    containerIp,
    containerPort,
  });

  for (const spec of specs) {
    const ip = spec.hostIp ?? "0.0.0.0";
    const ctrEnd = spec.containerPortEnd ?? spec.containerPort;
    if (spec.hostPort === undefined) {
      const [lo, hi] = env.range();
      for (let c = spec.containerPort; c <= ctrEnd; c++) {
        let chosen: number | undefined;
        for (let p = lo; p <= hi && chosen === undefined; p++) if (isFree(spec.proto, spec.hostIp, p)) chosen = p;
        if (chosen === undefined)
          throw new UserError(`no free host port for ${c}/${spec.proto} on ${ip} in ${lo}-${hi}`);
        out.push(mapping(spec, chosen, c));
      }
      continue;
    }
    if (spec.hostPortEnd !== undefined && spec.containerPortEnd === undefined) {
      let chosen: number | undefined;
      for (let p = spec.hostPort; p <= spec.hostPortEnd && chosen === undefined; p++)
        if (isFree(spec.proto, spec.hostIp, p)) chosen = p;
      if (chosen === undefined)
        throw new UserError(
          `Bind for ${ip}:${spec.hostPort}-${spec.hostPortEnd} failed: every port of the range is already allocated`,
        );
      out.push(mapping(spec, chosen, spec.containerPort));
      continue;
    }
    const end = spec.hostPortEnd ?? spec.hostPort;
    for (let p = spec.hostPort; p <= end; p++) {
      if (claimedBy(spec.proto, spec.hostIp, p))
        throw new UserError(`Bind for ${ip}:${p} failed: port is already allocated`);
      const s = socketOnPort(socketsOf(spec.proto), spec.hostIp, p);
      if (s)
        throw new UserError(
          `Bind for ${ip}:${p} failed: port is already in use by a host process (a ${spec.proto} socket on ${s.ip.includes(":") ? `[${s.ip}]` : s.ip}:${p})`,
        );
    }
    out.push(mapping(spec, spec.hostPort, spec.containerPort, end));
  }
  return out;
}
