// Typed wrappers shaped like their man pages. Each failure throws a SyscallError naming the call,
// what it acted on and errno.
import { ptr } from "bun:ffi";
import { SyscallError } from "./error.ts";
import { cstr, errno, libc } from "./libc.ts";
import * as C from "./constants.ts";
import { EINTR, EWOULDBLOCK } from "./errno.ts";

/** Throws a SyscallError for a negative return; `path` may be a function, built only on failure. */
function check(ret: number | bigint, call: string, path: string | (() => string) = ""): number {
  const n = Number(ret);
  if (n < 0) {
    const e = errno();
    throw new SyscallError(call, typeof path === "function" ? path() : path, e);
  }
  return n;
}

const nul = (s: string | null | undefined) => (s == null ? null : cstr(s));

export function mount(
  source: string | null,
  target: string,
  fstype: string | null,
  flags: number,
  data: string | null = null,
): void {
  const what = source && source !== fstype ? source : (fstype ?? source ?? "none");
  check(
    libc().mount(nul(source), cstr(target), nul(fstype), BigInt(flags), nul(data)),
    "mount",
    `${what} on ${target}`,
  );
}

/**
 * open_tree(OPEN_TREE_CLONE): a detached copy of the mount at `path` (its whole tree with
 * `recursive`), as an fd that move_mount can attach in another mount namespace.
 */
export function openTreeClone(path: string, recursive: boolean): number {
  const p = cstr(path);
  const flags = C.OPEN_TREE_CLONE | C.O_CLOEXEC | (recursive ? C.AT_RECURSIVE : 0);
  return check(
    libc().syscall(BigInt(C.SYS_open_tree), BigInt(C.AT_FDCWD), BigInt(ptr(p)), BigInt(flags), 0n, 0n),
    "open_tree",
    path,
  );
}

/** move_mount of the detached mount `fd` onto `target`. */
export function moveMount(fd: number, target: string): void {
  const empty = cstr(""),
    t = cstr(target);
  check(
    libc().syscall(
      BigInt(C.SYS_move_mount),
      BigInt(fd),
      BigInt(ptr(empty)),
      BigInt(C.AT_FDCWD),
      BigInt(ptr(t)),
      BigInt(C.MOVE_MOUNT_F_EMPTY_PATH),
    ),
    "move_mount",
    target,
  );
}

/**
 * mount_setattr(2) on `path` (under dirfd; "" with AT_EMPTY_PATH for the fd itself): set and clear
 * MOUNT_ATTR_* flags, with `usernsFd` for MOUNT_ATTR_IDMAP. `flags`: AT_RECURSIVE, AT_EMPTY_PATH.
 */
export function mountSetattr(
  dirfd: number,
  path: string,
  flags: number,
  attr: { set: number; clr: number; usernsFd?: number },
  what = path,
): void {
  const p = cstr(path);
  const a = new BigUint64Array([BigInt(attr.set), BigInt(attr.clr), 0n, BigInt(attr.usernsFd ?? 0)]);
  check(
    libc().syscall(
      BigInt(C.syscallNumber("mount_setattr")),
      BigInt(dirfd),
      BigInt(ptr(p)),
      BigInt(flags),
      BigInt(ptr(a)),
      32n,
    ),
    "mount_setattr",
    what,
  );
}

/** The id of the mount `path` is on (statx STATX_MNT_ID), to tell one mount at a path from another. */
export function mountIdOf(path: string): bigint {
  const buf = new Uint8Array(256);
  check(libc().statx(C.AT_FDCWD, cstr(path), 0, C.STATX_MNT_ID, buf), "statx", path);
  return new DataView(buf.buffer).getBigUint64(0x90, true);
}

/** pidfd_open(2): a pidfd of `pid` (close-on-exec). */
export function pidfdOpen(pid: number): number {
  return check(
    libc().syscall(BigInt(C.syscallNumber("pidfd_open")), BigInt(pid), 0n, 0n, 0n, 0n),
    "pidfd_open",
    String(pid),
  );
}

export function umount2(target: string, flags: number): void {
  check(libc().umount2(cstr(target), flags), "umount2", target);
}

export function unshare(flags: number): void {
  check(libc().unshare(flags), "unshare", `0x${flags.toString(16)}`);
}

export function setns(fd: number, nstype: number, what = ""): void {
  check(libc().setns(fd, nstype), "setns", what);
}

export function sethostname(name: string): void {
  const b = Buffer.from(name);
  check(libc().sethostname(b, BigInt(b.length)), "sethostname", name);
}

export function setdomainname(name: string): void {
  const b = Buffer.from(name);
  check(libc().setdomainname(b, BigInt(b.length)), "setdomainname", name);
}

export function chdir(path: string): void {
  check(libc().chdir(cstr(path)), "chdir", path);
}

export function fchdir(fd: number, what = ""): void {
  check(libc().fchdir(fd), "fchdir", what);
}

export function chroot(path: string): void {
  check(libc().chroot(cstr(path)), "chroot", path);
}

export function open(path: string, flags: number, mode = 0): number {
  return check(libc().open(cstr(path), flags | C.O_CLOEXEC, mode), "open", path);
}

export function close(fd: number): void {
  libc().close(fd);
}

export function dup2(oldfd: number, newfd: number): void {
  check(libc().dup2(oldfd, newfd), "dup2", `${oldfd} to ${newfd}`);
}

export function mkdir(path: string, mode: number): void {
  check(libc().mkdir(cstr(path), mode), "mkdir", path);
}

/** glibc's makedev: major/minor → dev_t. */
export function makedev(major: number, minor: number): bigint {
  return (
    (BigInt(major & 0xfff) << 8n) | BigInt(minor & 0xff) | (BigInt(minor >>> 8) << 20n) | (BigInt(major >>> 12) << 44n)
  );
}

export function mknod(path: string, mode: number, major: number, minor: number): void {
  check(libc().mknod(cstr(path), mode, makedev(major, minor)), "mknod", path);
}

export function symlink(target: string, linkpath: string): void {
  check(libc().symlink(cstr(target), cstr(linkpath)), "symlink", `${linkpath} -> ${target}`);
}

export function umask(mask: number): number {
  return libc().umask(mask);
}

export function prctl(
  option: number,
  arg2 = 0,
  arg3 = 0,
  what: string | (() => string) = () => `prctl ${option}`,
): number {
  return check(libc().prctl(option, BigInt(arg2), BigInt(arg3), 0n, 0n), "prctl", what);
}

export function pivotRoot(newRoot: string, putOld: string): void {
  const a = cstr(newRoot),
    b = cstr(putOld);
  check(
    libc().syscall(BigInt(C.syscallNumber("pivot_root")), BigInt(ptr(a)), BigInt(ptr(b)), 0n, 0n, 0n),
    "pivot_root",
    newRoot,
  );
}

// setresuid, setresgid and setgroups as raw system calls: they change the calling thread only.
// glibc's wrappers signal every thread of the process to keep them in step (~1 ms each under
// Bun's thread count); the child stage changes credentials on the thread that then execs, which
// keeps only that thread.
const credSyscall = (name: "setgroups" | "setresuid" | "setresgid"): bigint => BigInt(C.syscallNumber(name));

/** setresuid(uid, uid, uid) for the calling thread only (see above). */
export function setresuid(uid: number): void {
  const u = BigInt(uid);
  check(libc().syscall(credSyscall("setresuid"), u, u, u, 0n, 0n), "setresuid", String(uid));
}

/** setresgid(gid, gid, gid) for the calling thread only. */
export function setresgid(gid: number): void {
  const g = BigInt(gid);
  check(libc().syscall(credSyscall("setresgid"), g, g, g, 0n, 0n), "setresgid", String(gid));
}

/** setgroups for the calling thread only. */
export function setgroups(gids: number[]): void {
  const arr = new Uint32Array(gids.length || 1);
  gids.forEach((g, i) => {
    arr[i] = g;
  });
  check(
    libc().syscall(credSyscall("setgroups"), BigInt(gids.length), BigInt(ptr(arr)), 0n, 0n, 0n),
    "setgroups",
    gids.join(","),
  );
}

/** Sets soft and hard limits of the calling process (prlimit on self). */
export function setrlimit(resource: number, soft: bigint, hard: bigint, name = String(resource)): void {
  const lim = new BigUint64Array([soft, hard]);
  check(libc().prlimit(0, resource, lim, null), "setrlimit", `${name} ${soft}:${hard}`);
}

export function getrlimit(resource: number): { soft: bigint; hard: bigint } {
  const lim = new BigUint64Array(2);
  check(libc().prlimit(0, resource, null, lim), "getrlimit", String(resource));
  return { soft: lim[0], hard: lim[1] };
}

/** Capability sets as bit masks over cap numbers 0..63 (capset v3). */
export function capset(effective: bigint, permitted: bigint, inheritable: bigint): void {
  const hdr = new Uint32Array([0x20080522, 0]);
  const data = new Uint32Array(6);
  const lo = (v: bigint) => Number(v & 0xffffffffn),
    hi = (v: bigint) => Number((v >> 32n) & 0xffffffffn);
  data.set([lo(effective), lo(permitted), lo(inheritable), hi(effective), hi(permitted), hi(inheritable)]);
  check(
    libc().syscall(BigInt(C.syscallNumber("capset")), BigInt(ptr(hdr)), BigInt(ptr(data)), 0n, 0n, 0n),
    "capset",
    "",
  );
}

/** argv/envp as NULL-terminated arrays of C strings; `keep` holds the strings alive. */
export function cVector(list: string[], keep: Buffer[]): BigUint64Array {
  const arr = new BigUint64Array(list.length + 1);
  list.forEach((s, i) => {
    const b = cstr(s);
    keep.push(b);
    arr[i] = BigInt(ptr(b));
  });
  return arr;
}

export function execve(path: string, argv: string[], envp: string[]): never {
  const keep: Buffer[] = [];
  libc().execve(cstr(path), cVector(argv, keep), cVector(envp, keep));
  throw new SyscallError("exec", path, errno());
}

/** fexecve(3): runs the file open at `fd` (a sealed memfd). */
export function fexecve(fd: number, argv: string[], envp: string[]): never {
  const keep: Buffer[] = [];
  libc().fexecve(fd, cVector(argv, keep), cVector(envp, keep));
  throw new SyscallError("fexecve", argv[0] ?? "", errno());
}

export function ioctl(fd: number, request: number, arg: Uint8Array | null, what = ""): void {
  check(libc().ioctl(fd, BigInt(request), arg), "ioctl", what);
}

/** ioctl(2) whose argument is an integer and whose result is a new fd (TIOCGPTPEER). */
export function ioctlFd(fd: number, request: number, arg: number, what = ""): number {
  return check(
    libc().syscall(BigInt(C.syscallNumber("ioctl")), BigInt(fd), BigInt(request), BigInt(arg), 0n, 0n),
    "ioctl",
    what,
  );
}

export function setsid(): void {
  check(libc().setsid(), "setsid");
}

/** Every signal back to its default action and an empty signal mask (Bun ignores SIGPIPE and SIGXFSZ). */
export function resetSignals(): void {
  const l = libc();
  // SIGKILL and SIGSTOP can't be changed; 32 and 33 are glibc's own (NPTL) real-time signals.
  for (let s = 1; s <= 64; s++)
    if (s !== C.SIGNALS.SIGKILL && s !== C.SIGNALS.SIGSTOP && s !== 32 && s !== 33) l.signal(s, null);
  l.sigprocmask(C.SIG_SETMASK, new BigUint64Array(2), null);
}

/** Marks every fd from `first` up close-on-exec (close_range with CLOSE_RANGE_CLOEXEC). */
export function closeRangeCloexec(first: number): void {
  check(
    libc().syscall(BigInt(C.SYS_close_range), BigInt(first), 0xffffffffn, BigInt(C.CLOSE_RANGE_CLOEXEC), 0n, 0n),
    "close_range",
    String(first),
  );
}

export function kill(pid: number, sig: number): boolean {
  return libc().kill(pid, sig) === 0;
}

/** The mount flags (MS_RDONLY, MS_NOSUID, …) of the filesystem holding `path` (statfs f_flags). */
export function mountFlagsOf(path: string): number {
  const buf = new BigUint64Array(15); // struct statfs is 120 bytes on 64-bit; f_flags is the 11th word
  check(libc().statfs(cstr(path), buf), "statfs", path);
  const f = Number(buf[10]);
  return (
    (f &
      (C.MS_RDONLY |
        C.MS_NOSUID |
        C.MS_NODEV |
        C.MS_NOEXEC |
        C.MS_SYNCHRONOUS |
        C.MS_MANDLOCK |
        C.MS_NOATIME |
        C.MS_NODIRATIME)) |
    (f & C.ST_RELATIME ? C.MS_RELATIME : 0)
  );
}

/** fcntl(2) with an integer argument (F_SETFD, F_SETFL, F_ADD_SEALS, …). */
export function fcntl(fd: number, cmd: number, arg: number, what = ""): number {
  return check(libc().fcntl(fd, cmd, BigInt(arg)), "fcntl", what);
}

export function chown(path: string, uid: number, gid: number): void {
  check(libc().chown(cstr(path), uid, gid), "chown", path);
}

/** A pipe whose ends are close-on-exec: [read, write]. */
export function pipe(): [number, number] {
  const fds = new Int32Array(2);
  check(libc().pipe2(fds, C.O_CLOEXEC), "pipe2");
  return [fds[0], fds[1]];
}

/** waitpid(pid, WNOHANG): undefined while it runs, else the raw wait status. */
export function waitpidNoHang(pid: number): number | undefined {
  const status = new Int32Array(1);
  const r = libc().waitpid(pid, status, C.WNOHANG);
  if (r === 0) return undefined;
  if (r < 0) throw new SyscallError("waitpid", String(pid), errno());
  return status[0];
}

/** waitpid(pid, 0): its raw wait status once it ends (EINTR retried). */
export function waitpidBlocking(pid: number): number {
  const status = new Int32Array(1);
  for (;;) {
    if (libc().waitpid(pid, status, 0) >= 0) return status[0]!;
    const e = errno();
    if (e !== EINTR) throw new SyscallError("waitpid", String(pid), e);
  }
}

/** The kernel's idea of the current directory; "(unreachable)…" when it is outside the root. */
export function getcwd(): string {
  const buf = Buffer.alloc(4096);
  if (!libc().getcwd(buf, 4096n)) throw new SyscallError("getcwd", "", errno());
  return buf.toString("utf8", 0, buf.indexOf(0));
}

/** The calling thread's permitted capability set as a mask (capget v3). */
export function capgetPermitted(): bigint {
  const hdr = new Uint32Array([0x20080522, 0]);
  const data = new Uint32Array(6);
  check(
    libc().syscall(BigInt(C.syscallNumber("capget")), BigInt(ptr(hdr)), BigInt(ptr(data)), 0n, 0n, 0n),
    "capget",
    "",
  );
  return (BigInt(data[4]) << 32n) | BigInt(data[1]);
}

/** flock(fd, LOCK_EX|LOCK_NB): true when taken, false when another holder has it. */
export function tryFlock(fd: number, what = ""): boolean {
  for (;;) {
    if (libc().flock(fd, C.LOCK_EX | C.LOCK_NB) === 0) return true;
    const e = errno();
    if (e === EWOULDBLOCK) return false;
    if (e !== EINTR) throw new SyscallError("flock", what, e);
  }
}

/** memfd_create(2), close-on-exec, with more MFD_* `flags`. */
export function memfd(name: string, flags = 0): number {
  return check(libc().memfd_create(cstr(name), C.MFD_CLOEXEC | flags), "memfd_create", name);
}

/** Writes all of `data` to `fd`, retrying short writes and EINTR. */
export function writeAll(fd: number, data: Uint8Array, what = ""): void {
  let off = 0;
  while (off < data.byteLength) {
    const part = off === 0 ? data : data.subarray(off);
    const n = Number(libc().write(fd, part, BigInt(part.byteLength)));
    if (n < 0) {
      const e = errno();
      if (e === EINTR) continue;
      throw new SyscallError("write", what, e);
    }
    off += n;
  }
}

/**
 * A sealed in-memory copy of `data` (memfd): nothing can change it after this returns, so it is
 * safe to exec even from a process a container can see (CVE-2019-5736). Close-on-exec.
 */
export function sealedMemfd(name: string, data: Uint8Array): number {
  const fd = memfd(name, C.MFD_ALLOW_SEALING);
  writeAll(fd, data, name);
  check(
    libc().fcntl(fd, C.F_ADD_SEALS, BigInt(C.F_SEAL_SEAL | C.F_SEAL_SHRINK | C.F_SEAL_GROW | C.F_SEAL_WRITE)),
    "fcntl F_ADD_SEALS",
    name,
  );
  return fd;
}
