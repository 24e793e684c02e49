// Costs of mini's firewall, measured in network namespaces made here (the host's ruleset is never
// touched; it is compared before and after):
//   - one `nft -f -` transaction replacing mini's table, for 0 (nft's own start), 1, 10, 100, 1000 ports
//   - the kernel's share of it (strace -T of the batch's sendmsg), what a raw netlink batch would pay
//   - incremental alternatives: add one rule; list + delete one container's rules by handle
//   - published ports from the host itself: route_localnet + DNAT vs a userspace proxy (setup, first request)
//
//   bun scripts/bench-firewall.ts [--runs N]        (root)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { addPorts, currentState, enableRouteLocalnet, nft } from "../src/network/firewall.ts";
import { type FirewallState, renderRuleset } from "../src/network/firewall-rules.ts";
import { hostRuleset, Lab } from "../test/helpers/netns.ts";
import { tcpRequest } from "../test/helpers/netpeer.ts";

const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 30;
const netpeer = new URL("../test/helpers/netpeer.ts", import.meta.url).pathname;
const NET = { name: "bench", bridge: "mini0", subnet: "10.77.0.0/24", internal: false };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];
const fmt = (xs: number[]) => `median ${median(xs).toFixed(2)} ms, p90 ${p90(xs).toFixed(2)} ms`;

function timeIt(fn: () => void, runs = RUNS): number[] {
  fn(); // warm-up
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    out.push(performance.now() - t0);
  }
  return out;
}

function stateWith(n: number): FirewallState {
  return {
    networks: [NET],
    ports: Array.from({ length: n }, (_, i) => ({
      containerId: `c${i}`.padEnd(64, "0"),
      proto: i % 2 ? "udp" : "tcp",
      hostPort: 10000 + i,
      containerIp: `10.77.0.${2 + (i % 250)}`,
      containerPort: 80,
    })),
  };
}

function mustNft(args: string[], input?: string) {
  const r = nft(args, input);
  if (!r.ok) throw new Error(`nft ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** Runs inside the "host" namespace: the measurements. */
async function inner() {
  const lines: string[] = [];
  const say = (s: string) => {
    lines.push(s);
    console.error(s);
  };
  say(`## nft transactions (runs: ${RUNS})`);
  say(`empty script (nft start, cache, no commit): ${fmt(timeIt(() => mustNft(["-f", "-"], "")))}`);
  for (const n of [1, 10, 100, 1000]) {
    const script = renderRuleset(stateWith(n));
    const tRender = timeIt(() => renderRuleset(stateWith(n)));
    say(`replace table, ${n} ports (${script.length} bytes): ${fmt(timeIt(() => mustNft(["-f", "-"], script)))}`);
    say(
      `  render only: ${fmt(tRender)}; nft -c (sent, then aborted: the abort waits too): ${fmt(timeIt(() => mustNft(["-c", "-f", "-"], script)))}`,
    );
    const file = `/tmp/mini-bench-fw-${process.pid}.nft`;
    writeFileSync(file, script);
    const sendmsg: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = Bun.spawnSync(["strace", "-T", "-e", "trace=sendmsg", "nft", "-f", file], { stderr: "pipe" });
      const m = /sendmsg\(.*<([\d.]+)>/.exec(r.stderr.toString());
      if (m) sendmsg.push(Number(m[1]) * 1000);
    }
    rmSync(file, { force: true });
    if (sendmsg.length) say(`  kernel (the batch's sendmsg, strace -T): ${fmt(sendmsg)}`);
  }

  say("## incremental alternatives (table holds 100 ports)");
  mustNft(["-f", "-"], renderRuleset(stateWith(100)));
  let k = 0;
  const rule = () => {
    const port = 30000 + k++;
    return `add rule inet mini ports tcp dport ${port} dnat ip to 10.77.0.9:80 comment "port x tcp * ${port} 10.77.0.9 80"\n`;
  };
  say(`add one port rule (nft -f): ${fmt(timeIt(() => mustNft(["-f", "-"], rule())))}`);
  say(`read the table back (currentState): ${fmt(timeIt(() => currentState()))}`);
  const viaApi: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await addPorts([
      { containerId: `a${i}`, proto: "tcp", hostPort: 40000 + i, containerIp: "10.77.0.9", containerPort: 80 },
    ]);
    viaApi.push(performance.now() - t);
  }
  say(`addPorts (lock + read + check + add): ${fmt(viaApi)}`);
  const handles = (
    JSON.parse(mustNft(["-a", "-j", "list", "chain", "inet", "mini", "ports"])).nftables as {
      rule?: { handle: number; comment?: string };
    }[]
  ).flatMap((i) => (i.rule?.comment?.startsWith("port x") ? [i.rule.handle] : []));
  say(
    `delete one rule by handle: ${fmt(timeIt(() => mustNft(["-f", "-"], `delete rule inet mini ports handle ${handles.pop()}\n`), Math.min(RUNS, handles.length - 1)))}`,
  );
  rawBatch(say);

  say("## published port from the host itself (127.0.0.1:8080 → 10.77.0.2:80)");
  const direct: number[] = [];
  const viaDnat: number[] = [];
  const viaProxy: number[] = [];
  await tcpRequest("10.77.0.2", 80, 2000); // ARP and the server warm, for every path alike
  writeFileSync("/proc/sys/net/ipv4/conf/mini0/route_localnet", "0");
  const t0 = performance.now();
  enableRouteLocalnet("mini0");
  say(`route_localnet sysctl write: ${(performance.now() - t0).toFixed(3)} ms`);
  const withPort: FirewallState = {
    networks: [NET],
    ports: [{ containerId: "web", proto: "tcp", hostPort: 8080, containerIp: "10.77.0.2", containerPort: 80 }],
  };
  say(
    `  its rules: part of the table's transaction (1 port): ${fmt(timeIt(() => mustNft(["-f", "-"], renderRuleset(withPort))))}`,
  );
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now();
    const a = await tcpRequest("10.77.0.2", 80, 2000);
    direct.push(performance.now() - t);
    t = performance.now();
    const b = await tcpRequest("127.0.0.1", 8080, 2000);
    viaDnat.push(performance.now() - t);
    if (!a.startsWith("80 ") || !b.startsWith("80 ")) throw new Error(`unexpected answers: ${a} / ${b}`);
  }
  // The proxy as docker-proxy runs it: its own process per published port.
  const tp = performance.now();
  const proxy = Bun.spawn(["bun", netpeer, "proxy", "127.0.0.1", "8081", "10.77.0.2", "80"], { stdout: "pipe" });
  const reader = proxy.stdout.getReader();
  let out = "";
  while (!out.includes("ready")) out += Buffer.from((await reader.read()).value ?? []).toString();
  const proxyStart = performance.now() - tp;
  let t = performance.now();
  const firstProxy = await tcpRequest("127.0.0.1", 8081, 2000);
  const firstProxyMs = performance.now() - t;
  for (let i = 0; i < RUNS; i++) {
    t = performance.now();
    await tcpRequest("127.0.0.1", 8081, 2000);
    viaProxy.push(performance.now() - t);
  }
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proxy.pid}/status`, "utf8"))?.[1];
  proxy.kill("SIGKILL");
  // …or a listener inside a process that already runs (mini's shim): the cost of listen() alone.
  t = performance.now();
  const l = Bun.listen({ hostname: "127.0.0.1", port: 8082, socket: { data() {} } });
  const listenMs = performance.now() - t;
  l.stop(true);
  say(`direct to the container (new connection each): ${fmt(direct)}; first ${direct[0].toFixed(2)} ms`);
  say(`127.0.0.1:8080 via DNAT + route_localnet: ${fmt(viaDnat)}; first ${viaDnat[0].toFixed(2)} ms`);
  say(
    `userspace proxy: process start to listening ${proxyStart.toFixed(1)} ms, RSS ${rss} kB; listen() in-process ${listenMs.toFixed(2)} ms`,
  );
  say(`127.0.0.1:8081 via proxy: first ${firstProxyMs.toFixed(2)} ms (${firstProxy}); then ${fmt(viaProxy)}`);
  console.log(JSON.stringify(lines));
}

/** nft's own batch for 100 ports, captured with strace and replayed on a raw netlink socket (python3). */
function rawBatch(say: (s: string) => void) {
  const file = `/tmp/mini-bench-fw-${process.pid}.nft`;
  const trace = `${file}.trace`;
  writeFileSync(file, renderRuleset(stateWith(100)));
  const s = Bun.spawnSync(["strace", "-o", trace, "-e", "trace=sendmsg", "-e", "write=3", "nft", "-f", file]);
  const py = Bun.spawnSync(["python3", "-c", REPLAY, trace, String(RUNS)], { stdout: "pipe", stderr: "pipe" });
  if (s.exitCode !== 0 || py.exitCode !== 0) say(`raw netlink replay skipped: ${py.stderr.toString().trim()}`);
  else say(`raw netlink batch, 100 ports (nft's bytes replayed): ${py.stdout.toString().trim()}`);
  rmSync(file, { force: true });
  rmSync(trace, { force: true });
}

const REPLAY = `
import socket, sys, time
data = bytearray()
for line in open(sys.argv[1]):
    if line.startswith(" | "):
        data += bytes.fromhex(line[10:59].replace(" ", ""))
send, close = [], []
for i in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)
    s.bind((0, 0))
    t0 = time.perf_counter(); s.sendmsg([bytes(data)]); t1 = time.perf_counter()
    s.setblocking(False)
    try:
        s.recv(65536); print("kernel error"); sys.exit(1)
    except BlockingIOError:
        pass
    s.close(); t2 = time.perf_counter()
    send.append((t1 - t0) * 1000); close.append((t2 - t1) * 1000)
send.sort(); close.sort()
print("%d bytes; sendmsg (commit) median %.2f ms; close median %.2f ms; total %.2f ms" % (len(data), send[len(send)//2], close[len(close)//2], send[len(send)//2] + close[len(close)//2]))
`;

async function outer() {
  const before = hostRuleset();
  const lab = new Lab("b");
  const root = mkdtempSync("/tmp/mini-bench-fw-root-");
  try {
    const h = lab.add("h");
    const c = lab.add("c");
    lab.exec(h, ["ip", "link", "add", "mini0", "type", "bridge"]);
    lab.exec(h, ["ip", "addr", "add", "10.77.0.1/24", "dev", "mini0"]);
    lab.exec(h, ["ip", "link", "set", "mini0", "up"]);
    lab.veth(h, "vc0", c, "eth0");
    lab.exec(h, ["ip", "link", "set", "vc0", "master", "mini0"]);
    lab.exec(c, ["ip", "addr", "add", "10.77.0.2/24", "dev", "eth0"]);
    lab.exec(c, ["ip", "route", "add", "default", "via", "10.77.0.1"]);
    await lab.start(c, ["bun", netpeer, "serve", "80"]);
    const r = Bun.spawnSync(["ip", "netns", "exec", h, "bun", import.meta.path, "--inner", "--runs", String(RUNS)], {
      stdout: "pipe",
      stderr: "inherit",
      env: { ...process.env, MINI_ROOT: root },
    });
    if (r.exitCode !== 0) throw new Error("inner benchmark failed");
    console.log((JSON.parse(r.stdout.toString()) as string[]).join("\n"));
  } finally {
    lab.cleanup();
    rmSync(root, { recursive: true, force: true });
    if (hostRuleset() !== before) console.error("WARNING: the host's ruleset changed during the benchmark");
  }
}

if (process.argv.includes("--inner")) await inner();
else await outer();
