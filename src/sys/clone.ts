// clone3 + exec through the C trampoline (clone-trampoline.c), for the paths Bun.spawn can't
// take: a new user namespace must be created together with the pid namespace by a
// single-threaded caller. TinyCC compiles it on first use (~7 ms); the source goes through a
// memfd because TinyCC can't read files embedded in the compiled binary.
import { cc, FFIType as T } from "bun:ffi";
import source from "./clone-trampoline.c" with { type: "text" };
import { SyscallError } from "./error.ts";
import { close, cVector, memfd, pipe, waitpidBlocking, writeAll } from "./calls.ts";
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
      mini_clone_exec: {
        args: [T.u64, T.i32, T.ptr, T.i32, T.i32, T.ptr, T.ptr, T.ptr, T.ptr, T.i32, T.i32, T.i32],
        returns: T.i32,
      },
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
  /** Join this user namespace (an open fd) instead of creating one; the other new namespaces are made in it. */
  usernsFd?: number;
  /** With usernsFd: join this time namespace (an open fd) first. */
  timensFd?: number;
}

/** What the middle process of a joined user namespace says with its exit status (clone-trampoline.c). */
const MIDDLE_FAILURES: Record<number, string> = {
  124: "setns into the time namespace",
  123: "setns into the user namespace",
  122: "unshare of the new namespaces in the joined user namespace",
  121: "clone3 of the child in the joined user namespace",
  120: "write of the child's pid",
};

/** Clones a child that waits on `syncFd`, then execs `path`. Returns its pid. */
export function cloneExec(o: CloneExecOptions): number {
  const nr = [syscallNumber("setresuid"), syscallNumber("setresgid")];
  const keep: Buffer[] = [];
  const vec = (list: string[]) => cVector(list, keep);
  const joined = o.usernsFd !== undefined;
  const pidPipe = joined ? pipe() : undefined;
  let pid: number;
  try {
    pid = trampoline()(
      BigInt(o.flags),
      o.syncFd,
      new Int32Array(o.fds),
      o.fds.length,
      o.controllingTty ? 1 : 0,
      cstr(o.path),
      vec(o.argv),
      vec(o.env),
      new BigInt64Array(nr.map(BigInt)),
      o.usernsFd ?? -1,
      o.timensFd ?? -1,
      pidPipe?.[1] ?? -1,
    );
    if (pid < 0) throw new SyscallError("clone3", `flags 0x${o.flags.toString(16)}`, errno());
    if (pidPipe) {
      // The middle process writes the child's pid and exits: reap it, return the child.
      close(pidPipe[1]);
      const buf = new Int32Array(1);
      const n = Number(libc().read(pidPipe[0], buf, 4n));
      const status = waitpidBlocking(pid);
      if (n !== 4) {
        const code = (status >> 8) & 0xff;
        throw new Error(`${MIDDLE_FAILURES[code] ?? `the joining process (status ${status})`} failed`);
      }
      pid = buf[0]!;
    }
  } finally {
    if (pidPipe) {
      close(pidPipe[0]);
      close(pidPipe[1]);
    }
  }
  keep.length = 0; // the strings had to stay alive until here
  return pid;
}
