#!/usr/bin/env bun
// What wiring one container to a bridge costs through src/network/rtnetlink.ts, against `ip`
// doing the same. Needs root; runs entirely in a scratch network namespace (it re-executes itself
// under `unshare --net`) with an `unshare --net sleep` process as the container.
//
//   bun scripts/bench-netlink.ts [--runs N] [--warm N]
//
// Per operation: mini in a fresh process (each op's first call: libc opened, code not yet
// compiled), mini warm (the same ops repeated in one process), and one `ip` process per op
// (`nsenter --net=… ip` for the container's side). Per sequence: a fresh `bun` process doing it
// all, against `sh -c 'ip …; ip …'` and two `ip -batch` processes. Markdown to stdout.
import { Rtnetlink } from "../src/network/rtnetlink.ts";

const T_LOADED = performance.now();
const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};

const OPS = [
  "open socket",
  "add bridge (mtu)",
  "add address to bridge",
  "bridge up",
  "add veth, peer in netns by pid",
  "veth: master + up",
  "open socket in container netns",
  "container: lo up",
  "container: add address",
  "container: eth0 up",
  "container: default route",
  "list routes (main)",
  "delete veth (both ends)",
  "delete bridge",
] as const;
const DELETES = 2;

/** The sequence once, timing each step, then (unless `keep`) the deletes; returns ms per op. */
function sequence(pid: number, n: number, keep = false): number[] {
  const t: number[] = [];
  let last = performance.now();
  const lap = () => {
    const now = performance.now();
    t.push(now - last);
    last = now;
  };
  const host = Rtnetlink.open();
  lap();
  host.createBridge(`br${n}`, { mtu: 1500 });
  lap();
  host.addAddress(`br${n}`, "10.200.0.1/16");
  lap();
  host.setUp(`br${n}`);
  lap();
  host.createVeth(`veth${n}`, "eth0", { peerNetns: { pid }, mtu: 1500 });
  lap();
  host.setLink(`veth${n}`, { master: `br${n}`, up: true });
  lap();
  const ct = Rtnetlink.openIn({ pid });
  lap();
  ct.setUp("lo");
  lap();
  ct.addAddress("eth0", "10.200.0.2/16");
  lap();
  ct.setUp("eth0");
  lap();
  ct.addDefaultRoute("10.200.0.1", "eth0");
  lap();
  host.listRoutes();
  lap();
  if (!keep) {
    host.deleteLink(`veth${n}`);
    lap();
    host.deleteLink(`br${n}`);
    lap();
  }
  host.close();
  ct.close();
  return t;
}

const IP_OPS = (pid: number): (string[] | null)[] => {
  const inCt = ["nsenter", `--net=/proc/${pid}/ns/net`, "ip"];
  return [
    null,
    ["ip", "link", "add", "br0", "mtu", "1500", "type", "bridge"],
    ["ip", "addr", "add", "10.200.0.1/16", "dev", "br0"],
    ["ip", "link", "set", "br0", "up"],
    [
      "ip",
      "link",
      "add",
      "veth0",
      "mtu",
      "1500",
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "mtu",
      "1500",
      "netns",
      `${pid}`,
    ],
    ["ip", "link", "set", "veth0", "master", "br0", "up"],
    null,
    [...inCt, "link", "set", "lo", "up"],
    [...inCt, "addr", "add", "10.200.0.2/16", "dev", "eth0"],
    [...inCt, "link", "set", "eth0", "up"],
    [...inCt, "route", "add", "default", "via", "10.200.0.1", "dev", "eth0"],
    ["ip", "-4", "route", "show", "table", "main"],
    ["ip", "link", "del", "veth0"],
    ["ip", "link", "del", "br0"],
  ];
};

function sh(argv: string[], stdin?: string): number {
  const t = performance.now();
  const r = Bun.spawnSync(argv, {
    stdin: stdin === undefined ? "ignore" : Buffer.from(stdin),
    stdout: "ignore",
    stderr: "pipe",
  });
  const ms = performance.now() - t;
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString()}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f = (ms: number) => (ms < 1 ? ms.toFixed(3) : ms.toFixed(2));

// ---- child: one fresh-process sequence, timings as JSON ------------------------------------
if (args[0] === "--once") {
  const pid = Number(args[1]);
  const t = sequence(pid, 0, true); // the driver deletes, untimed, as for the ip contenders
  process.stdout.write(JSON.stringify({ loaded: T_LOADED, ops: t, total: performance.now() }));
  process.exit(0);
}

if (args[0] === "--delete") {
  const host = Rtnetlink.open();
  const t0 = performance.now();
  host.deleteLink("veth0");
  const t1 = performance.now();
  host.deleteLink("br0");
  process.stdout.write(JSON.stringify([t1 - t0, performance.now() - t1]));
  process.exit(0);
}

// ---- driver ----------------------------------------------------------------------------------
if (!process.env.MINI_BENCH_NETNS) {
  const r = Bun.spawnSync(["unshare", "--net", process.execPath, import.meta.path, ...args], {
    env: { ...process.env, MINI_BENCH_NETNS: "1" },
    stdout: "inherit",
    stderr: "inherit",
  });
  process.exit(r.exitCode ?? 1);
}

const runs = opt("--runs", 20);
const warmN = opt("--warm", 200);
const container = Bun.spawn(["unshare", "--net", "sleep", "1000"], { stdout: "ignore" });
try {
  await Bun.sleep(50);
  const pid = container.pid;
  sh(["ip", "link", "set", "lo", "up"]);

  // mini, fresh process each time
  const cold: number[][] = [];
  const coldWall: number[] = [];
  const coldLoaded: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = Bun.spawnSync([process.execPath, import.meta.path, "--once", String(pid)], {
      stdout: "pipe",
      stderr: "pipe",
    });
    coldWall.push(performance.now() - t);
    if (r.exitCode !== 0) throw new Error(`--once: ${r.stderr.toString()}`);
    const j = JSON.parse(r.stdout.toString());
    coldLoaded.push(j.loaded);
    // the deletes, timed in a fresh process of their own
    const d = Bun.spawnSync([process.execPath, import.meta.path, "--delete"], { stdout: "pipe", stderr: "pipe" });
    if (d.exitCode !== 0) throw new Error(`--delete: ${d.stderr.toString()}`);
    cold.push([...j.ops, ...JSON.parse(d.stdout.toString())]);
  }

  // mini, warm
  for (let i = 0; i < 20; i++) sequence(pid, i);
  const warm: number[][] = [];
  for (let i = 0; i < warmN; i++) warm.push(sequence(pid, i));

  // ip, one process per op
  const ipOps = IP_OPS(pid);
  const ip: number[][] = [];
  for (let i = 0; i < runs; i++) ip.push(ipOps.map((argv) => (argv ? sh(argv) : 0)));

  // whole sequences: sh -c 'ip; ip; …' and ip -batch (host side + container side)
  const script = ipOps
    .slice(0, -DELETES)
    .filter((a): a is string[] => a !== null)
    .map((a) => a.join(" "))
    .join(" && ");
  const hostBatch = ipOps
    .slice(1, 6)
    .map((a) => a!.slice(1).join(" "))
    .join("\n");
  const ctBatch = ipOps
    .slice(7, 11)
    .map((a) => a!.slice(3).join(" "))
    .join("\n");
  const shWall: number[] = [];
  const batchWall: number[] = [];
  for (let i = 0; i < runs; i++) {
    shWall.push(sh(["sh", "-c", `${script} >/dev/null`]));
    sh(["ip", "link", "del", "veth0"]);
    sh(["ip", "link", "del", "br0"]);
    batchWall.push(
      sh(["ip", "-batch", "-"], hostBatch) + sh(["nsenter", `--net=/proc/${pid}/ns/net`, "ip", "-batch", "-"], ctBatch),
    );
    sh(["ip", "link", "del", "veth0"]);
    sh(["ip", "link", "del", "br0"]);
  }

  const col = (rows: number[][], i: number) => median(rows.map((r) => r[i]));
  const sum = (rows: number[][], from = 0, to = OPS.length - DELETES) =>
    median(rows.map((r) => r.slice(from, to).reduce((a, b) => a + b, 0)));
  const out: string[] = [];
  out.push(`### One container wired to a bridge: per operation (median ms; ${runs} fresh processes, ${warmN} warm)`);
  out.push("");
  out.push("| operation | mini, fresh process | mini, warm | `ip` (one process) |");
  out.push("|---|---:|---:|---:|");
  const row = (i: number) =>
    `| ${OPS[i]} | ${f(col(cold, i))} | ${f(col(warm, i))} | ${ipOps[i] ? f(col(ip, i)) : "—"} |`;
  for (let i = 0; i < OPS.length - DELETES; i++) out.push(row(i));
  out.push(`| **setup, all of the above** | **${f(sum(cold))}** | **${f(sum(warm))}** | **${f(sum(ip))}** |`);
  for (let i = OPS.length - DELETES; i < OPS.length; i++) out.push(row(i));
  out.push("");
  out.push("### The whole sequence as a fresh process (median wall ms)");
  out.push("");
  out.push("| contender | median ms |");
  out.push("|---|---:|");
  out.push(
    `| \`bun bench-netlink.ts --once\` (of which Bun start to module loaded: ${f(median(coldLoaded))}) | ${f(median(coldWall))} |`,
  );
  out.push(`| \`sh -c 'ip …; nsenter … ip …'\` (10 processes + nsenter) | ${f(median(shWall))} |`);
  out.push(`| \`ip -batch\` + \`nsenter … ip -batch\` (2 processes) | ${f(median(batchWall))} |`);
  console.log(out.join("\n"));
} finally {
  container.kill("SIGKILL");
  await container.exited;
}
