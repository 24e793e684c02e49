// The process attributes of runtime-spec 1.2 that the kernel keeps across execve: the execution
// domain (linux.personality), the scheduler (process.scheduler), the I/O priority
// (process.ioPriority) and the CPU affinity. Planned from the spec as numbers (pure, for the child
// stage's config and exec's shim arguments), applied to the calling thread by the child stage.
import type { Spec } from "../config/types.ts";
import * as C from "../sys/constants.ts";

export interface ProcessAttrs {
  personality?: number;
  scheduler?: {
    policy: number;
    flags: number;
    nice: number;
    priority: number;
    runtime: number;
    deadline: number;
    period: number;
  };
  ioprio?: number;
  /** The container has a cpuset: an EPERM from sched_setattr is explained by it. */
  cpuset?: boolean;
}

/** Whether `spec` asks for any of them. */
export const hasProcessAttrs = (spec: Pick<Spec, "process" | "linux">): boolean =>
  !!(spec.process?.scheduler || spec.process?.ioPriority || spec.linux?.personality);

/** The numbers for `spec`'s process (or an exec's process, with the container's spec for the rest). */
export function planProcessAttrs(spec: Pick<Spec, "process" | "linux">): ProcessAttrs {
  const a: ProcessAttrs = {};
  const domain = spec.linux?.personality?.domain;
  if (domain) a.personality = domain === "LINUX32" ? C.PER_LINUX32 : C.PER_LINUX;
  const s = spec.process?.scheduler;
  if (s)
    a.scheduler = {
      policy: C.SCHED_POLICY[s.policy]!,
      flags: (s.flags ?? []).reduce((f, name) => f | C.SCHED_FLAG[name]!, 0),
      nice: s.nice ?? 0,
      priority: s.priority ?? 0,
      runtime: s.runtime ?? 0,
      deadline: s.deadline ?? 0,
      period: s.period ?? 0,
    };
  const io = spec.process?.ioPriority;
  if (io) a.ioprio = (C.IOPRIO_CLASS[io.class]! << C.IOPRIO_CLASS_SHIFT) | io.priority;
  if (spec.linux?.resources?.cpu?.cpus) a.cpuset = true;
  return a;
}

/** `mini-shim exec`'s arguments for the same attributes. */
export function processAttrArgs(a: ProcessAttrs): string[] {
  const out: string[] = [];
  if (a.personality !== undefined) out.push("--personality", String(a.personality));
  const s = a.scheduler;
  if (s)
    out.push(
      "--sched",
      [s.policy, s.flags, s.nice, s.priority, s.runtime, s.deadline, s.period].map((n) => String(n)).join(","),
    );
  if (a.ioprio !== undefined) out.push("--ioprio", String(a.ioprio));
  return out;
}

/** Applies `a` to the calling thread (the child stage's, which execs the command). */
export function applyProcessAttrs(a: ProcessAttrs): void {
  const sched = require("../sys/sched.ts") as typeof import("../sys/sched.ts");
  if (a.personality !== undefined)
    sched.personality(a.personality, a.personality === C.PER_LINUX32 ? "LINUX32" : "LINUX");
  if (a.ioprio !== undefined) sched.ioprioSet(a.ioprio, `process.ioPriority (0x${a.ioprio.toString(16)})`);
  const s = a.scheduler;
  if (s) {
    const name = Object.keys(C.SCHED_POLICY).find((k) => C.SCHED_POLICY[k] === s.policy) ?? String(s.policy);
    try {
      sched.schedSetattr(
        { ...s, runtime: BigInt(s.runtime), deadline: BigInt(s.deadline), period: BigInt(s.period) },
        `process.scheduler (${name})`,
      );
    } catch (e) {
      // The kernel refuses SCHED_DEADLINE to a task whose affinity is narrower than its root domain.
      if (a.cpuset && (e as { code?: string }).code === "EPERM")
        (e as Error).message += " (a process scheduler can't be used together with linux.resources.cpu.cpus)";
      throw e;
    }
  }
}

/**
 * The CPU affinity reset to every CPU the cgroups allow (runc's tryResetCPUAffinity): since Linux
 * 6.2 joining a cpuset no longer widens an affinity inherited from the caller (taskset, systemd).
 * Returns the failure to warn about, if any.
 */
export function resetCpuAffinity(): string | undefined {
  const sched = require("../sys/sched.ts") as typeof import("../sys/sched.ts");
  try {
    sched.schedSetaffinity(sched.cpuMask("all"), "all CPUs of the container's cpuset");
    return undefined;
  } catch (e) {
    return `${(e as Error).message}: the container may inherit mini's CPU affinity`;
  }
}
