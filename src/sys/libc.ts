// The only place that opens libc through bun:ffi: every libc symbol mini calls is declared in
// this one table, bound on first use (binding all of them costs ~0.3 ms, measured). The typed
// wrappers shaped like their man pages are in calls.ts, fs-calls.ts, socket.ts, seccomp.ts and
// clone.ts; nothing outside src/sys imports bun:ffi.
import { dlopen, FFIType as T, read } from "bun:ffi";

const spec = {
  __errno_location: { args: [], returns: T.ptr },
  mount: { args: [T.ptr, T.ptr, T.ptr, T.u64, T.ptr], returns: T.i32 },
  umount2: { args: [T.ptr, T.i32], returns: T.i32 },
  unshare: { args: [T.i32], returns: T.i32 },
  setns: { args: [T.i32, T.i32], returns: T.i32 },
  sethostname: { args: [T.ptr, T.u64], returns: T.i32 },
  setdomainname: { args: [T.ptr, T.u64], returns: T.i32 },
  chdir: { args: [T.ptr], returns: T.i32 },
  fchdir: { args: [T.i32], returns: T.i32 },
  chroot: { args: [T.ptr], returns: T.i32 },
  open: { args: [T.ptr, T.i32, T.u32], returns: T.i32 },
  close: { args: [T.i32], returns: T.i32 },
  dup2: { args: [T.i32, T.i32], returns: T.i32 },
  mkdir: { args: [T.ptr, T.u32], returns: T.i32 },
  mknod: { args: [T.ptr, T.u32, T.u64], returns: T.i32 },
  symlink: { args: [T.ptr, T.ptr], returns: T.i32 },
  umask: { args: [T.u32], returns: T.u32 },
  prctl: { args: [T.i32, T.u64, T.u64, T.u64, T.u64], returns: T.i32 },
  syscall: { args: [T.i64, T.u64, T.u64, T.u64, T.u64, T.u64], returns: T.i64 },
  prlimit: { args: [T.i32, T.i32, T.ptr, T.ptr], returns: T.i32 },
  execve: { args: [T.ptr, T.ptr, T.ptr], returns: T.i32 },
  fexecve: { args: [T.i32, T.ptr, T.ptr], returns: T.i32 },
  ioctl: { args: [T.i32, T.u64, T.ptr], returns: T.i32 },
  setsid: { args: [], returns: T.i32 },
  signal: { args: [T.i32, T.ptr], returns: T.ptr },
  sigprocmask: { args: [T.i32, T.ptr, T.ptr], returns: T.i32 },
  fcntl: { args: [T.i32, T.i32, T.u64], returns: T.i32 },
  waitpid: { args: [T.i32, T.ptr, T.i32], returns: T.i32 },
  kill: { args: [T.i32, T.i32], returns: T.i32 },
  getpid: { args: [], returns: T.i32 },
  statfs: { args: [T.ptr, T.ptr], returns: T.i32 },
  pipe2: { args: [T.ptr, T.i32], returns: T.i32 },
  getcwd: { args: [T.ptr, T.u64], returns: T.ptr },
  flock: { args: [T.i32, T.i32], returns: T.i32 },
  chown: { args: [T.ptr, T.u32, T.u32], returns: T.i32 },
  memfd_create: { args: [T.ptr, T.u32], returns: T.i32 },
  socket: { args: [T.i32, T.i32, T.i32], returns: T.i32 },
  openpty: { args: [T.ptr, T.ptr, T.ptr, T.ptr, T.ptr], returns: T.i32 },
  connect: { args: [T.i32, T.ptr, T.u32], returns: T.i32 },
  sendmsg: { args: [T.i32, T.ptr, T.i32], returns: T.i64 },
  recvmsg: { args: [T.i32, T.ptr, T.i32], returns: T.i64 },
  socketpair: { args: [T.i32, T.i32, T.i32, T.ptr], returns: T.i32 },
  send: { args: [T.i32, T.ptr, T.u64, T.i32], returns: T.i64 },
  recv: { args: [T.i32, T.ptr, T.u64, T.i32], returns: T.i64 },
  setsockopt: { args: [T.i32, T.i32, T.i32, T.ptr, T.u32], returns: T.i32 },
  // the *at family and xattrs (fs-calls.ts)
  openat: { args: [T.i32, T.ptr, T.i32, T.u32], returns: T.i32 },
  mkdirat: { args: [T.i32, T.ptr, T.u32], returns: T.i32 },
  mknodat: { args: [T.i32, T.ptr, T.u32, T.u64], returns: T.i32 },
  symlinkat: { args: [T.ptr, T.i32, T.ptr], returns: T.i32 },
  linkat: { args: [T.i32, T.ptr, T.i32, T.ptr, T.i32], returns: T.i32 },
  unlinkat: { args: [T.i32, T.ptr, T.i32], returns: T.i32 },
  fchownat: { args: [T.i32, T.ptr, T.u32, T.u32, T.i32], returns: T.i32 },
  fchown: { args: [T.i32, T.u32, T.u32], returns: T.i32 },
  fchmod: { args: [T.i32, T.u32], returns: T.i32 },
  fchmodat: { args: [T.i32, T.ptr, T.u32, T.i32], returns: T.i32 },
  utimensat: { args: [T.i32, T.ptr, T.ptr, T.i32], returns: T.i32 },
  futimens: { args: [T.i32, T.ptr], returns: T.i32 },
  statx: { args: [T.i32, T.ptr, T.i32, T.u32, T.ptr], returns: T.i32 },
  fsetxattr: { args: [T.i32, T.ptr, T.ptr, T.u64, T.i32], returns: T.i32 },
  lsetxattr: { args: [T.ptr, T.ptr, T.ptr, T.u64, T.i32], returns: T.i32 },
  lgetxattr: { args: [T.ptr, T.ptr, T.ptr, T.u64], returns: T.i64 },
  llistxattr: { args: [T.ptr, T.ptr, T.u64], returns: T.i64 },
  write: { args: [T.i32, T.ptr, T.u64], returns: T.i64 },
  read: { args: [T.i32, T.ptr, T.u64], returns: T.i64 },
  // the process attributes of runtime-spec 1.2 (sched.ts)
  sched_setaffinity: { args: [T.i32, T.u64, T.ptr], returns: T.i32 },
  personality: { args: [T.u64], returns: T.i32 },
} as const;

type Lib = ReturnType<typeof dlopen<typeof spec>>["symbols"];
let lib: Lib | undefined;

/** libc's symbols, opened on first use. */
export function libc(): Lib {
  lib ??= dlopen("libc.so.6", spec).symbols;
  return lib;
}

/** errno of the last failed call on this thread; read right after the call. */
export function errno(): number {
  return read.i32(libc().__errno_location()!, 0);
}

/** A NUL-terminated copy of a string, to pass as `const char *`. */
export function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`);
}
