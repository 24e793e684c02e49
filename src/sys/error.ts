import { errnoName } from "./errno.ts";

/** A failed system call: names the call, what it acted on, and errno (`mount /proc on /x/proc: EPERM`). */
export class SyscallError extends Error {
  readonly call: string;
  readonly path: string;
  readonly errno: number;
  readonly code: string;

  constructor(call: string, path: string, errno: number) {
    const code = errnoName(errno);
    super(path ? `${call} ${path}: ${code}` : `${call}: ${code}`);
    this.name = "SyscallError";
    this.call = call;
    this.path = path;
    this.errno = errno;
    this.code = code;
  }
}

/** Turns a Node fs error (ENOENT from readFileSync, …) into the same shape as a SyscallError. */
export function fromNodeError(e: unknown, call: string, path: string): Error {
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.errno === "number") return new SyscallError(call, path, Math.abs(err.errno));
  return e as Error;
}
