// The *at family of file system calls and xattrs, for code that must never follow a symlink it did
// not choose to (layer unpacking, reading layers). Each failure throws a SyscallError naming the
// call, what it acted on and errno.
import { ptr } from "bun:ffi";
import { AT_SYMLINK_NOFOLLOW, O_CLOEXEC, STATX_BASIC_STATS, SYS_fchmodat2, SYS_openat2 } from "./constants.ts";
import { ENODATA, ENOENT, ENOSYS, ERANGE } from "./errno.ts";
import { SyscallError } from "./error.ts";
import { makedev } from "./calls.ts";
import { cstr, errno, libc as fs } from "./libc.ts";

function check(ret: number | bigint, call: string, what: string | (() => string)): number {
  const n = Number(ret);
  if (n < 0) throw new SyscallError(call, typeof what === "function" ? what() : what, errno());
  return n;
}

export function openat(dirfd: number, path: string, flags: number, mode = 0, what = path): number {
  return check(fs().openat(dirfd, cstr(path), flags | O_CLOEXEC, mode), "openat", what);
}

/** openat2(2) with `resolve` flags (RESOLVE_*); throws SyscallError (ENOSYS before Linux 5.6). */
export function openat2(dirfd: number, path: string, flags: number, resolve: number, what = path, mode = 0): number {
  const p = cstr(path);
  const how = new BigUint64Array([BigInt(flags | O_CLOEXEC), BigInt(mode), BigInt(resolve)]);
  return check(
    fs().syscall(BigInt(SYS_openat2), BigInt(dirfd), BigInt(ptr(p)), BigInt(ptr(how)), 24n, 0n),
    "openat2",
    what,
  );
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
      fs().syscall(BigInt(SYS_fchmodat2), BigInt(dirfd), BigInt(ptr(p)), BigInt(mode), BigInt(AT_SYMLINK_NOFOLLOW), 0n),
    );
    if (r >= 0) return;
    const e = errno();
    if (e !== ENOSYS) throw new SyscallError("fchmodat2", what, e);
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
  const r = fs().statx(dirfd, cstr(path), flags, STATX_BASIC_STATS, buf);
  if (r < 0) {
    const e = errno();
    if (e === ENOENT) return undefined;
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

/** An xattr's value as text, undefined when absent or unreadable (overlay markers in layer dirs). */
export function getxattrText(path: string, name: string): string | undefined {
  try {
    const v = lgetxattr(path, name);
    return v && Buffer.from(v).toString("utf8");
  } catch {
    return undefined;
  }
}

/** lgetxattr(2): the value, or undefined when the attribute is absent (ENODATA). */
export function lgetxattr(path: string, name: string): Uint8Array | undefined {
  const p = cstr(path),
    n = cstr(name);
  for (;;) {
    const size = Number(fs().lgetxattr(p, n, null, 0n));
    if (size < 0) {
      const e = errno();
      if (e === ENODATA) return undefined;
      throw new SyscallError("lgetxattr", `${name} on ${path}`, e);
    }
    const buf = new Uint8Array(size || 1);
    const got = Number(fs().lgetxattr(p, n, buf, BigInt(size)));
    if (got >= 0) return buf.subarray(0, got);
    if (errno() !== ERANGE /* grew meanwhile */) throw new SyscallError("lgetxattr", `${name} on ${path}`, errno());
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

export function closeFd(fd: number): void {
  fs().close(fd);
}
