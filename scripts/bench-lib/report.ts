// Markdown report for scripts/bench: reads the results dir it wrote
// (contenders.tsv, hyperfine*.json, parallel.tsv, rss.tsv, meta.txt) and prints
// the tables to stdout.
//
//   bun scripts/bench-lib/report.ts RESULTS_DIR
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface HyperfineResult {
  command: string; // the -n name: a contender key
  median: number; // seconds
  mean: number;
  stddev: number | null;
  min: number;
  max: number;
  user: number; // seconds, mean
  system: number;
}

const dir = process.argv[2];
if (!dir) {
  console.error("usage: report.ts RESULTS_DIR");
  process.exit(2);
}

const read = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), "utf8") : "");
const tsv = (name: string) =>
  read(name)
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => l.split("\t"));

const meta = Object.fromEntries(
  read("meta.txt")
    .split("\n")
    .filter((l) => l.includes("="))
    .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
);
const contenders = tsv("contenders.tsv").map(([key, label, status]) => ({ key, label, status }));
// Show the crun wrapper's own row right under crun.
const wrapAt = contenders.findIndex((c) => c.key === "wrap");
const crunAt = contenders.findIndex((c) => c.key === "crun");
if (wrapAt > crunAt && crunAt >= 0) contenders.splice(crunAt + 1, 0, ...contenders.splice(wrapAt, 1));

const seq = new Map<string, HyperfineResult>();
for (const f of readdirSync(dir).filter((f) => /^hyperfine.*\.json$/.test(f))) {
  for (const r of JSON.parse(read(f)).results as HyperfineResult[]) seq.set(r.command, r);
}
const rss = new Map(tsv("rss.tsv").map(([k, v]) => [k, Number(v)]));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const ms = (s: number) => s * 1000;
const fmt = (x: number | undefined, digits = 1) => (x === undefined || Number.isNaN(x) ? "–" : x.toFixed(digits));
const ratio = (x: number | undefined, base: number | undefined) =>
  x === undefined || !base || base <= 0 ? "–" : (x / base).toFixed(2);

// Ratio base: crun's median, minus the cost of the mount-namespace wrapper
// when crun had to run inside it (mini does not pay that wrapper).
const crun = seq.get("crun");
const wrap = seq.get("wrap");
const wrapped = meta.crun_wrapped === "1";
const crunNet = crun ? ms(crun.median) - (wrapped && wrap ? ms(wrap.median) : 0) : undefined;
const cpu = (r: HyperfineResult) => ms(r.user + r.system);
const crunCpu = crun ? cpu(crun) - (wrapped && wrap ? cpu(wrap) : 0) : undefined;

const out: string[] = [];
out.push(
  `### Start-to-exit of \`/bin/true\`, busybox rootfs (hyperfine -N, ${meta.runs} runs, warmup ${meta.warmup})`,
  "",
  "| runtime | median ms | ratio to crun | user+sys ms | CPU ratio to crun | peak RSS KiB |",
  "|---|---:|---:|---:|---:|---:|",
);
for (const c of contenders) {
  const r = seq.get(c.key);
  if (!r) {
    out.push(`| ${c.label} | ${c.status === "ok" ? "no result" : c.status} | – | – | – | – |`);
    continue;
  }
  const m = ms(r.median);
  const status = c.status === "ok" ? "" : ` (${c.status})`;
  const c0 = cpu(r);
  out.push(
    `| ${c.label}${status} | ${fmt(m)} | ${ratio(m, crunNet)} | ${fmt(c0)} | ${ratio(c0, crunCpu)} | ${rss.get(c.key) ?? "–"} |`,
  );
  if (c.key === "crun" && wrapped && wrap) {
    out.push(`| \`crun run\`, wrapper subtracted | ${fmt(crunNet)} | 1.00 | ${fmt(crunCpu)} | 1.00 | – |`);
  }
}
out.push("");
if (wrapped) {
  out.push(
    "crun 1.8.1 refuses this hybrid host while `/sys/fs/cgroup/unified/cgroup.controllers` is non-empty, so it ran " +
      "as `unshare -m sh -c 'mount --bind /dev/null …/cgroup.controllers && exec crun …'`; ratios use crun minus the wrapper row.",
  );
}
out.push(
  "user+sys: hyperfine's mean CPU time of the command and its children. Peak RSS: GNU time `%M` of one run (largest process in the tree it reaped).",
  "",
);

const par = tsv("parallel.tsv");
if (par.length) {
  out.push(
    `### ${meta.parallel} containers started in parallel (wall ms, median of ${meta.reps})`,
    "",
    "| runtime | median ms | min ms | max ms | ratio to crun | failed starts |",
    "|---|---:|---:|---:|---:|---:|",
  );
  const byKey = new Map<string, { wall: number[]; fails: number }>();
  for (const [k, , us, fails] of par) {
    const e = byKey.get(k) ?? { wall: [], fails: 0 };
    e.wall.push(Number(us) / 1000);
    e.fails += Number(fails);
    byKey.set(k, e);
  }
  const crunPar = byKey.get("crun") ? median(byKey.get("crun")!.wall) : undefined;
  for (const c of contenders) {
    const e = byKey.get(c.key);
    if (!e) continue;
    const m = median(e.wall);
    out.push(
      `| ${c.label} | ${fmt(m, 0)} | ${fmt(Math.min(...e.wall), 0)} | ${fmt(Math.max(...e.wall), 0)} | ${ratio(m, crunPar)} | ${e.fails} |`,
    );
  }
  out.push("");
}
out.push(`Host: kernel ${meta.kernel}, ${meta.nproc} CPUs; ${meta.versions ?? ""}. Raw: \`${dir}\``);
console.log(out.join("\n"));
