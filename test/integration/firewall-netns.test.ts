// mini's firewall end to end, entirely inside network namespaces made here (root needed):
//
//   O "outside" eth0 198.51.100.2 ── hout 198.51.100.1  H "host": mini's table, ip_forward
//                                                         ├ mini0 10.77.0.1/24 "front": C1 .2, C2 .3
//                                                         ├ mini1 10.78.0.1/24 "back":  C3 .2
//                                                         └ mini2 10.79.0.1/24 "sealed" (internal): C4 .2
//
// Every firewall operation runs in H (test/helpers/firewall-op.ts under `ip netns exec`); peers are
// test/helpers/netpeer.ts. The host's ruleset must be the same before and after, and a foreign
// table in H must come through every operation unchanged. Processes are killed by PID and the
// namespaces deleted in afterAll, whatever happened.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import type { FirewallState, PortMapping } from "../../src/network/firewall-rules.ts";
import { hostRuleset, Lab, netnsSupported } from "../helpers/netns.ts";

/** Each test waits at most a few 1.5 s timeouts (in parallel). */
const T = 20_000;
const suite = netnsSupported() ? describe : describe.skip;
const netpeer = new URL("../helpers/netpeer.ts", import.meta.url).pathname;
const fwop = new URL("../helpers/firewall-op.ts", import.meta.url).pathname;

const lab = new Lab("f");
const root = mkdtempSync("/tmp/mini-fw-test-");
let hostBefore = "";
let H = "";
let O = "";
const C: Record<string, string> = {};

const FOREIGN = `table inet other {
\tchain filter_fw {
\t\ttype filter hook forward priority filter + 10; policy accept;
\t\tip daddr 203.0.113.7 counter drop comment "foreign rule"
\t}
}
`;

const front = { name: "front", bridge: "mini0", subnet: "10.77.0.0/24", internal: false };
const back = { name: "back", bridge: "mini1", subnet: "10.78.0.0/24", internal: false };
const sealed = { name: "sealed", bridge: "mini2", subnet: "10.79.0.0/24", internal: true };
const p = (containerId: string, proto: "tcp" | "udp", hostPort: number, containerIp: string, containerPort: number) =>
  ({ containerId, proto, hostPort, containerIp, containerPort }) as PortMapping;
const STATE: FirewallState = {
  networks: [front, back, sealed],
  ports: [
    p("c1", "tcp", 8080, "10.77.0.2", 80),
    p("c1", "udp", 5353, "10.77.0.2", 80),
    { ...p("c1", "tcp", 8100, "10.77.0.2", 81), hostPortEnd: 8101 },
    { ...p("c1", "tcp", 9090, "10.77.0.2", 80), hostIp: "127.0.0.1" },
    p("c4", "tcp", 8090, "10.79.0.2", 80), // internal network: not published
  ],
};

function fw(op: string, arg?: unknown): { ok: boolean; out: unknown; err: string } {
  const r = lab.try(H, [
    "env",
    `MINI_ROOT=${root}`,
    "bun",
    fwop,
    op,
    ...(arg === undefined ? [] : [JSON.stringify(arg)]),
  ]);
  return { ok: r.ok, out: r.ok ? JSON.parse(r.stdout) : undefined, err: r.stderr.trim() };
}
const mustFw = (op: string, arg?: unknown) => {
  const r = fw(op, arg);
  if (!r.ok) throw new Error(`firewall ${op}: ${r.err}`);
  return r.out;
};
/** One request from `ns`; the answer is "<server port> <address the server saw>", or TIMEOUT / ERROR … */
const ask = (ns: string, proto: "tcp" | "udp", ip: string, port: number, ms = 1500) =>
  lab.output(ns, ["bun", netpeer, proto, ip, String(port), String(ms)]);
const foreign = () => lab.exec(H, ["nft", "-s", "list", "table", "inet", "other"]);

suite("firewall in network namespaces", () => {
  beforeAll(async () => {
    hostBefore = hostRuleset();
    H = lab.add("h");
    O = lab.add("o");
    lab.veth(H, "hout", O, "eth0");
    lab.exec(H, ["ip", "addr", "add", "198.51.100.1/24", "dev", "hout"]);
    lab.exec(O, ["ip", "addr", "add", "198.51.100.2/24", "dev", "eth0"]);
    // O can even route to the containers' subnets: only published ports may get through.
    lab.exec(O, ["ip", "route", "add", "10.0.0.0/8", "via", "198.51.100.1"]);
    const nets = [
      [front, ["c1", "10.77.0.2"], ["c2", "10.77.0.3"]],
      [back, ["c3", "10.78.0.2"]],
      [sealed, ["c4", "10.79.0.2"]],
    ] as const;
    for (const [net, ...containers] of nets) {
      const gw = net.subnet.replace(/0\/24$/, "1");
      lab.exec(H, ["ip", "link", "add", net.bridge, "type", "bridge"]);
      lab.exec(H, ["ip", "addr", "add", `${gw}/24`, "dev", net.bridge]);
      lab.exec(H, ["ip", "link", "set", net.bridge, "up"]);
      for (const [name, ip] of containers) {
        C[name] = lab.add(name);
        lab.veth(H, `v${name}`, C[name], "eth0");
        lab.exec(H, ["ip", "link", "set", `v${name}`, "master", net.bridge]);
        // What the wiring must do too (docker does without its userland proxy): a container
        // reaching its own published port gets its packets back through the port they came in by.
        lab.exec(H, ["ip", "link", "set", `v${name}`, "type", "bridge_slave", "hairpin", "on"]);
        lab.exec(C[name], ["ip", "addr", "add", `${ip}/24`, "dev", "eth0"]);
        lab.exec(C[name], ["ip", "route", "add", "default", "via", gw]);
      }
    }
    lab.exec(H, ["nft", "-f", "-"], FOREIGN);
    await Promise.all([
      lab.start(C.c1, ["bun", netpeer, "serve", "80", "81", "82"]),
      lab.start(C.c3, ["bun", netpeer, "serve", "80"]),
      lab.start(C.c4, ["bun", netpeer, "serve", "80"]),
      lab.start(O, ["bun", netpeer, "serve", "9000"]),
    ]);
  }, 30_000);

  afterAll(() => {
    lab.cleanup();
    rmSync(root, { recursive: true, force: true });
    if (hostBefore) expect(hostRuleset()).toBe(hostBefore);
  });

  test(
    "ip_forward and route_localnet, set once",
    () => {
      lab.exec(H, ["sysctl", "-qw", "net.ipv4.ip_forward=0"]);
      expect(mustFw("forward")).toBe(true);
      expect(mustFw("forward")).toBe(false);
      expect(lab.exec(H, ["cat", "/proc/sys/net/ipv4/ip_forward"]).trim()).toBe("1");
      expect(mustFw("localnet", "mini0")).toBe(true);
      expect(mustFw("localnet", "mini0")).toBe(false);
      expect(lab.exec(H, ["cat", "/proc/sys/net/ipv4/conf/mini0/route_localnet"]).trim()).toBe("1");
      expect(fw("localnet", "nosuchbridge").err).toContain("ENOENT");
    },
    T,
  );

  test(
    "the table applied is the table read back",
    () => {
      const foreignBefore = foreign();
      mustFw("apply", STATE);
      mustFw("apply", STATE); // replacing is idempotent
      expect(mustFw("state")).toEqual({ networks: STATE.networks, ports: STATE.ports.slice(0, 4) });
      expect(foreign()).toBe(foreignBefore);
      expect(foreign()).toContain('comment "foreign rule"');
    },
    T,
  );

  test(
    "setting the networks keeps the ports that still have one",
    () => {
      mustFw("networks", [front, back]);
      expect(mustFw("state")).toEqual({ networks: [front, back], ports: STATE.ports.slice(0, 4) });
      mustFw("networks", [back]);
      expect(mustFw("state")).toEqual({ networks: [back], ports: [] });
      mustFw("apply", STATE);
    },
    T,
  );

  test(
    "published ports from outside: tcp, udp, ranges; the client's address is kept",
    async () => {
      const [tcp, udp, r0, r1, loopbackOnly, internal] = await Promise.all([
        ask(O, "tcp", "198.51.100.1", 8080),
        ask(O, "udp", "198.51.100.1", 5353),
        ask(O, "tcp", "198.51.100.1", 8100),
        ask(O, "tcp", "198.51.100.1", 8101),
        ask(O, "tcp", "198.51.100.1", 9090),
        ask(O, "tcp", "198.51.100.1", 8090),
      ]);
      expect(tcp).toBe("80 198.51.100.2");
      expect(udp).toBe("80 198.51.100.2");
      expect(r0).toBe("81 198.51.100.2");
      expect(r1).toBe("82 198.51.100.2");
      expect(loopbackOnly).toBe("ERROR ECONNREFUSED"); // published on 127.0.0.1 only
      expect(internal).toBe("ERROR ECONNREFUSED"); // nothing is published from an internal network
    },
    T,
  );

  test(
    "published ports from the host itself, 127.0.0.1 included",
    async () => {
      const [lo, loOnly, own] = await Promise.all([
        ask(H, "tcp", "127.0.0.1", 8080),
        ask(H, "tcp", "127.0.0.1", 9090),
        ask(H, "tcp", "198.51.100.1", 8080),
      ]);
      expect(lo).toBe("80 10.77.0.1"); // 127.0.0.1 masqueraded to the bridge's address
      expect(loOnly).toBe("80 10.77.0.1");
      expect(own).toBe("80 198.51.100.1");
    },
    T,
  );

  test(
    "containers go out masqueraded; an internal network does not go out",
    async () => {
      const [c1, c3, c4] = await Promise.all([
        ask(C.c1, "tcp", "198.51.100.2", 9000),
        ask(C.c3, "udp", "198.51.100.2", 9000),
        ask(C.c4, "tcp", "198.51.100.2", 9000),
      ]);
      expect(c1).toBe("9000 198.51.100.1");
      expect(c3).toBe("9000 198.51.100.1");
      expect(c4).toBe("TIMEOUT");
    },
    T,
  );

  test(
    "isolation: nothing unsolicited reaches a container, from outside or another network",
    async () => {
      const [fromOutside, backToFront, frontToBack, frontToSealed, sealedToFront, sameNetwork] = await Promise.all([
        ask(O, "tcp", "10.77.0.2", 80),
        ask(C.c3, "tcp", "10.77.0.2", 80),
        ask(C.c1, "tcp", "10.78.0.2", 80),
        ask(C.c1, "tcp", "10.79.0.2", 80),
        ask(C.c4, "tcp", "10.77.0.2", 80),
        ask(C.c2, "tcp", "10.77.0.2", 80),
      ]);
      expect([fromOutside, backToFront, frontToBack, frontToSealed, sealedToFront]).toEqual(Array(5).fill("TIMEOUT"));
      expect(sameNetwork).toBe("80 10.77.0.3");
    },
    T,
  );

  test(
    "published ports from containers: hairpin, and from another (non-internal) network",
    async () => {
      const [hairpin, self, otherNetwork, viaGateway, sealedNet] = await Promise.all([
        ask(C.c2, "tcp", "10.77.0.1", 8080),
        ask(C.c1, "tcp", "198.51.100.1", 8080),
        ask(C.c3, "tcp", "198.51.100.1", 8080),
        ask(C.c3, "udp", "10.78.0.1", 5353),
        ask(C.c4, "tcp", "198.51.100.1", 8080),
      ]);
      expect(hairpin).toBe("80 10.77.0.1");
      expect(self).toBe("80 10.77.0.1");
      expect(otherNetwork).toBe("80 10.77.0.1");
      expect(viaGateway).toBe("80 10.77.0.1");
      expect(sealedNet).toBe("TIMEOUT");
    },
    T,
  );

  test(
    "a container's ports added, refused when taken, removed, swept",
    async () => {
      const foreignBefore = foreign();
      mustFw("add", [p("c3", "tcp", 8200, "10.78.0.2", 80)]);
      expect(await ask(O, "tcp", "198.51.100.1", 8200)).toBe("80 198.51.100.2");
      const taken = fw("add", [p("c3", "tcp", 8080, "10.78.0.2", 80)]);
      expect(taken.ok).toBe(false);
      expect(taken.err).toBe("Bind for 0.0.0.0:8080 failed: port is already allocated");

      expect((mustFw("remove", ["c1"]) as PortMapping[]).length).toBe(4);
      expect(await ask(O, "tcp", "198.51.100.1", 8080)).toBe("ERROR ECONNREFUSED");
      expect(await ask(O, "tcp", "198.51.100.1", 8200)).toBe("80 198.51.100.2");
      expect((mustFw("state") as FirewallState).ports.map((x) => x.containerId)).toEqual(["c3"]);

      expect(mustFw("sweep", ["c1"])).toEqual(["c3"]); // only c1 is alive
      expect(mustFw("state")).toEqual({ networks: STATE.networks, ports: [] });
      expect(await ask(O, "tcp", "198.51.100.1", 8200)).toBe("ERROR ECONNREFUSED");
      expect(foreign()).toBe(foreignBefore);
    },
    T,
  );

  test(
    "the chains are mini's own; removing the table leaves the foreign one alone",
    () => {
      const rules = mustFw("rules") as { chain: string }[];
      expect(new Set(rules.map((r) => r.chain))).toEqual(
        new Set(["raw", "prerouting", "output", "postrouting", "forward"]),
      );
      const foreignBefore = foreign();
      mustFw("clear");
      mustFw("clear"); // no table: nothing to do, no error
      expect(lab.try(H, ["nft", "list", "table", "inet", "mini"]).ok).toBe(false);
      expect(mustFw("state")).toEqual({ networks: [], ports: [] });
      expect(foreign()).toBe(foreignBefore);
      expect(lab.exec(H, ["nft", "-s", "list", "ruleset"])).toBe(FOREIGN);
    },
    T,
  );
});
