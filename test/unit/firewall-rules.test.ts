import { describe, expect, test } from "bun:test";
import { UserError } from "../../src/common/errors.ts";
import { staleContainers } from "../../src/network/firewall.ts";
import {
  type FirewallState,
  type PortMapping,
  parsePortComment,
  portComment,
  renderAddPorts,
  renderRuleset,
  stateFromComments,
} from "../../src/network/firewall-rules.ts";

const bridge = { name: "bridge", bridge: "mini0", subnet: "172.17.0.0/16", internal: false };
const backend = { name: "backend", bridge: "mini-3fa2b1c9de", subnet: "172.18.0.0/16", internal: true };
const front = { name: "front", bridge: "mini-front", subnet: "192.168.16.0/20", internal: false };
const web: PortMapping = {
  containerId: "web",
  proto: "tcp",
  hostPort: 8080,
  containerIp: "172.17.0.2",
  containerPort: 80,
};

const comments = (script: string) => [...script.matchAll(/comment "([^"]*)"/g)].map((m) => m[1]);
/** The lines of one chain of a rendered script. */
const chain = (script: string, name: string) => {
  const lines = script.split("\n");
  const start = lines.indexOf(`\tchain ${name} {`);
  if (start < 0) throw new Error(`no chain ${name}`);
  return lines.slice(start + 1, lines.indexOf("\t}", start)).map((l) => l.trim());
};

describe("renderRuleset", () => {
  test("the whole table, replaced in one transaction", () => {
    const script = renderRuleset({
      networks: [bridge, backend],
      ports: [
        web,
        {
          containerId: "web",
          proto: "udp",
          hostIp: "127.0.0.1",
          hostPort: 5353,
          containerIp: "172.17.0.2",
          containerPort: 53,
        },
        { containerId: "db", proto: "tcp", hostPort: 5432, containerIp: "172.18.0.2", containerPort: 5432 },
      ],
    });
    expect(script).toBe(`table inet mini
delete table inet mini
table inet mini {
\tchain raw {
\t\ttype filter hook prerouting priority raw; policy accept;
\t\tiifname "mini0" ip daddr 127.0.0.0/8 drop
\t\tiifname "mini-3fa2b1c9de" ip daddr 127.0.0.0/8 drop
\t}
\tchain prerouting {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tmeta nfproto ipv4 fib daddr type local jump ports
\t}
\tchain output {
\t\ttype nat hook output priority -100; policy accept;
\t\tmeta nfproto ipv4 fib daddr type local jump ports
\t}
\tchain ports {
\t\ttcp dport 8080 dnat ip to 172.17.0.2:80 comment "port web tcp * 8080 172.17.0.2 80"
\t\tip daddr 127.0.0.1 udp dport 5353 dnat ip to 172.17.0.2:53 comment "port web udp 127.0.0.1 5353 172.17.0.2 53"
\t}
\tchain postrouting {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tip saddr 172.17.0.0/16 oifname != "mini0" masquerade
\t\toifname "mini0" ip saddr 172.17.0.0/16 ct status dnat masquerade
\t\toifname "mini0" ip saddr 127.0.0.0/8 masquerade
\t}
\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\tct state established,related accept
\t\tiifname "mini0" oifname "mini0" accept comment "net bridge mini0 172.17.0.0/16"
\t\tiifname "mini-3fa2b1c9de" oifname "mini-3fa2b1c9de" accept comment "net backend mini-3fa2b1c9de 172.18.0.0/16 internal"
\t\tiifname "mini-3fa2b1c9de" drop
\t\toifname "mini0" ct status dnat accept
\t\toifname "mini0" drop
\t\toifname "mini-3fa2b1c9de" drop
\t\tiifname "mini0" accept
\t}
}
`);
  });

  test("nothing to describe: the table is only deleted", () => {
    expect(renderRuleset({ networks: [], ports: [] })).toBe("table inet mini\ndelete table inet mini\n");
  });

  test("only mini's table is named", () => {
    const script = renderRuleset({ networks: [bridge, backend, front], ports: [web] });
    const tables = [...script.matchAll(/table (\S+) (\S+)/g)].map((m) => `${m[1]} ${m[2]}`);
    expect(new Set(tables)).toEqual(new Set(["inet mini"]));
    expect(script).not.toMatch(/flush|ruleset/);
  });

  test("isolation: traffic into a bridge is dropped unless established, from itself, or published", () => {
    const fwd = chain(renderRuleset({ networks: [bridge, front], ports: [] }), "forward");
    const idx = (rule: string) => fwd.findIndex((r) => r.startsWith(rule));
    for (const b of ["mini0", "mini-front"]) {
      expect(idx(`oifname "${b}" drop`)).toBeGreaterThan(idx("ct state established,related accept"));
      expect(idx(`oifname "${b}" drop`)).toBeGreaterThan(idx(`iifname "${b}" oifname "${b}" accept`));
      expect(idx(`oifname "${b}" drop`)).toBeGreaterThan(idx(`oifname "${b}" ct status dnat accept`));
      // the way out comes after every drop into a bridge, so it can't reach another mini network
      expect(idx(`iifname "${b}" accept`)).toBeGreaterThan(idx('oifname "mini0" drop'));
      expect(idx(`iifname "${b}" accept`)).toBeGreaterThan(idx('oifname "mini-front" drop'));
    }
  });

  test("an internal network has no way out and publishes nothing", () => {
    const script = renderRuleset({
      networks: [backend],
      ports: [{ containerId: "db", proto: "tcp", hostPort: 5432, containerIp: "172.18.0.2", containerPort: 5432 }],
    });
    expect(chain(script, "postrouting")).toEqual(["type nat hook postrouting priority srcnat; policy accept;"]);
    expect(chain(script, "ports")).toEqual([]);
    expect(chain(script, "forward")).toEqual([
      "type filter hook forward priority filter; policy accept;",
      "ct state established,related accept",
      'iifname "mini-3fa2b1c9de" oifname "mini-3fa2b1c9de" accept comment "net backend mini-3fa2b1c9de 172.18.0.0/16 internal"',
      'iifname "mini-3fa2b1c9de" drop',
      'oifname "mini-3fa2b1c9de" drop',
    ]);
  });

  test("port ranges map one to one", () => {
    const ports = (p: Partial<PortMapping>) =>
      chain(renderRuleset({ networks: [bridge], ports: [{ ...web, ...p }] }), "ports")[0];
    expect(ports({ hostPort: 8000, hostPortEnd: 8002, containerPort: 8000 })).toBe(
      'tcp dport 8000-8002 dnat ip to 172.17.0.2 comment "port web tcp * 8000-8002 172.17.0.2 8000"',
    );
    expect(ports({ hostPort: 8000, hostPortEnd: 8002, containerPort: 80 })).toBe(
      'tcp dport 8000-8002 dnat ip to 172.17.0.2 : tcp dport map { 8000 : 80, 8001 : 81, 8002 : 82 } comment "port web tcp * 8000-8002 172.17.0.2 80"',
    );
    expect(ports({ proto: "udp", hostIp: "10.0.0.5", hostPort: 53, hostPortEnd: 53, containerPort: 5353 })).toBe(
      'ip daddr 10.0.0.5 udp dport 53 dnat ip to 172.17.0.2:5353 comment "port web udp 10.0.0.5 53 172.17.0.2 5353"',
    );
    expect(ports({ hostIp: "0.0.0.0" })).toStartWith("tcp dport 8080 dnat");
    expect(ports({ hostIp: "" })).toStartWith("tcp dport 8080 dnat");
  });

  test("a host port claimed twice: docker's message", () => {
    const render = (...ports: Partial<PortMapping>[]) =>
      renderRuleset({ networks: [bridge], ports: ports.map((p, i) => ({ ...web, containerId: `c${i}`, ...p })) });
    expect(() => render({}, {})).toThrow(new UserError("Bind for 0.0.0.0:8080 failed: port is already allocated"));
    expect(() => render({ hostIp: "10.0.0.1" }, {})).toThrow("Bind for 0.0.0.0:8080 failed");
    expect(() => render({}, { hostIp: "10.0.0.1" })).toThrow("Bind for 10.0.0.1:8080 failed");
    expect(() => render({ hostPort: 8000, hostPortEnd: 8100 }, { hostPort: 8100 })).toThrow("Bind for 0.0.0.0:8100");
    expect(() => render({}, { proto: "udp" })).not.toThrow();
    expect(() => render({ hostIp: "10.0.0.1" }, { hostIp: "10.0.0.2" })).not.toThrow();
    expect(() => render({ hostPort: 8000, hostPortEnd: 8079 }, {})).not.toThrow();
  });

  test("rejects what can't be rendered", () => {
    const bad = (s: Partial<FirewallState> & { port?: Partial<PortMapping> }) => () =>
      renderRuleset({ networks: s.networks ?? [bridge], ports: s.port ? [{ ...web, ...s.port }] : [] });
    expect(bad({ networks: [{ ...bridge, bridge: "a-very-long-bridge" }] })).toThrow('invalid bridge name "a-very');
    expect(bad({ networks: [{ ...bridge, bridge: 'x"y' }] })).toThrow("invalid bridge name");
    expect(bad({ networks: [{ ...bridge, name: "-x" }] })).toThrow('invalid network name "-x"');
    expect(bad({ networks: [{ ...bridge, subnet: "172.17.0.0" }] })).toThrow('invalid CIDR "172.17.0.0"');
    expect(bad({ networks: [bridge, { ...front, subnet: "172.17.128.0/17" }] })).toThrow(
      '"bridge" and "front" overlap',
    );
    expect(bad({ networks: [bridge, { ...front, bridge: "mini0" }] })).toThrow('bridge "mini0" used by');
    expect(bad({ networks: [bridge, { ...front, name: "bridge" }] })).toThrow('network "bridge" listed twice');
    expect(bad({ port: { containerId: "a b" } })).toThrow('invalid container id "a b"');
    expect(bad({ port: { containerId: "x".repeat(65) } })).toThrow("invalid container id");
    expect(bad({ port: { proto: "sctp" as "tcp" } })).toThrow('invalid protocol "sctp"');
    expect(bad({ port: { hostPort: 0 } })).toThrow("invalid host port 0");
    expect(bad({ port: { hostPort: 70000 } })).toThrow("invalid host port");
    expect(bad({ port: { hostPort: 9000, hostPortEnd: 8000 } })).toThrow("invalid host port 9000-8000");
    expect(bad({ port: { hostPort: 65000, hostPortEnd: 65010, containerPort: 65530 } })).toThrow(
      "invalid container port 65530",
    );
    expect(bad({ port: { containerIp: "172.17.0" } })).toThrow('invalid container IP "172.17.0"');
    expect(bad({ port: { containerIp: "10.9.9.9" } })).toThrow("10.9.9.9 is in no mini network");
    expect(bad({ port: { hostIp: "::1" } })).toThrow(
      new UserError('invalid host IP "::1" for a published port: only IPv4 addresses are supported'),
    );
  });
});

describe("state read back from the rules' comments", () => {
  const state: FirewallState = {
    networks: [bridge, backend, front],
    ports: [
      web,
      {
        containerId: "web",
        proto: "udp",
        hostIp: "127.0.0.1",
        hostPort: 5353,
        containerIp: "172.17.0.2",
        containerPort: 53,
      },
      {
        containerId: "api",
        proto: "tcp",
        hostPort: 9000,
        hostPortEnd: 9009,
        containerIp: "192.168.16.5",
        containerPort: 90,
      },
    ],
  };

  test("round trip", () => {
    expect(stateFromComments(comments(renderRuleset(state)))).toEqual(state);
  });

  test("the longest comment fits nft's 128 bytes", () => {
    const p: PortMapping = {
      containerId: "f".repeat(64),
      proto: "tcp",
      hostIp: "255.255.255.255",
      hostPort: 65000,
      hostPortEnd: 65535,
      containerIp: "172.255.255.255",
      containerPort: 65000,
    };
    expect(portComment(p).length).toBeLessThanOrEqual(128);
    expect(parsePortComment(portComment(p))).toEqual(p);
  });

  test("other comments are ignored", () => {
    expect(stateFromComments(["hello", "port x", "net a b", "net a b c d"])).toEqual({ networks: [], ports: [] });
  });

  test("containers that are gone", () => {
    expect(staleContainers(state, (id) => id === "web")).toEqual(["api"]);
    expect(staleContainers(state, () => true)).toEqual([]);
  });
});

describe("renderAddPorts", () => {
  const current: FirewallState = { networks: [bridge, backend], ports: [web] };

  test("only add-rule statements, for ports outside internal networks", () => {
    const script = renderAddPorts(current, [
      { containerId: "b", proto: "tcp", hostPort: 8081, containerIp: "172.17.0.3", containerPort: 80 },
      { containerId: "db", proto: "tcp", hostPort: 5432, containerIp: "172.18.0.2", containerPort: 5432 },
    ]);
    expect(script).toBe(
      'add rule inet mini ports tcp dport 8081 dnat ip to 172.17.0.3:80 comment "port b tcp * 8081 172.17.0.3 80"\n',
    );
  });

  test("checks the merged state", () => {
    expect(() => renderAddPorts(current, [{ ...web, containerId: "other" }])).toThrow(
      "Bind for 0.0.0.0:8080 failed: port is already allocated",
    );
    expect(() => renderAddPorts({ networks: [], ports: [] }, [web])).toThrow("172.17.0.2 is in no mini network");
  });
});
