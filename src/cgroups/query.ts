// Reading a container's cgroups: OOM kills, memory limit, member processes; pause/resume.

import { readdirSync } from "node:fs";
import { posix } from "node:path";
import { now, readControl, sleepMs, writeControl } from "./fsio.ts";
import type { CgroupLeaf, CgroupPlan } from "./types.ts";

/** The leaf that carries the memory controller (the v2 leaf on a unified host). */
export function memoryLeaf(plan: CgroupPlan): CgroupLeaf | undefined {
  if (plan.mode === "v2") return plan.leaves[0];
  return plan.leaves.find((l) => l.controllers.includes("memory"));
}

function counter(text: string | undefined, key: string): number {
  const m = text && new RegExp(`^${key} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

/** Whether the kernel OOM-killed a process in the container's memory cgroup.
 * v1: `oom_kill N` in memory.oom_control (memory.failcnt only counts limit hits); v2: memory.events. */
export function oomKilled(plan: CgroupPlan): boolean {
  const leaf = memoryLeaf(plan);
  if (!leaf) return false;
  const file = plan.mode === "v2" ? "memory.events" : "memory.oom_control";
  return counter(readControl(posix.join(leaf.dir, file)), "oom_kill") > 0;
}

/** The memory limit in bytes, or undefined when unlimited or unknown. */
export function memoryLimit(plan: CgroupPlan): number | undefined {
  const leaf = memoryLeaf(plan);
  if (!leaf) return undefined;
  const text = readControl(posix.join(leaf.dir, plan.mode === "v2" ? "memory.max" : "memory.limit_in_bytes"))?.trim();
  if (!text || !/^\d+$/.test(text)) return undefined; // "max"
  const n = BigInt(text);
  return n >= 1n << 62n ? undefined : Number(n); // v1 shows "unlimited" as 9223372036854771712
}

/** PIDs in the container's cgroups (all hierarchies, deduplicated). */
export function cgroupPids(plan: CgroupPlan): number[] {
  const pids = new Set<number>();
  for (const l of plan.leaves) {
    for (const s of (readControl(posix.join(l.dir, "cgroup.procs")) ?? "").split("\n")) if (s) pids.add(Number(s));
  }
  return [...pids].sort((a, b) => a - b);
}

/** Freezes or thaws the container (v1 freezer.state, v2 cgroup.freeze) and waits up to timeoutMs for it to settle.
 * Returns false when no freezer is available or it did not settle in time. */
export function setFrozen(plan: CgroupPlan, frozen: boolean, timeoutMs = 2000): boolean {
  const t0 = now();
  if (plan.mode === "v2") {
    const dir = plan.leaves[0]!.dir;
    writeControl(posix.join(dir, "cgroup.freeze"), frozen ? "1" : "0");
    while (counter(readControl(posix.join(dir, "cgroup.events")), "frozen") !== (frozen ? 1 : 0)) {
      if (now() - t0 > timeoutMs) return false;
      sleepMs(2);
    }
    return true;
  }
  const leaf = plan.leaves.find((l) => l.controllers.includes("freezer"));
  if (!leaf) return false;
  const state = posix.join(leaf.dir, "freezer.state");
  const want = frozen ? "FROZEN" : "THAWED";
  for (;;) {
    writeControl(state, want); // FREEZING can stall: re-writing retries it
    if (readControl(state)?.trim() === want) return true;
    if (now() - t0 > timeoutMs) {
      if (frozen) writeControl(state, "THAWED"); // don't leave it half frozen
      return false;
    }
    sleepMs(2);
  }
}

/** Pids in `dir` and every cgroup below it. */
function pidsBelow(dir: string, depth = 0): number {
  let n = (readControl(posix.join(dir, "cgroup.procs")) ?? "").split("\n").filter(Boolean).length;
  if (depth > 8) return n;
  try {
    for (const e of readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) n += pidsBelow(posix.join(dir, e.name), depth + 1);
  } catch {
    /* gone meanwhile */
  }
  return n;
}

/**
 * Why the container's cgroups can't be joined (runc's checks before a container starts), or
 * undefined: a cgroup that already holds processes, or a frozen one (its own freezer or a frozen
 * parent's), which would stop the container's process before it ever reports. `existing`: only
 * the leaves that were there before the plan (checked before anything is made: they are not the
 * container's to remove); else every leaf, once made.
 */
export function cgroupsUnusable(plan: CgroupPlan, existing: boolean): string | undefined {
  const leaves = existing ? plan.leaves.filter((l) => !plan.dirs.includes(l.dir)) : plan.leaves;
  if (existing)
    for (const l of leaves) {
      const n = pidsBelow(l.dir);
      if (n) return `container's cgroup is not empty: ${n} process(es) found (${l.dir})`;
    }
  const freezer = plan.mode === "v2" ? leaves[0] : leaves.find((l) => l.controllers.includes("freezer"));
  if (!freezer) return undefined;
  const frozen =
    plan.mode === "v2"
      ? counter(readControl(posix.join(freezer.dir, "cgroup.events")), "frozen") === 1
      : (readControl(posix.join(freezer.dir, "freezer.state"))?.trim() ?? "THAWED") !== "THAWED";
  return frozen ? `container's cgroup unexpectedly frozen (${freezer.dir})` : undefined;
}

/** Whether the container is frozen now (v1 freezer.state FROZEN, v2 cgroup.events "frozen 1"). */
export function isFrozen(plan: CgroupPlan | undefined): boolean {
  if (!plan) return false;
  if (plan.mode === "v2") return counter(readControl(posix.join(plan.leaves[0]!.dir, "cgroup.events")), "frozen") === 1;
  const leaf = plan.leaves.find((l) => l.controllers.includes("freezer"));
  return !!leaf && readControl(posix.join(leaf.dir, "freezer.state"))?.trim() === "FROZEN";
}

/** What a "cgroup" mount in the container shows: cgroup2 on v2; on v1 each leaf under its hierarchy's name. */
export function cgroupMountLeaves(plan: CgroupPlan): { v2: boolean; leaves: { name: string; dir: string }[] } {
  return {
    v2: plan.mode === "v2",
    leaves: plan.leaves.map((l) => ({ name: posix.basename(l.mountpoint), dir: l.dir })),
  };
}
