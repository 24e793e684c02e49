// Scheduling and execution-domain calls for the process about to be exec'd (runtime-spec 1.2's
// process.scheduler, ioPriority, execCPUAffinity, linux.personality). Each acts on the calling
// thread, which is the one that then calls execve (execve keeps all four).
import { ptr } from "bun:ffi";
import { IOPRIO_WHO_PROCESS, syscallNumber } from "./constants.ts";
import { SyscallError } from "./error.ts";
import { errno, libc } from "./libc.ts";

/** A cpu_set_t of 1024 CPUs with the CPUs of `list` ("0-3,7") set; every CPU when `list` is "all". */
export function cpuMask(list: string): Uint8Array {
  const mask = new Uint8Array(128);
  if (list === "all") return mask.fill(0xff);
  for (const part of list.split(",")) {
    const [a, b] = part.trim().split("-").map(Number);
    for (let c = a!; c <= (b ?? a!); c++) if (c < 1024) mask[c >> 3]! |= 1 << (c & 7);
  }
  return mask;
}

/** sched_setaffinity(2) of the calling thread. */
export function schedSetaffinity(mask: Uint8Array, what: string): void {
  if (libc().sched_setaffinity(0, BigInt(mask.byteLength), mask) < 0)
    throw new SyscallError("sched_setaffinity", what, errno());
}

export interface SchedAttr {
  policy: number;
  flags: number;
  nice: number;
  priority: number;
  runtime: bigint;
  deadline: bigint;
  period: bigint;
}

/** sched_setattr(2) of the calling thread (struct sched_attr of 56 bytes, util clamps 0). */
export function schedSetattr(a: SchedAttr, what: string): void {
  const buf = new ArrayBuffer(56);
  const v = new DataView(buf);
  v.setUint32(0, 56, true);
  v.setUint32(4, a.policy, true);
  v.setBigUint64(8, BigInt(a.flags), true);
  v.setInt32(16, a.nice, true);
  v.setUint32(20, a.priority, true);
  v.setBigUint64(24, a.runtime, true);
  v.setBigUint64(32, a.deadline, true);
  v.setBigUint64(40, a.period, true);
  const bytes = new Uint8Array(buf);
  const r = Number(libc().syscall(BigInt(syscallNumber("sched_setattr")), 0n, BigInt(ptr(bytes)), 0n, 0n, 0n));
  if (r < 0) throw new SyscallError("sched_setattr", what, errno());
}

/** ioprio_set(IOPRIO_WHO_PROCESS, 0, prio): the calling thread's I/O priority. */
export function ioprioSet(prio: number, what: string): void {
  const r = Number(
    libc().syscall(BigInt(syscallNumber("ioprio_set")), BigInt(IOPRIO_WHO_PROCESS), 0n, BigInt(prio), 0n, 0n),
  );
  if (r < 0) throw new SyscallError("ioprio_set", what, errno());
}

/** personality(2). */
export function personality(persona: number, what: string): void {
  if (libc().personality(BigInt(persona)) < 0) throw new SyscallError("personality", what, errno());
}
