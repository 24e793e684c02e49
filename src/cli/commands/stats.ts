// mini stats [--no-stream] [CONTAINER...]: CPU %, memory usage / limit, network and block I/O, pids,
// from the cgroup files (network: the container's own network namespace, when it has one)
import type { CommandDef } from "citty";
import { totalmem, availableParallelism } from "node:os";
import type { OptDefs, OptValues } from "../argv.ts";
import { formatBytes } from "../../common/format.ts";
import { printTable } from "../format.ts";
import { resolveContainer, type ContainerRecord } from "../../state/containers.ts";
import type { CgroupStats } from "../../cgroups/index.ts";
import { listContainers } from "./ps.ts";
import { readStats } from "../../cgroups/index.ts";
import { netIO } from "../../common/proc.ts";
import { statusOf } from "../../state/status.ts";
import { printOut } from "../../common/stdout.ts";
import { normalJit } from "../../common/jit.ts";

const args = {
  "no-stream": { type: "boolean", description: "Print one sample and exit (default: refresh every second)" },
  all: { type: "boolean", alias: "a", description: "Include stopped containers" },
} as const satisfies OptDefs;

export default {
  meta: { name: "stats", description: "Show containers' resource usage" },
  args,
} satisfies CommandDef<OptDefs>;

const INTERVAL_MS = 1000;

type Sample = { s: CgroupStats; t: number; net?: { rx: number; tx: number } };

/** Network traffic of a container with a network namespace of its own (not --network host). */
function netOf(r: ContainerRecord): { rx: number; tx: number } | undefined {
  if (!r.spec.linux?.namespaces?.some((n) => n.type === "network" && !n.path)) return undefined;
  const st = statusOf(r);
  return st.pid && (st.status === "running" || st.status === "paused") ? netIO(st.pid) : undefined;
}

function sample(recs: ContainerRecord[]): Map<string, Sample> {
  const out = new Map<string, Sample>();
  for (const r of recs)
    if (r.cgroups) {
      try {
        out.set(r.id, { s: readStats(r.cgroups), t: performance.now(), net: netOf(r) });
      } catch {
        /* removed meanwhile */
      }
    }
  return out;
}

const io = (a: number, b: number) => `${formatBytes(a)} / ${formatBytes(b)}`;

function rows(
  recs: ContainerRecord[],
  before: ReturnType<typeof sample>,
  after: ReturnType<typeof sample>,
): string[][] {
  const table = [["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"]];
  for (const r of recs) {
    const a = before.get(r.id),
      b = after.get(r.id);
    if (!b) {
      table.push([r.id.slice(0, 12), r.name, "--", "-- / --", "--", "--", "--", "--"]);
      continue;
    }
    const cpu = a ? ((b.s.cpuNs - a.s.cpuNs) / ((b.t - a.t) * 1e6)) * 100 : 0;
    const limit = b.s.memoryLimit ?? totalmem();
    table.push([
      r.id.slice(0, 12),
      r.name,
      `${Math.min(cpu, 100 * availableParallelism()).toFixed(2)}%`,
      `${formatBytes(b.s.memory)} / ${formatBytes(limit)}`,
      `${((b.s.memory / limit) * 100).toFixed(2)}%`,
      b.net ? io(b.net.rx, b.net.tx) : "--",
      io(b.s.blkRead, b.s.blkWrite),
      String(b.s.pids),
    ]);
  }
  return table;
}

export async function run(values: OptValues, operands: string[]): Promise<number> {
  normalJit();
  const recs = operands.length ? operands.map(resolveContainer) : listContainers(!!values.all).map((c) => c.rec);
  let before = sample(recs);
  await Bun.sleep(values["no-stream"] ? 200 : INTERVAL_MS);
  for (;;) {
    const after = sample(recs);
    if (!values["no-stream"]) printOut("\x1b[2J\x1b[H");
    printTable(rows(recs, before, after));
    if (values["no-stream"]) return 0;
    before = after;
    await Bun.sleep(INTERVAL_MS);
  }
}
