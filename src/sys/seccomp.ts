// seccomp(2): SECCOMP_SET_MODE_FILTER with a classic BPF program (struct sock_filter[]).
// The filter applies to the calling thread (and, with SECCOMP_FILTER_FLAG_TSYNC, to all of them)
// and survives execve. Without no_new_privs the caller needs CAP_SYS_ADMIN (EACCES otherwise).
import { ptr } from "bun:ffi";
import {
  SECCOMP_FILTER_FLAG_NEW_LISTENER,
  SECCOMP_FILTER_FLAG_TSYNC,
  SECCOMP_SET_MODE_FILTER,
  syscallNumber,
} from "./constants.ts";
import { EACCES } from "./errno.ts";
import { SyscallError } from "./error.ts";
import { errno, libc } from "./libc.ts";

/**
 * Installs `program` (8 bytes per instruction) as a seccomp filter with SECCOMP_FILTER_FLAG_*
 * `flags`; with SECCOMP_FILTER_FLAG_NEW_LISTENER, returns the notify fd.
 */
export function seccompSetModeFilter(program: Uint8Array, flags: number): number | undefined {
  const nr = syscallNumber("seccomp");
  const len = program.length / 8;
  if (!Number.isInteger(len) || len < 1 || len > 0xffff)
    throw new Error(`seccomp: invalid program of ${program.length} bytes`);
  // struct sock_fprog { unsigned short len; struct sock_filter *filter; } (pointer at offset 8)
  const fprog = new BigUint64Array(2);
  fprog[0] = BigInt(len);
  fprog[1] = BigInt(ptr(program));
  const ret = Number(
    libc().syscall(BigInt(nr), BigInt(SECCOMP_SET_MODE_FILTER), BigInt(flags), BigInt(ptr(fprog)), 0n, 0n),
  );
  if (ret < 0) {
    const e = errno();
    const err = new SyscallError(
      "seccomp",
      `SECCOMP_SET_MODE_FILTER (${len} instructions, flags 0x${flags.toString(16)})`,
      e,
    );
    if (e === EACCES) err.message += " (loading a filter needs no_new_privs or CAP_SYS_ADMIN)";
    throw err;
  }
  if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) return ret;
  if (ret > 0 && flags & SECCOMP_FILTER_FLAG_TSYNC)
    throw new Error(`seccomp SECCOMP_FILTER_FLAG_TSYNC: thread ${ret} has another filter`);
  return undefined;
}
