// Control-file I/O with errors shaped like the rest of mini: `write PATH: ERRNO`, and a
// UserError naming the setting when the kernel rejects a value.

import { existsSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { posix } from "node:path";
import { SyscallError, fromNodeError } from "../sys/error.ts";
import { UserError } from "../common/errors.ts";
import { EACCES, EBUSY, EINVAL, ENODEV, ENOENT, EOVERFLOW, ERANGE } from "../sys/errno.ts";
import type { CgroupLog } from "./types.ts";

export const now = () => performance.now();

export function timed<T>(log: CgroupLog | undefined, msg: string, fn: () => T): T {
  if (!log) return fn();
  const t = now();
  try {
    return fn();
  } finally {
    log(msg, now() - t);
  }
}

export function errnoOf(e: unknown): number {
  const n = (e as NodeJS.ErrnoException)?.errno;
  return typeof n === "number" ? Math.abs(n) : 0;
}

function hint(file: string, errno: number): string {
  if (file.startsWith("memory.") && errno === EBUSY) return "the memory limit is below what the cgroup already uses";
  if (file === "memory.limit_in_bytes" && errno === EINVAL)
    return "the memory limit must not exceed the memory+swap limit";
  if (file === "memory.memsw.limit_in_bytes" && errno === EINVAL)
    return "the memory+swap limit must be at least the memory limit";
  if (file.startsWith("cpu.cfs_") || file === "cpu.max")
    return "the quota must be at least 1000 µs and the period 1000 to 1000000 µs";
  if (file.startsWith("cpuset.")) return "the CPUs or memory nodes must exist and be within the parent cgroup's";
  if (file === "cgroup.subtree_control" && errno === EBUSY)
    return "the cgroup has processes in it (cgroup v2 no-internal-process rule)";
  if (file === "cgroup.subtree_control") return "the controller is not enabled in the parent cgroup";
  if (file === "pids.max") return "use a positive number of processes";
  if (file.startsWith("cpu.rt_"))
    return "the real-time runtime must fit in the period and in what the parent cgroup has left";
  if (errno === ENODEV) return "no such block device (or it takes no I/O limits)";
  if (file.includes("weight")) return "use a weight from 10 to 1000";
  if (file.startsWith("hugetlb.")) return "the limit must be a multiple of the page size";
  return "the kernel rejected the value";
}

/** Writes one cgroup control file; `setting` (what the user asked for) is named when the kernel refuses the value. */
export function writeControl(path: string, value: string, setting?: string): void {
  try {
    writeFileSync(path, value);
  } catch (e) {
    let errno = errnoOf(e);
    // cgroupfs answers O_CREAT of a missing control file with EACCES: say ENOENT.
    if (errno === EACCES && !existsSync(path)) errno = ENOENT;
    if (!errno) throw fromNodeError(e, "write", path);
    const sys = new SyscallError("write", path, errno);
    if (errno === EINVAL || errno === EBUSY || errno === ERANGE || errno === EOVERFLOW || errno === ENODEV) {
      const file = posix.basename(path);
      const what = setting ? ` for ${setting}` : "";
      const err = new UserError(`cannot set ${file} to ${value}${what}: ${sys.message} (${hint(file, errno)})`);
      (err as Error & { cause?: unknown }).cause = sys;
      throw err;
    }
    throw sys;
  }
}

/** Reads a control file; undefined when it (or its cgroup) does not exist. */
export function readControl(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    if (errnoOf(e) === ENOENT) return undefined;
    throw fromNodeError(e, "read", path);
  }
}

/** rmdir that treats ENOENT as done; returns the errno it failed with, or 0. */
export function tryRmdir(dir: string): number {
  try {
    rmdirSync(dir);
    return 0;
  } catch (e) {
    const errno = errnoOf(e);
    return errno === ENOENT ? 0 : errno || EINVAL;
  }
}

export function sleepMs(ms: number): void {
  Bun.sleepSync(ms);
}
