// The rtnetlink client against the real kernel, only inside network namespaces this test makes:
// test/helpers/netlink-scenario.ts runs under `unshare --net` (its fresh namespace plays the host)
// and wires two `unshare --net sleep` processes (the containers) to a bridge. `ip -j` inside those
// namespaces checks the result, busybox ping crosses the bridge, then everything is deleted.
// The processes are killed by pid whatever happens; the real host's links must not change.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, readlinkSync } from "node:fs";
import { resolve } from "node:path";
import type { Subprocess } from "bun";

const SCENARIO = resolve(import.meta.dir, "../helpers/netlink-scenario.ts");
const root = process.getuid?.() === 0 && Bun.which("unshare") && Bun.which("nsenter") && Bun.which("ip");
const spawned: Subprocess[] = [];

function run(argv: string[]): { code: number; stdout: string; stderr: string } {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** `ip -j ARGS` inside the network namespace of `pid` (or the test's own with pid 0). */
function ipJson(pid: number, ...args: string[]): any[] {
  const argv = pid ? ["nsenter", `--net=/proc/${pid}/ns/net`, "ip", "-j", ...args] : ["ip", "-j", ...args];
  const r = run(argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout || "[]");
}

const netnsOf = (pid: number | "self") => readlinkSync(`/proc/${pid}/ns/net`);

/** `unshare --net sleep 1000`, returned once it is in its own namespace. */
async function container(): Promise<number> {
  const p = Bun.spawn(["unshare", "--net", "sleep", "1000"], { stdout: "ignore", stderr: "inherit" });
  spawned.push(p);
  const own = netnsOf("self");
  for (let i = 0; i < 200; i++) {
    try {
      if (netnsOf(p.pid) !== own && readFileSync(`/proc/${p.pid}/comm`, "utf8").trim() === "sleep") return p.pid;
    } catch {}
    await Bun.sleep(10);
  }
  throw new Error("unshare --net sleep did not start");
}

/** Reads stdout line by line. */
function lines(p: Subprocess<"pipe", "pipe", "pipe">) {
  const reader = p.stdout.getReader();
  let buf = "";
  return async (): Promise<string> => {
    for (;;) {
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error(`scenario ended early; stderr: ${await new Response(p.stderr).text()}`);
      buf += new TextDecoder().decode(value);
    }
  };
}

let hostLinksBefore = "";
beforeAll(() => {
  if (root) hostLinksBefore = run(["ip", "-j", "link"]).stdout;
});

afterAll(async () => {
  for (const p of spawned) p.kill("SIGKILL"); // by pid: Subprocess.kill signals its own pid only
  await Promise.all(spawned.map((p) => p.exited));
  if (root) expect(run(["ip", "-j", "link"]).stdout).toBe(hostLinksBefore);
});

describe.skipIf(!root)("rtnetlink in throwaway namespaces", () => {
  test("bridge, veth pairs into two namespaces, addresses, routes, up, ping, delete", async () => {
    const [c1, c2] = [await container(), await container()];
    const scenario = Bun.spawn(["unshare", "--net", process.execPath, SCENARIO, String(c1), String(c2)], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    spawned.push(scenario);
    const next = lines(scenario);
    const setup = JSON.parse(await next());
    const h = scenario.pid;
    expect(netnsOf(h)).not.toBe(netnsOf("self"));

    // --- what the library reports matches what `ip` sees, namespace by namespace
    const hostLinks = ipJson(h, "-d", "link");
    const byName = (links: any[], n: string) => links.find((l) => l.ifname === n);
    const bridge = byName(hostLinks, "mini0");
    expect(bridge).toMatchObject({ mtu: 1400, operstate: "UP", linkinfo: { info_kind: "bridge" } });
    expect(bridge.flags).toContain("UP");
    for (const port of ["vm1", "vm2"]) {
      const l = byName(hostLinks, port);
      expect(l).toMatchObject({ mtu: 1400, master: "mini0", linkinfo: { info_kind: "veth" } });
      expect(l.flags).toContain("UP");
    }
    expect(byName(hostLinks, "vm2").address).toBe("02:42:0a:e7:01:01");
    expect(byName(hostLinks, "lo").flags).toContain("UP");
    expect(setup.bridgeIndex).toBe(bridge.ifindex);
    expect(setup.host.links.map((l: any) => [l.index, l.name, l.mtu, l.up])).toEqual(
      hostLinks.map((l) => [l.ifindex, l.ifname, l.mtu, l.flags.includes("UP")]),
    );
    const hostAddrs = ipJson(h, "-4", "addr", "show", "mini0");
    expect(hostAddrs[0].addr_info).toMatchObject([{ local: "10.231.0.1", prefixlen: 16 }]);
    expect(setup.host.addresses).toContainEqual(expect.objectContaining({ address: "10.231.0.1", prefixLen: 16 }));
    const hostRoutes = ipJson(h, "-4", "route");
    expect(hostRoutes).toContainEqual(expect.objectContaining({ dst: "10.98.0.0/16", dev: "mini0", scope: "link" }));
    expect(setup.host.routes.map((r: any) => `${r.dst}/${r.dstLen}`).sort()).toEqual(
      hostRoutes.map((r) => r.dst).sort(),
    );

    const ct1Links = ipJson(c1, "-d", "link");
    expect(ct1Links.map((l) => l.ifname).sort()).toEqual(["eth0", "lo"]);
    expect(byName(ct1Links, "eth0")).toMatchObject({ mtu: 1400, address: "02:42:0a:e7:00:02", operstate: "UP" });
    expect(byName(ct1Links, "lo").flags).toContain("UP");
    expect(ipJson(c1, "-4", "addr", "show", "eth0")[0].addr_info).toMatchObject([
      { local: "10.231.0.2", prefixlen: 16 },
    ]);
    expect(ipJson(c1, "-4", "route")).toContainEqual(
      expect.objectContaining({ dst: "default", gateway: "10.231.0.1", dev: "eth0" }),
    );
    expect(setup.ct1.routes).toContainEqual(
      expect.objectContaining({ dst: "0.0.0.0", dstLen: 0, gateway: "10.231.0.1" }),
    );

    const ct2Links = ipJson(c2, "-d", "link");
    expect(byName(ct2Links, "eth0")).toMatchObject({ mtu: 1300, address: "02:42:0a:e7:00:03", operstate: "UP" });
    const ct2Routes = ipJson(c2, "-4", "route");
    expect(ct2Routes).toContainEqual(expect.objectContaining({ dst: "default", gateway: "10.231.0.1", dev: "eth0" }));
    expect(ct2Routes).toContainEqual(expect.objectContaining({ dst: "10.99.0.0/16", gateway: "10.231.0.1" }));

    // --- errors name the operation, the interface (and namespace) and errno; a failed create leaves nothing
    expect(setup.errors).toEqual({
      bridgeExists: "add bridge mini0: EEXIST",
      peerExists: `add veth vm3 (peer eth0) in netns of pid ${c1}: EEXIST`,
      noSuchLink: `get link eth9 in netns of pid ${c1}: ENODEV`,
      badGateway: `add route 10.50.0.0/16 via 192.0.2.1 in netns of pid ${c1}: ENETUNREACH (Nexthop has invalid gateway)`,
      noSuchMaster: "get link nobridge: ENODEV",
    });
    expect(setup.leftoverVm3).toBe(false);
    expect(setup.defaultRouteMtu).toEqual({ host: null, ct1: 1400, ct2: 1300 });

    // --- packets cross the bridge: container → bridge, container → container
    if (Bun.which("busybox")) {
      for (const [from, to] of [
        [c1, "10.231.0.1"],
        [c1, "10.231.0.3"],
        [c2, "10.231.0.2"],
      ] as const) {
        const r = run(["nsenter", `--net=/proc/${from}/ns/net`, "busybox", "ping", "-c", "1", "-W", "2", to]);
        expect(`${from} → ${to}: ${r.code} ${r.stdout}${r.stderr}`).toContain(
          "1 packets transmitted, 1 packets received",
        );
      }
    }

    // --- delete: nothing left but lo, in any of the three namespaces
    scenario.stdin.write("teardown\n");
    await scenario.stdin.flush();
    const after = JSON.parse(await next());
    expect(ipJson(h, "link").map((l) => l.ifname)).toEqual(["lo"]);
    scenario.stdin.end();
    expect(await scenario.exited).toBe(0);
    expect(after.vm1Master).toBeNull();
    expect(after.host.links.map((l: any) => l.name)).toEqual(["lo"]);
    expect(after.host.routes).toEqual([]);
    expect(after.host.addresses.map((a: any) => a.address)).toEqual(["127.0.0.1"]);
    expect(after.ct1.links.map((l: any) => l.name)).toEqual(["lo"]);
    expect(after.ct2.links.map((l: any) => l.name)).toEqual(["lo"]);
    expect(after.ct1.routes).toEqual([]);
    for (const pid of [c1, c2]) expect(ipJson(pid, "link").map((l) => l.ifname)).toEqual(["lo"]);
  }, 30_000);
});
