// clone3 + exec through the C trampoline (clone-trampoline.c), for the paths Bun.spawn can't
// take: a new user namespace must be created together with the pid namespace by a
// single-threaded caller. TinyCC compiles it on first use (~7 ms); the source goes through a
// memfd because TinyCC can't read files embedded in the compiled binary.
import { cc, FFIType as T } from "bun:ffi";
import source from "./clone-trampoline.c" with { type: "text" };
import { SyscallError } from "./error.ts";
import { cVector, memfd, writeAll } from "./calls.ts";
import { syscallNumber } from "./constants.ts";
import { cstr, errno, libc } from "./libc.ts";

let fn: ((...a: unknown[]) => number) | undefined;

function trampoline() {
  if (fn) return fn;
  const fd = memfd("mini-clone.c");
  writeAll(fd, Buffer.from(source), "mini-clone.c");
  const lib = cc({
    source: `/proc/self/fd/${fd}`,
    symbols: {
      mini_clone_exec: { args: [T.u64, T.i32, T.ptr, T.i32, T.i32, T.ptr, T.ptr, T.ptr, T.ptr], returns: T.i32 },
    },
  });
  libc().close(fd);
  fn = lib.symbols.mini_clone_exec as unknown as (...a: unknown[]) => number;
  return fn;
}

export interface CloneExecOptions {
  flags: number;
  /** The child reads one byte from this fd before anything else. */
  syncFd: number;
  /** fds[i] becomes fd i in the child. */
  fds: number[];
  /** setsid + TIOCSCTTY on fd 0. */
  controllingTty: boolean;
  path: string;
  argv: string[];
  env: string[];
}

/** Clones a child that waits on `syncFd`, then execs `path`. Returns its pid. */
export function cloneExec(o: CloneExecOptions): number {
  const nr = [syscallNumber("setresuid"), syscallNumber("setresgid")];
  const keep: Buffer[] = [];
  const vec = (list: string[]) => cVector(list, keep);
  const pid = trampoline()(
    BigInt(o.flags),
    o.syncFd,
    new Int32Array(o.fds),
    o.fds.length,
    o.controllingTty ? 1 : 0,
    cstr(o.path),
    vec(o.argv),
    vec(o.env),
    new BigInt64Array(nr.map(BigInt)),
  );
  if (pid < 0) throw new SyscallError("clone3", `flags 0x${o.flags.toString(16)}`, errno());
  keep.length = 0; // the strings had to stay alive until here
  return pid;
}
