// Moving a container's first process into its cgroups without waiting on the kernel. A write of a
// pid to cgroup.procs takes the cgroup threadgroup lock for writing, which waits for an RCU grace
// period unless another migration ran moments before: 8–16 ms of waiting (not CPU) on a 250 Hz
// kernel. Two ways around it:
//   cgroup v1: a thread that writes "0" to `tasks` moves only itself and skips that lock. The child
//     stage's main thread does so; the process it execs is wholly inside (exec ends the others).
//   cgroup2 (no thread-only move for a domain cgroup): the parent writes the pid to cgroup.procs on
//     Bun's I/O threads while the child stage starts up and builds the rootfs; the child waits for
//     its word (a byte on a pipe) before a cgroup2 mount or pivot_root, and only then makes its
//     cgroup namespace, whose root is the cgroup it is in.
// A child in a user namespace can't write the host's cgroup files: the parent moves it everywhere.
import { fromNodeError } from "../sys/error.ts";
import type { CgroupLog, CgroupPlan } from "./types.ts";

export interface JoinPlan {
  /** `tasks` files the child stage's main thread writes "0" into (v1). */
  tasks: string[];
  /** cgroup.procs files the parent writes the child's pid into (cgroup2, or a user namespace). */
  procs: string[];
}

export function planJoin(plan: Pick<CgroupPlan, "leaves">, childCanWrite: boolean): JoinPlan {
  const join: JoinPlan = { tasks: [], procs: [] };
  for (const leaf of plan.leaves) {
    if (childCanWrite && !leaf.unified) join.tasks.push(`${leaf.dir}/tasks`);
    else join.procs.push(`${leaf.dir}/cgroup.procs`);
  }
  return join;
}

/** Writes `pid` into each cgroup.procs file in turn, off the main thread. */
export async function moveIntoCgroups(procs: string[], pid: number, log?: CgroupLog): Promise<void> {
  if (procs.length === 0) return;
  // Loaded only when used: node:fs/promises costs ~600 page faults and ~3 ms of CPU to load.
  const { writeFile } = require("node:fs/promises") as typeof import("node:fs/promises");
  for (const f of procs) {
    const t0 = performance.now();
    try {
      await writeFile(f, String(pid));
    } catch (e) {
      throw fromNodeError(e, "write", f);
    }
    log?.(`move pid ${pid} into ${f}`, performance.now() - t0);
  }
}
