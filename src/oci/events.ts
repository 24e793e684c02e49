// runc `events`: JSON lines about a container — "stats" (runc's Stats shape, cgroups/runc-stats.ts)
// every --interval (default 5s), "oom" when the kernel's OOM killer acts in its memory cgroup —
// until the container stops. `--stats` prints one stats line and returns.
import { posix } from "node:path";
import * as cgroups from "../cgroups/index.ts";
import { UserError } from "../common/errors.ts";
import { readFileSync } from "node:fs";
import type { OciStore } from "./state.ts";
import { printOut } from "../common/stdout.ts";

/** A Go duration ("5s", "100ms", "1m30s") in milliseconds. */
export function parseDuration(s: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let ms = 0;
  let rest = s.trim();
  if (!rest) throw new UserError(`invalid duration "${s}"`, 1);
  while (rest) {
    const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!m) throw new UserError(`invalid duration "${s}": use a Go duration like 5s or 500ms`, 1);
    ms += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  if (ms <= 0) throw new UserError(`invalid duration "${s}": must be positive`, 1);
  return ms;
}

/** The OOM-kill count of the container's memory cgroup (v1 memory.oom_control, v2 memory.events). */
function oomKills(plan: cgroups.CgroupPlan): number {
  const leaf = cgroups.memoryLeaf(plan);
  if (!leaf) return 0;
  try {
    const text = readFileSync(
      posix.join(leaf.dir, plan.mode === "v2" ? "memory.events" : "memory.oom_control"),
      "utf8",
    );
    return Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

const line = (o: object) => printOut(`${JSON.stringify(o)}\n`);

export async function events(store: OciStore, id: string, stats: boolean, intervalMs: number): Promise<number> {
  const rec = store.read(id);
  if (store.status(rec) === "stopped") throw new UserError(`container "${id}" is not running`, 1);
  const plan = rec.cgroups;
  if (!plan) throw new UserError(`container "${id}" has no cgroups`, 1);
  const statsEvent = () => ({ type: "stats", id, data: cgroups.runcStats(plan) });
  if (stats) {
    line(statsEvent());
    return 0;
  }
  let ooms = oomKills(plan);
  let next = performance.now();
  while (store.exists(id) && store.status(store.read(id)) !== "stopped") {
    const kills = oomKills(plan);
    if (kills > ooms) line({ type: "oom", id });
    ooms = kills;
    if (performance.now() >= next) {
      line(statsEvent());
      next += intervalMs;
    }
    await Bun.sleep(Math.min(200, Math.max(1, next - performance.now())));
  }
  return 0;
}
