// For scripts/bench-network: what the network step costs, from mini's own --log-level debug lines.
//   bun net-steps.ts steps MINI ROOTFS N     N bridged runs of /bin/true: the median of each network
//                                            line (ids, pids and addresses blanked), in order
//   bun net-steps.ts first MINI ROOTFS N     N first uses, each in a fresh network namespace and store:
//                                            the bridge, its address, sysctls and nft table made
//   bun net-steps.ts answer MINI ROOTFS N PORT   N times `mini run -d -p PORT:80 ROOTFS /netecho serve 80`:
//                                            its own time, then from its exit to the first answer on
//                                            127.0.0.1:PORT (connects retried at once); rm -f after
// Prints markdown rows. Run inside the namespace the bench made (never the host's).
import { mkdtempSync, rmSync } from "node:fs";

const [mode, mini, rootfs, nText, portText] = process.argv.slice(2);
const n = Number(nText ?? 10);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x: number) => (x < 1 ? x.toFixed(3) : x.toFixed(2));

function debugLines(args: string[], env: Record<string, string | undefined> = process.env): string[] {
  const r = Bun.spawnSync([mini, "--log-level", "debug", ...args], { env, stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`mini ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stderr.toString().split("\n");
}

/** "network: lease on bridge (0.71 ms)" → label and ms; ids, pids, veths and addresses blanked. */
function parse(line: string): { label: string; ms: number } | undefined {
  const m = /\[debug\] ((?:network|netlink|firewall): .*) \(([\d.]+) ms\)$/.exec(line);
  if (!m) return undefined;
  const label = m[1]
    .replace(/mv[0-9a-f]{12}/g, "mvXXXX")
    .replace(/pid \d+/g, "pid N")
    .replace(/\b\d+\.\d+\.\d+\.\d+(\/\d+)?/g, "A.B.C.D$1")
    .replace(/\b[0-9a-f]{12}\b/g, "ID")
    .replace(/#\d+/g, "#N")
    .trimEnd();
  return { label, ms: Number(m[2]) };
}

function steps(): void {
  const byLabel = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const seen = new Map<string, number>();
    for (const l of debugLines(["run", rootfs, "/bin/true"])) {
      const p = parse(l);
      if (!p) continue;
      // The same request twice in one run (get link eth0) gets its own row.
      const k = seen.has(p.label) ? `${p.label} (again)` : p.label;
      seen.set(p.label, 1);
      byLabel.set(k, [...(byLabel.get(k) ?? []), p.ms]);
    }
  }
  console.log(`| step (\`--log-level debug\`, ${n} runs of \`mini run ROOTFS /bin/true\`) | median ms |\n|---|---:|`);
  for (const [label, ms] of byLabel) console.log(`| ${label} | ${fmt(median(ms))} |`);
}

function first(): void {
  const totals: number[] = [];
  const nft: number[] = [];
  for (let i = 0; i < n; i++) {
    const store = mkdtempSync("/tmp/mini-bench-net-first-");
    try {
      const env = { ...process.env, MINI_ROOT: `${store}/lib`, MINI_RUN_ROOT: `${store}/run` };
      const r = Bun.spawnSync(
        [
          "unshare",
          "--net",
          "sh",
          "-c",
          'ip link set lo up && exec "$@"',
          "_",
          mini,
          "--log-level",
          "debug",
          "run",
          rootfs,
          "/bin/true",
        ],
        { env, stdout: "ignore", stderr: "pipe" },
      );
      const lines = r.stderr.toString().split("\n").map(parse);
      totals.push(lines.find((p) => p?.label.startsWith("network: attached"))?.ms ?? Number.NaN);
      nft.push(lines.find((p) => p?.label.startsWith("firewall: table"))?.ms ?? Number.NaN);
    } finally {
      rmSync(store, { recursive: true, force: true });
    }
  }
  console.log(`| first use in a fresh namespace: the whole network step (median of ${n}) | ${fmt(median(totals))} |`);
  console.log(`| … of which the nft transaction that makes mini's table | ${fmt(median(nft))} |`);
}

async function firstAnswer(port: number): Promise<number> {
  for (;;) {
    const answer = await new Promise<boolean>((resolve) => {
      Bun.connect({
        hostname: "127.0.0.1",
        port,
        socket: {
          data(s) {
            resolve(true);
            s.end();
          },
          close() {
            resolve(false);
          },
          connectError() {
            resolve(false);
          },
          error() {
            resolve(false);
          },
        },
      }).catch(() => resolve(false));
    });
    if (answer) return performance.now();
  }
}

async function answer(): Promise<void> {
  const port = Number(portText ?? 8089);
  const runMs: number[] = [];
  const answerMs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = Bun.spawnSync([mini, "run", "-d", "-p", `${port}:80`, rootfs, "/netecho", "serve", "80"], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const t1 = performance.now();
    if (r.exitCode !== 0) throw new Error(`mini run -d: ${r.stderr.toString()}`);
    const t2 = await firstAnswer(port);
    runMs.push(t1 - t0);
    answerMs.push(t2 - t1);
    Bun.spawnSync([mini, "rm", "-f", r.stdout.toString().trim()], { stdout: "ignore", stderr: "ignore" });
  }
  console.log(
    `| \`mini run -d -p ${port}:80 ROOTFS /netecho serve 80\` until it returns (median of ${n}) | ${fmt(median(runMs))} |`,
  );
  console.log(
    `| from its return to the first answer on 127.0.0.1:${port} (median; max ${fmt(Math.max(...answerMs))}) | ${fmt(median(answerMs))} |`,
  );
}

if (mode === "steps") steps();
else if (mode === "first") first();
else if (mode === "answer") await answer();
else {
  console.error("usage: net-steps.ts steps|first|answer MINI ROOTFS N [PORT]");
  process.exit(2);
}
