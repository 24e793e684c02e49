// Published ports without root: -p/-P parsing, the host's sockets from /proc/net tables, and the
// choice of host ports (given ones checked, missing ones picked) against other containers' mappings.
import { describe, expect, test } from "bun:test";
import { UserError } from "../../src/common/errors.ts";
import { parseExposed, parsePublish } from "../../src/config/network-flags.ts";
import type { PortMapping } from "../../src/network/firewall-rules.ts";
import { type HostSocket, parseProcNet, socketOnPort } from "../../src/network/host-ports.ts";
import { choosePorts, type PortEnvironment } from "../../src/network/port-choice.ts";

describe("-p/--publish", () => {
  test("docker's forms", () => {
    expect(parsePublish("80")).toEqual({ proto: "tcp", containerPort: 80 });
    expect(parsePublish("8080:80")).toEqual({ proto: "tcp", hostPort: 8080, containerPort: 80 });
    expect(parsePublish("127.0.0.1:8080:80/udp")).toEqual({
      proto: "udp",
      hostIp: "127.0.0.1",
      hostPort: 8080,
      containerPort: 80,
    });
    expect(parsePublish("127.0.0.1::80")).toEqual({ proto: "tcp", hostIp: "127.0.0.1", containerPort: 80 });
    expect(parsePublish("0.0.0.0:53:53/udp")).toEqual({ proto: "udp", hostPort: 53, containerPort: 53 });
    expect(parsePublish("8000-8002:80-82")).toEqual({
      proto: "tcp",
      hostPort: 8000,
      hostPortEnd: 8002,
      containerPort: 80,
      containerPortEnd: 82,
    });
    expect(parsePublish("8000-8010:80")).toEqual({
      proto: "tcp",
      hostPort: 8000,
      hostPortEnd: 8010,
      containerPort: 80,
    });
    expect(parsePublish("80-82")).toEqual({ proto: "tcp", containerPort: 80, containerPortEnd: 82 });
  });

  test("refused in one line", () => {
    const bad = (v: string, msg: string) => expect(() => parsePublish(v)).toThrow(new UserError(msg));
    bad("8080:80/sctp", 'invalid --publish "8080:80/sctp": unknown protocol "sctp" (tcp or udp)');
    bad("70000:80", 'invalid host port "70000": a port is 1 to 65535');
    bad("8080:0", 'invalid container port "0": a port is 1 to 65535');
    bad("[::1]:80:80", 'invalid --publish "[::1]:80:80": IPv6 host addresses are not supported');
    bad("1.2.3:80:80", 'invalid --publish "1.2.3:80:80": "1.2.3" is not an IPv4 address');
    bad("8000-8001:80-82", 'invalid --publish "8000-8001:80-82": the host range has 2 ports and the container range 3');
    bad("82-80", 'invalid container port "82-80": the range ends before it starts');
    bad("a:b:c:d", 'invalid --publish "a:b:c:d": use [IP:][HOSTPORT:]CONTAINERPORT[/PROTO]');
  });

  test("an image's ExposedPorts", () => {
    expect(parseExposed("80/tcp")).toEqual({ proto: "tcp", containerPort: 80 });
    expect(parseExposed("53/udp")).toEqual({ proto: "udp", containerPort: 53 });
    expect(parseExposed("7000-7002")).toEqual({ proto: "tcp", containerPort: 7000, containerPortEnd: 7002 });
  });
});

describe("the host's sockets", () => {
  const tcp = [
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
    "   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1060 1",
    "   1: 0100007F:B399 0100007F:8322 06 00000000:00000000 03:00001280 00000000     0        0 0 3",
    "   2: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1061 1",
    "   3: 0264A8C0:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1062 1",
    "",
  ].join("\n");
  const tcp6 = [
    "  sl  local_address                         remote_address                        st",
    "   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 0",
    "   1: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A 0",
    "   2: 0000000000000000FFFF00000100007F:1F92 00000000000000000000000000000000:0000 0A 0",
  ].join("\n");

  test("TCP listeners only; addresses in host order; IPv6 wildcard, loopback and v4-mapped", () => {
    expect(parseProcNet(tcp, false, true)).toEqual([
      { ip: "0.0.0.0", port: 2024 },
      { ip: "127.0.0.1", port: 8080 },
      { ip: "192.168.100.2", port: 80 },
    ]);
    expect(parseProcNet(tcp6, true, true)).toEqual([
      { ip: "::", port: 22 },
      { ip: "0:0:0:0:0:0:0:1", port: 8081 },
      { ip: "127.0.0.1", port: 8082 },
    ]);
    // UDP: every bound socket counts, whatever its state.
    expect(parseProcNet(tcp, false, false).length).toBe(4);
  });

  test("which socket a mapping would shadow", () => {
    const s: HostSocket[] = [
      { ip: "127.0.0.1", port: 8080 },
      { ip: "0.0.0.0", port: 2024 },
      { ip: "::", port: 22 },
      { ip: "0:0:0:0:0:0:0:1", port: 8081 },
    ];
    expect(socketOnPort(s, undefined, 8080)).toEqual({ ip: "127.0.0.1", port: 8080 }); // DNAT catches 127.0.0.1 too
    expect(socketOnPort(s, "10.0.0.5", 8080)).toBeUndefined();
    expect(socketOnPort(s, "127.0.0.1", 8080)).toBeDefined();
    expect(socketOnPort(s, "10.0.0.5", 2024)).toBeDefined(); // the wildcard holds every address
    expect(socketOnPort(s, "10.0.0.5", 22)).toBeDefined(); // so may [::]
    expect(socketOnPort(s, undefined, 8081)).toBeUndefined(); // IPv6 loopback: DNAT is IPv4 only
  });
});

describe("choosing host ports", () => {
  const env = (sockets: HostSocket[] = [], range: [number, number] = [40000, 40005]): PortEnvironment => ({
    sockets: () => sockets,
    range: () => range,
  });
  const m = (id: string, hostPort: number, extra: Partial<PortMapping> = {}): PortMapping => ({
    containerId: id,
    proto: "tcp",
    hostPort,
    containerIp: "172.17.0.9",
    containerPort: 80,
    ...extra,
  });

  test("given ports are taken as given; a range one to one", () => {
    const out = choosePorts(
      "c1",
      "172.17.0.2",
      [parsePublish("8080:80"), parsePublish("127.0.0.1:9000-9001:90-91/udp")],
      [],
      env(),
    );
    expect(out).toEqual([
      { containerId: "c1", proto: "tcp", hostPort: 8080, containerIp: "172.17.0.2", containerPort: 80 },
      {
        containerId: "c1",
        proto: "udp",
        hostIp: "127.0.0.1",
        hostPort: 9000,
        hostPortEnd: 9001,
        containerIp: "172.17.0.2",
        containerPort: 90,
      },
    ]);
  });

  test("missing host ports: the lowest free of the range, past other containers' and host sockets", () => {
    const taken = [m("c0", 40000), m("c0", 40002, { proto: "udp" })];
    const out = choosePorts(
      "c1",
      "172.17.0.2",
      [parsePublish("80"), parsePublish("81-82")],
      taken,
      env([{ ip: "0.0.0.0", port: 40001 }]),
    );
    expect(out.map((p) => [p.hostPort, p.containerPort])).toEqual([
      [40002, 80], // udp's 40002 is no obstacle to tcp
      [40003, 81],
      [40004, 82],
    ]);
  });

  test("a host range with one container port: its first free port (docker)", () => {
    const out = choosePorts("c1", "172.17.0.2", [parsePublish("8000-8003:80")], [m("c0", 8000), m("c0", 8001)], env());
    expect(out).toEqual([
      { containerId: "c1", proto: "tcp", hostPort: 8002, containerIp: "172.17.0.2", containerPort: 80 },
    ]);
  });

  test("taken ports: docker's line for another container's, the socket's address for a host process", () => {
    expect(() => choosePorts("c1", "172.17.0.2", [parsePublish("8080:80")], [m("c0", 8080)], env())).toThrow(
      new UserError("Bind for 0.0.0.0:8080 failed: port is already allocated"),
    );
    // Another address than the other container's: no clash.
    expect(
      choosePorts(
        "c1",
        "172.17.0.2",
        [parsePublish("10.0.0.1:8080:80")],
        [m("c0", 8080, { hostIp: "127.0.0.1" })],
        env(),
      ),
    ).toHaveLength(1);
    expect(() =>
      choosePorts("c1", "172.17.0.2", [parsePublish("8080:80")], [], env([{ ip: "127.0.0.1", port: 8080 }])),
    ).toThrow(
      new UserError(
        "Bind for 0.0.0.0:8080 failed: port is already in use by a host process (a tcp socket on 127.0.0.1:8080)",
      ),
    );
    // Within one request too.
    expect(() =>
      choosePorts("c1", "172.17.0.2", [parsePublish("8080:80"), parsePublish("8080:81")], [], env()),
    ).toThrow("Bind for 0.0.0.0:8080 failed: port is already allocated");
    expect(() =>
      choosePorts("c1", "172.17.0.2", [parsePublish("8000-8001:80")], [m("c0", 8000, { hostPortEnd: 8001 })], env()),
    ).toThrow("Bind for 0.0.0.0:8000-8001 failed: every port of the range is already allocated");
    expect(() =>
      choosePorts("c1", "172.17.0.2", [parsePublish("80")], [], env([{ ip: "0.0.0.0", port: 40000 }], [40000, 40000])),
    ).toThrow("no free host port for 80/tcp on 0.0.0.0 in 40000-40000");
  });
});
