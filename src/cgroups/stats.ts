// Resource usage of a container's cgroups (mini stats): CPU time, memory, pids, block I/O; v1 and v2.
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
  /** Bytes read from and written to block devices (all of them). */
  blkRead: number;
  blkWrite: number;
}

/** v1 blkio "8:0 Read 4096" lines, summed per operation over the devices. */
export function blkioBytes(text: string | undefined): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of (text ?? "").split("\n")) {
    const [dev, op, n] = line.trim().split(/\s+/);
    if (!dev?.includes(":") || n === undefined) continue;
    if (op === "Read") read += Number(n);
    else if (op === "Write") write += Number(n);
  }
  return { read, write };
}

/** v2 io.stat "8:0 rbytes=4096 wbytes=0 …" lines, summed over the devices. */
export function ioStatBytes(text: string | undefined): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const m of (text ?? "").matchAll(/\brbytes=(\d+)|\bwbytes=(\d+)/g)) {
    if (m[1] !== undefined) read += Number(m[1]);
    else write += Number(m[2]);
  }
  return { read, write };
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
  // v1: the throttle layer sees every bio of the cgroup (docker reads it too); BFQ's counters when it is empty.
  let blk = v2
    ? ioStatBytes(read("io", "io.stat"))
    : blkioBytes(read("blkio", "blkio.throttle.io_service_bytes_recursive"));
  if (!v2 && blk.read + blk.write === 0) blk = blkioBytes(read("blkio", "blkio.bfq.io_service_bytes_recursive"));
  return {
    cpuNs,
    memory: Math.max(0, usage - (inactive ?? 0)),
    memoryLimit: limit !== undefined && limit < 2 ** 62 ? limit : undefined,
    pids: num(read("pids", "pids.current")) ?? 0,
    blkRead: blk.read,
    blkWrite: blk.write,
  };
}
