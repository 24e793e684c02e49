// Resource usage of a container's cgroups (mini stats): CPU time, memory, pids; v1 and v2.
import { posix } from "node:path";
import { readControl } from "./fsio.ts";
import type { CgroupPlan } from "./types.ts";

export interface CgroupStats {
  /** Total CPU time used, in nanoseconds. */
  cpuNs: number;
  /** Memory in use without the page cache the kernel can drop (docker's "usage"). */
  memory: number;
  /** Limit in bytes; undefined when unlimited. */
  memoryLimit?: number;
  pids: number;
}

const num = (s: string | undefined) => (s && /^\d+$/.test(s.trim()) ? Number(s.trim()) : undefined);

function statKey(text: string | undefined, key: string): number | undefined {
  const m = text && new RegExp(`^${key} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

function leafWith(plan: CgroupPlan, controller: string): string | undefined {
  if (plan.mode === "v2") return plan.leaves[0]?.dir;
  return plan.leaves.find((l) => l.controllers.includes(controller))?.dir;
}

export function readStats(plan: CgroupPlan): CgroupStats {
  const v2 = plan.mode === "v2";
  const read = (controller: string, file: string) => {
    const dir = leafWith(plan, controller);
    return dir ? readControl(posix.join(dir, file)) : undefined;
  };
  const cpuNs = v2
    ? (statKey(read("cpu", "cpu.stat"), "usage_usec") ?? 0) * 1000
    : (num(read("cpuacct", "cpuacct.usage")) ?? 0);
  const usage = num(read("memory", v2 ? "memory.current" : "memory.usage_in_bytes")) ?? 0;
  const stat = read("memory", "memory.stat");
  const inactive = v2 ? statKey(stat, "inactive_file") : statKey(stat, "total_inactive_file");
  const limit = num(read("memory", v2 ? "memory.max" : "memory.limit_in_bytes"));
  return {
    cpuNs,
    memory: Math.max(0, usage - (inactive ?? 0)),
    memoryLimit: limit !== undefined && limit < 2 ** 62 ? limit : undefined,
    pids: num(read("pids", "pids.current")) ?? 0,
  };
}
