// Container networking end to end, through dist/mini as a user runs it, entirely inside network
// namespaces made here (root needed); the host's interfaces and firewall are never touched, and no
// packet goes anywhere but between these namespaces:
//
//   O "outside"  eth0 198.51.100.1/24 ── hout 198.51.100.2/24   H: every mini runs here
//   netpeer serve 80 (tcp, udp)          mtu 1400                (nsenter --net), default route
//                                                                via O, a store of its own
//                                                                (MINI_ROOT, MINI_RUN_ROOT), and a
//                                                                foreign nftables table
//
// Containers run test/fixtures/netecho (answers "<port> <peer address>", so NAT shows) and busybox.
// Every test removes its containers; afterAll removes everything whatever happened (the namespaces
// with all that is in them, processes by PID, the store), then checks the host is as it was.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { leftBehind, NOTHING, type Snapshot, snapshot } from "../helpers/leaks.ts";
import { ensureBuilt, MINI, type Result, run } from "../helpers/mini.ts";
import { installNetecho } from "../helpers/netecho.ts";
import { hostRuleset, Lab, netnsSupported } from "../helpers/netns.ts";
import { cleanupRootfses, makeRootfs } from "../helpers/rootfs.ts";
import { until } from "../helpers/until.ts";

const suite = netnsSupported() ? describe : describe.skip;
const netpeer = new URL("../helpers/netpeer.ts", import.meta.url).pathname;
const T = 60_000;

const lab = new Lab("n");
let H = "";
let O = "";
const dirs = mkdtempSync("/tmp/mini-net-test-");
chmodSync(dirs, 0o711); // a --userns container's root (uid 100000) must reach its /etc files under it
// MINI_DEFAULT_NETWORK empty: the default network is bridge, as for any user (test/setup.ts sets none).
const env = {
  PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
  MINI_ROOT: `${dirs}/lib`,
  MINI_RUN_ROOT: `${dirs}/run`,
  MINI_DEFAULT_NETWORK: "",
};
const saved = { root: process.env.MINI_ROOT, run: process.env.MINI_RUN_ROOT };
let rootfs = "";
let hostBefore = "";
let hostLinksBefore: string[] = [];
let before: Snapshot;

const FOREIGN = `table inet other {
\tchain filter_fw {
\t\ttype filter hook forward priority filter + 10; policy accept;
\t\tip daddr 203.0.113.7 counter drop comment "foreign rule"
\t}
}
`;
let foreignBefore = "";

/** An HTTP GET with bun's fetch (in the namespace `ip netns exec` put it in): the body, or nothing. */
const FETCH =
  "fetch(process.argv[1], { signal: AbortSignal.timeout(2000) }).then(async (r) => r.ok && console.log(await r.text())).catch(() => {})";

/** mini in H. */
const m = (args: string[], timeoutMs = 30_000): Promise<Result> =>
  run(["nsenter", `--net=/run/netns/${H}`, MINI, ...args], { env, timeoutMs });
async function ok(args: string[], timeoutMs = 30_000): Promise<string> {
  const r = await m(args, timeoutMs);
  if (r.code !== 0) throw new Error(`mini ${args.join(" ")}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}
/** A shell command in a running container. */
const inside = (c: string, script: string) => ok(["exec", c, "sh", "-c", script]);
/** A detached container serving netecho on `ports`, with mini run flags before the rootfs. */
const server = (flags: string[], ports = ["80"]) => ok(["run", "-d", ...flags, rootfs, "/netecho", "serve", ...ports]);
const ipOf = async (c: string, network?: string) =>
  ok([
    "inspect",
    "-f",
    network ? `{{(index .NetworkSettings.Networks "${network}").IPAddress}}` : "{{.NetworkSettings.IPAddress}}",
    c,
  ]);
/** One request from H or O; "<port> <address the server saw>", or TIMEOUT / ERROR … */
const ask = (ns: string, proto: "tcp" | "udp", ip: string, port: number, ms = 1500) =>
  lab.output(ns, ["bun", netpeer, proto, ip, String(port), String(ms)]);
const removeAll = async () => {
  const ids = (await m(["ps", "-aq"])).stdout.split("\n").filter(Boolean);
  if (ids.length) await m(["rm", "-f", ...ids], 60_000);
};
/** What H holds of mini's: veths, published ports, leases in use. */
const inH = (cmd: string[]) => lab.exec(H, cmd);
const veths = () =>
  inH(["ip", "-o", "link", "show"])
    .split("\n")
    .map((l) => l.split(": ")[1]?.split("@")[0])
    .filter((n): n is string => !!n && n.startsWith("mv"));
const portRules = () =>
  inH(["nft", "list", "chain", "inet", "mini", "ports"])
    .split("\n")
    .filter((l) => l.includes("dnat"));
function leases(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const f of readdirSync(`${env.MINI_ROOT}/networks`))
      if (f.endsWith(".leases.json"))
        out[f] = Object.keys(JSON.parse(readFileSync(`${env.MINI_ROOT}/networks/${f}`, "utf8")).leases).length;
  } catch {}
  return out;
}
const noLeases = () => Object.values(leases()).every((n) => n === 0);
const hostLinks = () =>
  run(["ip", "-o", "link", "show"]).then((r) =>
    r.stdout
      .split("\n")
      .map((l) => l.split(": ")[1]?.split("@")[0] ?? "")
      .filter((n) => n === "mini0" || n.startsWith("mv") || n.startsWith("mini-")),
  );

suite("networking", () => {
  beforeAll(async () => {
    ensureBuilt();
    hostBefore = hostRuleset();
    hostLinksBefore = await hostLinks();
    H = lab.add("h");
    O = lab.add("o");
    lab.veth(H, "hout", O, "eth0");
    lab.exec(H, ["ip", "link", "set", "hout", "mtu", "1400"]);
    lab.exec(O, ["ip", "link", "set", "eth0", "mtu", "1400"]);
    lab.exec(H, ["ip", "addr", "add", "198.51.100.2/24", "dev", "hout"]);
    lab.exec(O, ["ip", "addr", "add", "198.51.100.1/24", "dev", "eth0"]);
    lab.exec(H, ["ip", "route", "add", "default", "via", "198.51.100.1"]);
    lab.exec(H, ["nft", "-f", "-"], FOREIGN);
    foreignBefore = lab.exec(H, ["nft", "-s", "list", "table", "inet", "other"]);
    mkdirSync(env.MINI_RUN_ROOT, { recursive: true });
    process.env.MINI_ROOT = env.MINI_ROOT;
    process.env.MINI_RUN_ROOT = env.MINI_RUN_ROOT;
    rootfs = makeRootfs();
    installNetecho(rootfs);
    await lab.start(O, ["bun", netpeer, "serve", "80"]);
    before = snapshot();
  }, T);

  afterAll(async () => {
    try {
      if (H) await removeAll();
    } finally {
      lab.cleanup();
      rmSync(dirs, { recursive: true, force: true });
      cleanupRootfses();
      for (const [k, v] of [
        ["MINI_ROOT", saved.root],
        ["MINI_RUN_ROOT", saved.run],
      ] as const)
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
    if (hostBefore) expect(hostRuleset()).toBe(hostBefore);
    expect(await hostLinks()).toEqual(hostLinksBefore);
  }, T);

  test(
    "lo is up in a new network namespace: --network none, and an OCI bundle's",
    async () => {
      const out = await ok([
        "run",
        "--network",
        "none",
        rootfs,
        "sh",
        "-c",
        "ip -o link show | cut -d: -f2 | tr -d ' ' | tr '\\n' ' '; echo; /netecho serve 7 >/dev/null & sleep 0.3; /netecho tcp 127.0.0.1 7; ping -c1 -W1 127.0.0.1 >/dev/null && echo ping-ok",
      ]);
      expect(out.split("\n")).toEqual(["lo ", "7 127.0.0.1", "ping-ok"]);
      const bundle = `${dirs}/bundle`;
      mkdirSync(bundle);
      await ok(["spec", "--bundle", bundle]);
      const cfg = JSON.parse(readFileSync(`${bundle}/config.json`, "utf8"));
      cfg.root = { path: rootfs };
      cfg.process.terminal = false;
      cfg.process.args = ["ping", "-c1", "-W1", "127.0.0.1"];
      writeFileSync(`${bundle}/config.json`, JSON.stringify(cfg));
      expect(cfg.linux.namespaces.some((n: { type: string }) => n.type === "network")).toBe(true);
      const r = await m(["run", "--bundle", bundle]);
      expect(r.stdout).toContain("1 packets received");
      expect(r.code).toBe(0);
    },
    T,
  );

  test(
    "the default bridge: address, route, MTU of the default-route interface, resolv.conf, hosts; sysctls",
    async () => {
      const out = await ok([
        "run",
        "--hostname",
        "box",
        rootfs,
        "sh",
        "-c",
        "ip -4 -o addr show eth0; echo ---; ip route; echo ---; cat /sys/class/net/eth0/mtu; echo ---; cat /etc/resolv.conf; echo ---; cat /etc/hosts",
      ]);
      const [addr, routes, mtu, resolv, hosts] = out.split("---\n").map((s) => s.trim());
      const ip = /inet (172\.17\.0\.\d+)\/16/.exec(addr)?.[1];
      expect(ip).toBeDefined();
      expect(routes.split("\n")).toContain("default via 172.17.0.1 dev eth0 ");
      expect(mtu).toBe("1400");
      // docker's resolv.conf for its bridge: the host's without loopback resolvers (or its fallback).
      const hostServers = readFileSync("/etc/resolv.conf", "utf8")
        .split("\n")
        .flatMap((l) => /^nameserver\s+(\d+\.\d+\.\d+\.\d+)/.exec(l)?.[1] ?? [])
        .filter((s) => !s.startsWith("127."));
      const servers = resolv.split("\n").flatMap((l) => /^nameserver\s+(\S+)/.exec(l)?.[1] ?? []);
      expect(servers).toEqual(hostServers.length ? hostServers : ["8.8.8.8", "8.8.4.4"]);
      expect(hosts.split("\n")).toContain("127.0.0.1\tlocalhost");
      expect(hosts.split("\n").filter((l) => l.startsWith(`${ip}\tbox `))).toHaveLength(1); // hostname, name
      // In H: the bridge with the gateway, the default-route interface's MTU, and the sysctls.
      expect(inH(["ip", "-4", "-o", "addr", "show", "mini0"])).toContain("inet 172.17.0.1/16");
      expect(inH(["cat", "/sys/class/net/mini0/mtu"]).trim()).toBe("1400");
      expect(inH(["cat", "/proc/sys/net/ipv4/ip_forward"]).trim()).toBe("1");
      expect(inH(["cat", "/proc/sys/net/ipv4/conf/mini0/route_localnet"]).trim()).toBe("1");
    },
    T,
  );

  test(
    "containers on the default bridge reach each other by address only; outbound goes through NAT",
    async () => {
      await server(["--name", "a"]);
      const ipA = await ipOf("a");
      const out = await ok([
        "run",
        rootfs,
        "sh",
        "-c",
        `ip -4 -o addr show eth0 | cut -d' ' -f7 | cut -d/ -f1; /netecho tcp ${ipA} 80; grep -cw a /etc/hosts; /netecho tcp 198.51.100.1 80; /netecho udp 198.51.100.1 80`,
      ]);
      const [me, direct, byName, tcpOut, udpOut] = out.split("\n");
      expect(direct).toBe(`80 ${me}`); // no NAT between containers
      expect(byName).toBe("0"); // no names on the default bridge (docker's); no lookup leaves H either
      expect(tcpOut).toBe("80 198.51.100.2"); // masqueraded to H's address
      expect(udpOut).toBe("80 198.51.100.2");
      await ok(["rm", "-f", "a"]);
    },
    T,
  );

  test(
    "published ports, tcp and udp: at 127.0.0.1, at the host's address, from outside, and to itself",
    async () => {
      await server([
        "--name",
        "pub",
        "-p",
        "8080:80",
        "-p",
        "8080:80/udp",
        "-p",
        "127.0.0.1:9090:80",
        "-p",
        "127.0.0.1:9090:80/udp",
      ]);
      const ip = await ipOf("pub");
      for (const proto of ["tcp", "udp"] as const) {
        expect(await ask(H, proto, "127.0.0.1", 8080)).toMatch(/^80 172\.17\.0\.1$/); // 127.0.0.1 → masqueraded
        expect(await ask(H, proto, "198.51.100.2", 8080)).toMatch(/^80 /);
        expect(await ask(O, proto, "198.51.100.2", 8080)).toBe("80 198.51.100.1"); // the client's own address
        expect(await ask(H, proto, "127.0.0.1", 9090)).toMatch(/^80 /);
        expect(await ask(O, proto, "198.51.100.2", 9090, 800)).not.toMatch(/^80 /); // 9090 is 127.0.0.1's only
      }
      // The container reaching its own published port (hairpin), and a neighbour reaching it.
      expect(await inside("pub", "/netecho tcp 198.51.100.2 8080")).toMatch(/^80 /);
      expect(await ok(["run", rootfs, "/netecho", "tcp", "198.51.100.2", "8080"])).toMatch(/^80 /);
      expect((await ok(["port", "pub"])).split("\n").sort()).toEqual([
        "80/tcp -> 0.0.0.0:8080",
        "80/tcp -> 127.0.0.1:9090",
        "80/udp -> 0.0.0.0:8080",
        "80/udp -> 127.0.0.1:9090",
      ]);
      expect(await ok(["port", "pub", "80/udp"])).toBe("0.0.0.0:8080\n127.0.0.1:9090");
      expect(await ok(["ps"])).toMatch(
        /0\.0\.0\.0:8080->80\/tcp, 0\.0\.0\.0:8080->80\/udp, 127\.0\.0\.1:9090->80\/tcp/,
      );
      expect(JSON.parse(await ok(["inspect", "-f", "{{json .NetworkSettings.Ports}}", "pub"]))).toEqual({
        "80/tcp": [
          { HostIp: "0.0.0.0", HostPort: "8080" },
          { HostIp: "127.0.0.1", HostPort: "9090" },
        ],
        "80/udp": [
          { HostIp: "0.0.0.0", HostPort: "8080" },
          { HostIp: "127.0.0.1", HostPort: "9090" },
        ],
      });
      expect(await ipOf("pub")).toBe(ip);
      await ok(["rm", "-f", "pub"]);
      expect(portRules()).toEqual([]);
      expect(await ask(H, "tcp", "127.0.0.1", 8080, 800)).not.toMatch(/^80 /);
    },
    T,
  );

  test(
    "a free host port when none is given; -P with the image's exposed ports; a range",
    async () => {
      await ok(["import", "-c", "EXPOSE 80", "-c", "EXPOSE 81/udp", rootfs, "echoer"]);
      await ok([
        "run",
        "-d",
        "--name",
        "rnd",
        "-p",
        "80",
        "-p",
        "7000-7001:90-91",
        rootfs,
        "/netecho",
        "serve",
        "80",
        "90",
        "91",
      ]);
      const port = Number((await ok(["port", "rnd", "80"])).split(":")[1]);
      expect(port).toBeGreaterThan(1023);
      expect(await ask(H, "tcp", "198.51.100.2", port)).toMatch(/^80 /);
      expect(await ask(O, "tcp", "198.51.100.2", 7001)).toBe("91 198.51.100.1");
      await ok(["run", "-d", "--name", "all", "-P", "echoer", "/netecho", "serve", "80", "81"]);
      const lines = (await ok(["port", "all"])).split("\n").sort();
      expect(lines.map((l) => l.split(" -> ")[0])).toEqual(["80/tcp", "81/udp"]);
      const udpPort = Number(lines[1].split(":")[1]);
      expect(await ask(O, "udp", "198.51.100.2", udpPort)).toBe("81 198.51.100.1");
      await ok(["rm", "-f", "rnd", "all"]);
    },
    T,
  );

  test(
    "a host port taken by another container or by a host process: exit 125, one line naming it, nothing left",
    async () => {
      await server(["--name", "holder", "-p", "8081:80"]);
      const listener = await lab.start(H, ["bun", netpeer, "serve", "7070"]);
      const ids = (await ok(["ps", "-aq"])).split("\n");
      const rules = portRules();
      const l0 = leases();
      const byContainer = await m(["run", "-p", "8081:80", rootfs, "true"]);
      expect(byContainer.code).toBe(125);
      expect(byContainer.stderr).toBe("mini: Bind for 0.0.0.0:8081 failed: port is already allocated\n");
      const byHost = await m(["run", "-d", "-p", "7070:80/udp", rootfs, "true"]);
      expect(byHost.code).toBe(125);
      expect(byHost.stderr.trim().split("\n")).toHaveLength(1);
      expect(byHost.stderr).toContain("0.0.0.0:7070 failed: port is already in use by a host process");
      expect((await ok(["ps", "-aq"])).split("\n")).toEqual(ids);
      expect(portRules()).toEqual(rules);
      expect(leases()).toEqual(l0);
      process.kill(listener, "SIGKILL");
      await ok(["rm", "-f", "holder"]);
    },
    T,
  );

  test(
    "the README's example: a web server published on 8080, reached from outside",
    async () => {
      writeFileSync(`${rootfs}/index.html`, "hello from mini\n");
      await ok(["import", rootfs, "busybox"]);
      const id = await ok(["run", "-d", "-p", "8080:80", "--name", "web", "busybox", "httpd", "-f", "-p", "80"]);
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      const page = await until(() => lab.output(O, ["bun", "-e", FETCH, "http://198.51.100.2:8080/index.html"]), {
        timeoutMs: 10_000,
        what: "httpd to answer",
      });
      expect(page).toBe("hello from mini");
      await ok(["rm", "-f", "web"]);
    },
    T,
  );

  test(
    "a user network: names, aliases and short ids resolve; a restarted peer is found at its new address",
    async () => {
      expect(await ok(["network", "create", "front"])).toMatch(/^[0-9a-f]{64}$/);
      const web = await server(["--network", "front", "--name", "web", "--network-alias", "www"]);
      await ok(["run", "-d", "--network", "front", "--name", "db", rootfs, "sleep", "1000"]);
      const dbIp = await ipOf("db", "front");
      for (const name of ["web", "www", web.slice(0, 12)])
        expect(await inside("db", `echo | nc ${name} 80`)).toBe(`80 ${dbIp}`);
      expect(await ok(["inspect", "-f", '{{(index .NetworkSettings.Networks "front").Aliases}}', "web"])).toBe("[www]");
      const before = await ipOf("web", "front");
      await ok(["stop", "-t", "1", "web"]);
      expect(await inside("db", "cat /etc/hosts")).not.toContain(before); // gone while stopped
      await server(["--network", "front", "--name", "filler"]); // takes the next address
      await ok(["start", "web"]);
      const after = await ipOf("web", "front");
      expect(after).not.toBe(before);
      expect(await inside("db", "ping -c1 -W1 web | head -1")).toBe(`PING web (${after}): 56 data bytes`);
      expect(await inside("db", "echo | nc www 80")).toBe(`80 ${dbIp}`);
      // The restarted container's own file lists the others again.
      expect(await inside("web", "cat /etc/hosts")).toContain(`${dbIp}\tdb`);
      const members = await ok(["network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{end}}", "front"]);
      expect(members.split(" ").sort()).toEqual(["db", "filler", "web"]);
      await ok(["rm", "-f", "filler"]);
    },
    T,
  );

  test(
    "isolation: a user network and the default bridge don't reach each other",
    async () => {
      await ok(["network", "create", "back"]);
      await server(["--network", "back", "--name", "b1"]);
      await server(["--name", "d1"]);
      const [b1, d1, web] = [await ipOf("b1", "back"), await ipOf("d1"), await ipOf("web", "front")];
      expect(await inside("db", `/netecho tcp ${b1} 80 800`)).not.toMatch(/^80 /);
      expect(await inside("db", `/netecho tcp ${d1} 80 800`)).not.toMatch(/^80 /);
      expect(await inside("b1", `/netecho tcp ${web} 80 800`)).not.toMatch(/^80 /);
      expect(await inside("d1", `/netecho tcp ${b1} 80 800`)).not.toMatch(/^80 /);
      expect(await inside("b1", "/netecho tcp 198.51.100.1 80")).toBe("80 198.51.100.2"); // each has its way out
      await ok(["rm", "-f", "b1", "d1"]);
      await ok(["network", "rm", "back"]);
    },
    T,
  );

  test(
    "--internal: members reach each other, nothing else",
    async () => {
      await ok(["network", "create", "--internal", "sealed"]);
      await server(["--network", "sealed", "--name", "s1"]);
      const s1 = await ipOf("s1", "sealed");
      const out = await ok([
        "run",
        "--network",
        "sealed",
        rootfs,
        "sh",
        "-c",
        `/netecho tcp ${s1} 80; /netecho tcp 198.51.100.1 80 800; /netecho udp 198.51.100.1 80 800; /netecho tcp ${await ipOf("web", "front")} 80 800`,
      ]);
      const [peer, ...out2] = out.split("\n");
      expect(peer).toMatch(/^80 /);
      for (const l of out2) expect(l).not.toMatch(/^80 /);
      await ok(["rm", "-f", "s1"]);
      await ok(["network", "rm", "sealed"]);
    },
    T,
  );

  test(
    "connect and disconnect a running container",
    async () => {
      await ok(["run", "-d", "--name", "roam", rootfs, "sleep", "1000"]);
      const subnet = await ok(["network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", "front"]);
      await ok(["network", "connect", "--alias", "wanderer", "front", "roam"]);
      const addrs = await inside("roam", "ip -4 -o addr show | cut -d' ' -f2,7");
      const eth1 = /eth1 (\S+)/.exec(addrs)?.[1];
      expect(eth1?.split("/")[1]).toBe(subnet.split("/")[1]);
      const dbIp = await ipOf("db", "front");
      expect(await inside("roam", "echo | nc web 80")).toBe(`80 ${eth1?.split("/")[0]}`);
      expect(await inside("db", "cat /etc/hosts")).toContain("roam wanderer");
      expect(await ok(["network", "connect", "front", "roam"]).catch((e) => String(e))).toContain("already connected");
      await ok(["network", "disconnect", "front", "roam"]);
      expect(await inside("roam", "ip -o link show | grep -c eth1 || true")).toBe("0");
      expect(await inside("db", "cat /etc/hosts")).not.toContain("roam");
      expect(await inside("roam", "cat /etc/hosts")).not.toContain(dbIp);
      await until(() => veths().length === 3, { timeoutMs: 5000, what: "roam's second veth gone" }); // web, db, roam
      await ok(["rm", "-f", "roam"]);
    },
    T,
  );

  test(
    "--ip, --mac-address, --dns, --dns-search, --add-host; a bad --ip is one clear line",
    async () => {
      const subnet = await ok(["network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", "front"]);
      const ip = subnet.replace(/\.0\/\d+$/, ".200");
      const out = await ok([
        "run",
        "--network",
        "front",
        "--ip",
        ip,
        "--mac-address",
        "02:00:00:00:00:42",
        "--dns",
        "198.51.100.53",
        "--dns-search",
        "example.test",
        "--add-host",
        "gw:host-gateway",
        "--add-host",
        "x.test:10.1.2.3",
        rootfs,
        "sh",
        "-c",
        "ip -4 -o addr show eth0 | cut -d' ' -f7; cat /sys/class/net/eth0/address; cat /etc/resolv.conf /etc/hosts",
      ]);
      const lines = out.split("\n");
      expect(lines[0]).toBe(`${ip}/${subnet.split("/")[1]}`);
      expect(lines[1]).toBe("02:00:00:00:00:42");
      expect(lines).toContain("nameserver 198.51.100.53");
      expect(lines).toContain("search example.test");
      expect(lines).toContain(`${subnet.replace(/\.0\/\d+$/, ".1")}\tgw`);
      expect(lines).toContain("10.1.2.3\tx.test");
      const outside = await m(["run", "--network", "front", "--ip", "10.250.0.9", rootfs, "true"]);
      expect(outside.code).toBe(125);
      expect(outside.stderr).toBe(`mini: address 10.250.0.9 is not in network front's subnet ${subnet}\n`);
      const taken = await m(["run", "--network", "front", "--ip", await ipOf("db", "front"), rootfs, "true"]);
      expect(taken.code).toBe(125);
      expect(taken.stderr).toContain("is already in use on network front");
      const onDefault = await m(["run", "--ip", "172.17.0.99", rootfs, "true"]);
      expect(onDefault.code).toBe(125);
      expect((await m(["run", "--network", "nosuch", rootfs, "true"])).stderr).toBe("mini: network nosuch not found\n");
    },
    T,
  );

  test(
    "exec joins the container's network; --userns on a bridge network; --network container:NAME",
    async () => {
      const webIp = await ipOf("web", "front");
      expect(await inside("web", "ip -4 -o addr show eth0 | cut -d' ' -f7")).toMatch(new RegExp(`^${webIp}/`));
      const userns = await ok([
        "run",
        "--userns",
        rootfs,
        "sh",
        "-c",
        "head -1 /proc/self/uid_map; ip -4 -o addr show eth0 | cut -d' ' -f7; /netecho tcp 198.51.100.1 80",
      ]);
      const [map, addr, out] = userns.split("\n");
      expect(map.trim()).toMatch(/^0\s+100000\s+65536$/);
      expect(addr).toMatch(/^172\.17\.0\.\d+\/16$/);
      expect(out).toBe("80 198.51.100.2");
      const shared = await ok([
        "run",
        "--network",
        "container:web",
        rootfs,
        "sh",
        "-c",
        "/netecho tcp 127.0.0.1 80; ip -4 -o addr show eth0 | cut -d' ' -f7",
      ]);
      expect(shared.split("\n")).toEqual(["80 127.0.0.1", expect.stringMatching(new RegExp(`^${webIp}/`))]);
    },
    T,
  );

  test("30 containers started at once on one network: 30 addresses, all reachable", async () => {
    await ok(["network", "create", "busy"]);
    const results = await Promise.all(
      Array.from({ length: 30 }, () =>
        m(["run", "-d", "--network", "busy", rootfs, "/netecho", "serve", "80"], 120_000),
      ),
    );
    for (const r of results) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const ids = results.map((r) => r.stdout.trim());
    const ips = await Promise.all(ids.map((id) => ipOf(id, "busy")));
    expect(new Set(ips).size).toBe(30);
    const answers = await ok([
      "run",
      "--network",
      "busy",
      rootfs,
      "sh",
      "-c",
      `for ip in ${ips.join(" ")}; do /netecho tcp $ip 80 2000 | cut -d' ' -f1; done`,
    ]);
    expect(answers.split("\n")).toEqual(ips.map(() => "80"));
    await ok(["rm", "-f", ...ids], 120_000);
    await ok(["network", "rm", "busy"]);
  }, 120_000);

  test(
    "network rm of a network in use is refused; prune leaves it; then it goes with its bridge and rules",
    async () => {
      const r = await m(["network", "rm", "front"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe("mini: error while removing network: network front has active endpoints\n");
      expect(await ok(["network", "prune"])).toBe("");
      expect((await m(["network", "rm", "bridge"])).stderr).toContain("bridge is a pre-defined network");
      const bridge = await ok([
        "network",
        "inspect",
        "-f",
        '{{index .Options "com.docker.network.bridge.name"}}',
        "front",
      ]);
      await ok(["rm", "-f", "web", "db"]);
      expect((await ok(["network", "ls", "-q"])).split("\n")).toHaveLength(2); // bridge and front
      expect(await ok(["network", "prune"])).toBe("Deleted Networks:\nfront");
      expect(inH(["ip", "-o", "link", "show"])).not.toContain(bridge);
      expect(inH(["nft", "list", "table", "inet", "mini"])).not.toContain("front");
      expect(JSON.parse(await ok(["network", "ls", "--format", "json"])).map((n: { name: string }) => n.name)).toEqual([
        "bridge",
      ]);
    },
    T,
  );

  describe("mini SIGKILLed after each network step", () => {
    /** Runs `mini --log-level debug ARGS` in H and SIGKILLs it once its `step`-th network line is out. */
    async function killAtStep(args: string[], step: number): Promise<number> {
      const p = Bun.spawn(["nsenter", `--net=/run/netns/${H}`, MINI, "--log-level", "debug", ...args], {
        stdin: "ignore",
        stdout: "ignore",
        stderr: "pipe",
        env,
      });
      const reader = (p.stderr as ReadableStream<Uint8Array>).getReader();
      let seen = 0;
      let text = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString();
        const lines = text.split("\n");
        text = lines.pop() ?? "";
        seen += lines.filter((l) => /(network|netlink|firewall): /.test(l)).length;
        if (seen >= step) {
          p.kill("SIGKILL");
          break;
        }
      }
      await p.exited;
      return seen;
    }

    async function clean(): Promise<void> {
      await removeAll();
      await ok(["ps", "-a"]); // the next mini: sweeps what the killed one left
      await until(() => veths().length === 0, { timeoutMs: 10_000, what: "no veth left" });
      expect(portRules()).toEqual([]);
      expect(noLeases()).toBe(true);
      expect(readdirSync(env.MINI_RUN_ROOT)).toEqual([]);
    }

    for (const mode of ["detached", "foreground"] as const)
      test(`${mode}: a clean sweep after every step`, async () => {
        await ok(["network", "create", "kill"]);
        const args = ["run", ...(mode === "detached" ? ["-d"] : []), "--network", "kill", "-p", "8085:80", rootfs];
        // How many network lines a whole start prints.
        const total = await killAtStep([...args, "true"], 1_000);
        await clean();
        expect(total).toBeGreaterThan(10);
        // Foreground, the last steps (the teardown) come once the command ends.
        const command = mode === "detached" ? ["sleep", "30"] : ["sleep", "0.5"];
        for (let step = 1; step <= total; step++) {
          await killAtStep([...args, ...command], step);
          await clean();
        }
        await ok(["network", "rm", "kill"]);
      }, 180_000);
  });

  test(
    "nothing is left: no veth, no published port, no lease, no state; the foreign table unchanged",
    async () => {
      await removeAll();
      await until(() => veths().length === 0, { timeoutMs: 10_000, what: "no veth left" });
      expect(portRules()).toEqual([]);
      expect(noLeases()).toBe(true);
      expect(lab.exec(H, ["nft", "-s", "list", "table", "inet", "other"])).toBe(foreignBefore);
      expect(await leftBehind(before)).toEqual(NOTHING);
    },
    T,
  );
});
