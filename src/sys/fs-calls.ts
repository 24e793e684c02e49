// The *at family of file system calls, for code that must never follow a symlink it did not
// choose to (layer unpacking). Its own dlopen of libc, bound on first use; errno comes from
// libc.ts (thread-local, so either handle reads the same value). Each failure throws a
// SyscallError naming the call, what it acted on and errno.
import { dlopen, FFIType as T, ptr } from "bun:ffi";
import { O_CLOEXEC } from "./constants.ts";
import { SyscallError } from "./error.ts";
import { cstr, errno } from "./libc.ts";

const spec = {
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
  close: { args: [T.i32], returns: T.i32 },
  syscall: { args: [T.i64, T.u64, T.u64, T.u64, T.u64, T.u64], returns: T.i64 },
} as const;

type Lib = ReturnType<typeof dlopen<typeof spec>>["symbols"];
let lib: Lib | undefined;
function fs(): Lib {
  lib ??= dlopen("libc.so.6", spec).symbols;
  return lib;
}

export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EMPTY_PATH = 0x1000;

export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_IN_ROOT = 0x10;

// File-type bits live in constants.ts; re-exported for callers that use this module's namespace.
export { S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK } from "./constants.ts";

// Same numbers on x86_64 and aarch64 (system calls added after 5.1 share one table).
const SYS_openat2 = 437n;
const SYS_fchmodat2 = 452n;

function check(ret: number | bigint, call: string, what: string | (() => string)): number {
  const n = Number(ret);
  if (n < 0) throw new SyscallError(call, typeof what === "function" ? what() : what, errno());
  return n;
}

/** glibc's makedev: major/minor → dev_t. */
export function makedev(major: number, minor: number): bigint {
  return (
    (BigInt(major & 0xfff) << 8n) | BigInt(minor & 0xff) | (BigInt(minor >>> 8) << 20n) | (BigInt(major >>> 12) << 44n)
  );
}

export function openat(dirfd: number, path: string, flags: number, mode = 0, what = path): number {
  return check(fs().openat(dirfd, cstr(path), flags | O_CLOEXEC, mode), "openat", what);
}

/** openat2(2) with `resolve` flags (RESOLVE_*); throws SyscallError (ENOSYS before Linux 5.6). */
export function openat2(dirfd: number, path: string, flags: number, resolve: number, what = path): number {
  const p = cstr(path);
  const how = new BigUint64Array([BigInt(flags | O_CLOEXEC), 0n, BigInt(resolve)]);
  return check(fs().syscall(SYS_openat2, BigInt(dirfd), BigInt(ptr(p)), BigInt(ptr(how)), 24n, 0n), "openat2", what);
}

export function mkdirat(dirfd: number, path: string, mode: number, what = path): void {
  check(fs().mkdirat(dirfd, cstr(path), mode), "mkdirat", what);
}

export function mknodat(dirfd: number, path: string, mode: number, major: number, minor: number, what = path): void {
  check(fs().mknodat(dirfd, cstr(path), mode, makedev(major, minor)), "mknodat", what);
}

export function symlinkat(target: string, dirfd: number, linkpath: string, what = linkpath): void {
  check(fs().symlinkat(cstr(target), dirfd, cstr(linkpath)), "symlinkat", what);
}

/** linkat(2); flags 0 never follows `oldpath` when it is a symlink. */
export function linkat(
  olddirfd: number,
  oldpath: string,
  newdirfd: number,
  newpath: string,
  flags = 0,
  what = newpath,
): void {
  check(fs().linkat(olddirfd, cstr(oldpath), newdirfd, cstr(newpath), flags), "linkat", what);
}

export function unlinkat(dirfd: number, path: string, flags = 0, what = path): void {
  check(fs().unlinkat(dirfd, cstr(path), flags), "unlinkat", what);
}

export function fchownat(dirfd: number, path: string, uid: number, gid: number, flags: number, what = path): void {
  check(fs().fchownat(dirfd, cstr(path), uid, gid, flags), "fchownat", what);
}

export function fchown(fd: number, uid: number, gid: number, what = ""): void {
  check(fs().fchown(fd, uid, gid), "fchown", what);
}

export function fchmod(fd: number, mode: number, what = ""): void {
  check(fs().fchmod(fd, mode), "fchmod", what);
}

let haveFchmodat2 = true;
/**
 * chmod of `path` under `dirfd` without following a final symlink: fchmodat2(AT_SYMLINK_NOFOLLOW)
 * (Linux 6.6); on older kernels plain fchmodat, which follows — callers only use it on entries they
 * just created and know are not symlinks.
 */
export function fchmodatNoFollow(dirfd: number, path: string, mode: number, what = path): void {
  const p = cstr(path);
  if (haveFchmodat2) {
    const r = Number(
      fs().syscall(SYS_fchmodat2, BigInt(dirfd), BigInt(ptr(p)), BigInt(mode), BigInt(AT_SYMLINK_NOFOLLOW), 0n),
    );
    if (r >= 0) return;
    const e = errno();
    if (e !== 38 /* ENOSYS */) throw new SyscallError("fchmodat2", what, e);
    haveFchmodat2 = false;
  }
  check(fs().fchmodat(dirfd, p, mode, 0), "fchmodat", what);
}

/** A time as whole seconds since the epoch plus nanoseconds. */
export interface Timespec {
  sec: number;
  nsec: number;
}

const times = (a: Timespec, m: Timespec) =>
  new BigInt64Array([BigInt(a.sec), BigInt(a.nsec), BigInt(m.sec), BigInt(m.nsec)]);

/** utimensat(2): access and modification times of `path` under `dirfd`. */
export function utimensat(
  dirfd: number,
  path: string,
  atime: Timespec,
  mtime: Timespec,
  flags: number,
  what = path,
): void {
  check(fs().utimensat(dirfd, cstr(path), times(atime, mtime), flags), "utimensat", what);
}

/** futimens(3): the times of an open file. */
export function futimens(fd: number, atime: Timespec, mtime: Timespec, what = ""): void {
  check(fs().futimens(fd, times(atime, mtime)), "futimens", what);
}

export interface StatxResult {
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  ino: bigint;
  size: number;
  rdevMajor: number;
  rdevMinor: number;
  mtime: Timespec;
}

/** statx(2) of `path` under `dirfd`, undefined when it does not exist (ENOENT). */
export function statxAt(
  dirfd: number,
  path: string,
  flags = AT_SYMLINK_NOFOLLOW,
  what = path,
): StatxResult | undefined {
  const buf = new Uint8Array(256);
  const r = fs().statx(dirfd, cstr(path), flags, 0xfff /* STATX_BASIC_STATS */, buf);
  if (r < 0) {
    const e = errno();
    if (e === 2) return undefined;
    throw new SyscallError("statx", what, e);
  }
  const v = new DataView(buf.buffer);
  return {
    nlink: v.getUint32(0x10, true),
    uid: v.getUint32(0x14, true),
    gid: v.getUint32(0x18, true),
    mode: v.getUint16(0x1c, true),
    ino: v.getBigUint64(0x20, true),
    size: Number(v.getBigUint64(0x28, true)),
    mtime: { sec: Number(v.getBigInt64(0x70, true)), nsec: v.getUint32(0x78, true) },
    rdevMajor: v.getUint32(0x80, true),
    rdevMinor: v.getUint32(0x84, true),
  };
}

export function fsetxattr(fd: number, name: string, value: Uint8Array, what = ""): void {
  check(
    fs().fsetxattr(fd, cstr(name), value.byteLength ? value : null, BigInt(value.byteLength), 0),
    "fsetxattr",
    () => `${name} on ${what}`,
  );
}

/** lsetxattr(2): never follows a final symlink. */
export function lsetxattr(path: string, name: string, value: Uint8Array, what = path): void {
  check(
    fs().lsetxattr(cstr(path), cstr(name), value.byteLength ? value : null, BigInt(value.byteLength), 0),
    "lsetxattr",
    () => `${name} on ${what}`,
  );
}

/** lgetxattr(2): the value, or undefined when the attribute is absent (ENODATA). */
export function lgetxattr(path: string, name: string): Uint8Array | undefined {
  const p = cstr(path),
    n = cstr(name);
  for (;;) {
    const size = Number(fs().lgetxattr(p, n, null, 0n));
    if (size < 0) {
      const e = errno();
      if (e === 61 /* ENODATA */) return undefined;
      throw new SyscallError("lgetxattr", `${name} on ${path}`, e);
    }
    const buf = new Uint8Array(size || 1);
    const got = Number(fs().lgetxattr(p, n, buf, BigInt(size)));
    if (got >= 0) return buf.subarray(0, got);
    if (errno() !== 34 /* ERANGE: grew meanwhile */) throw new SyscallError("lgetxattr", `${name} on ${path}`, errno());
  }
}

/** llistxattr(2): the attribute names of `path` itself. */
export function llistxattr(path: string): string[] {
  const p = cstr(path);
  const size = check(fs().llistxattr(p, null, 0n), "llistxattr", path);
  if (size === 0) return [];
  const buf = Buffer.alloc(size);
  const got = check(fs().llistxattr(p, buf, BigInt(size)), "llistxattr", path);
  return buf.toString("utf8", 0, got).split("\0").filter(Boolean);
}

/** Writes all of `data` to `fd` (retrying short writes and EINTR). */
export function writeAll(fd: number, data: Uint8Array, what = ""): void {
  let off = 0;
  while (off < data.byteLength) {
    const part = off === 0 ? data : data.subarray(off);
    const n = Number(fs().write(fd, part, BigInt(part.byteLength)));
    if (n < 0) {
      const e = errno();
      if (e === 4) continue;
      throw new SyscallError("write", what, e);
    }
    off += n;
  }
}

export function closeFd(fd: number): void {
  fs().close(fd);
}
