// Reading (and creating) files inside a container's root filesystem from the host, as root.
// Every path is resolved by the kernel inside that root (openat2 RESOLVE_IN_ROOT: "..", absolute
// symlinks and magic links can't leave it), so a container that swaps a file for a symlink to a
// host path at the right moment still only reaches its own files. What is read must be a regular
// file of bounded size: a FIFO or a device (/dev/zero) there would hang mini or fill its memory.
import { closeSync, readSync } from "node:fs";
import * as C from "../sys/constants.ts";
import { EEXIST, ELOOP, ENOENT, ENOTDIR, EXDEV } from "../sys/errno.ts";
import { SyscallError } from "../sys/error.ts";
import { openat2, statxAt, unlinkat } from "../sys/fs-calls.ts";
import { UserError } from "./errors.ts";

/** Files mini reads from a container (passwd, group) are small; anything bigger is refused. */
export const MAX_CONTAINER_FILE = 1 << 20;

const RESOLVE = C.RESOLVE_IN_ROOT | C.RESOLVE_NO_MAGICLINKS;

/** An O_PATH fd of a container's root directory (a rootfs path, or /proc/PID/root of a running one). */
export function openRoot(root: string): number {
  try {
    return openat2(C.AT_FDCWD, root, C.O_PATH | C.O_DIRECTORY, 0, root);
  } catch (e) {
    if (e instanceof SyscallError && e.errno === ENOENT) throw new UserError(`rootfs ${root}: no such directory`);
    if (e instanceof SyscallError && e.errno === ENOTDIR) throw new UserError(`rootfs ${root}: not a directory`);
    throw e;
  }
}

/**
 * The text of `path` inside the root `rootFd`, or undefined when it does not exist. Throws a
 * UserError naming the file when it is not a regular file or larger than `max`.
 */
export function readInRoot(rootFd: number, path: string, what: string, max = MAX_CONTAINER_FILE): string | undefined {
  let fd: number;
  try {
    fd = openat2(rootFd, path.replace(/^\/+/, ""), C.O_RDONLY | C.O_NONBLOCK | C.O_NOCTTY, RESOLVE, `${what}`);
  } catch (e) {
    if (e instanceof SyscallError && (e.errno === ENOENT || e.errno === ENOTDIR)) return undefined;
    if (e instanceof SyscallError && (e.errno === ELOOP || e.errno === EXDEV))
      throw new UserError(`${what}: ${e.code} (symlinks that can't be followed inside the container)`);
    throw e;
  }
  try {
    const st = statxAt(fd, "", C.AT_EMPTY_PATH, what)!;
    if ((st.mode & C.S_IFMT) !== C.S_IFREG) throw new UserError(`${what} is not a regular file`);
    if (st.size > max) throw new UserError(`${what} is larger than ${max >> 10} KiB`);
    const buf = Buffer.alloc(Math.min(st.size, max) + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got <= 0) break;
      n += got;
      if (n > max) throw new UserError(`${what} is larger than ${max >> 10} KiB`);
      if (n === buf.length) break;
    }
    return buf.toString("utf8", 0, n);
  } finally {
    closeSync(fd);
  }
}

/** Creates an empty file at `path` inside the root if nothing is there (a mount point); true if it did. */
export function ensureFileInRoot(rootFd: number, path: string, mode = 0o644): boolean {
  try {
    const fd = openat2(
      rootFd,
      path.replace(/^\/+/, ""),
      C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NONBLOCK | C.O_NOCTTY | C.O_NOFOLLOW,
      RESOLVE,
      path,
      mode,
    );
    closeSync(fd);
    return true;
  } catch (e) {
    // Already there (whatever it is: the mount onto it decides), or its directory is missing.
    if (e instanceof SyscallError && [EEXIST, ENOENT, ENOTDIR].includes(e.errno)) return false;
    throw e;
  }
}

/** Removes `path` inside the root if it is an empty regular file (a mount point this run made). */
export function removeEmptyFileInRoot(rootFd: number, path: string): void {
  const rel = path.replace(/^\/+/, "");
  const slash = rel.lastIndexOf("/");
  let dir: number;
  try {
    dir = slash < 0 ? rootFd : openat2(rootFd, rel.slice(0, slash), C.O_PATH | C.O_DIRECTORY, RESOLVE, path);
  } catch {
    return;
  }
  try {
    const name = rel.slice(slash + 1);
    const st = statxAt(dir, name, C.AT_SYMLINK_NOFOLLOW, path);
    if (st && (st.mode & C.S_IFMT) === C.S_IFREG && st.size === 0) unlinkat(dir, name, 0, path);
  } catch {
    /* gone or busy: leave it */
  } finally {
    if (dir !== rootFd) closeSync(dir);
  }
}
