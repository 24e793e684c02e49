// Unpacks one image layer (a tar, plain, gzip or zstd) into a directory used as an overlayfs
// layer, in one pass: the compressed bytes are hashed (the layer digest), decompressed, the tar
// bytes hashed (the diffID), parsed and written.
//
// Hostile layers: nothing is ever written outside destDir, and no symlink is ever followed.
//   - Names are normalized lexically first: a leading "/" is stripped (as docker does), "." and
//     empty components dropped, ".." pops a component; a ".." that would climb above the layer
//     root, a NUL byte, a component over 255 bytes or a path over 4095 bytes is refused.
//   - Every entry is created relative to an fd of its parent directory. That fd is reached from
//     an fd of destDir one component at a time with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
//     | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV) (or openat(O_NOFOLLOW|O_DIRECTORY) before Linux
//     5.6), so the kernel refuses any symlink on the way (ELOOP) instead of us checking strings:
//     `a -> /etc` then `a/passwd`, or `a -> ../../..` then `a/x`, is a UserError naming the entry.
//   - The final component is never followed either: files are created with C.O_CREAT|C.O_EXCL|
//     O_NOFOLLOW, everything else with mkdirat/mknodat/symlinkat/linkat, metadata with
//     fchownat/utimensat(AT_SYMLINK_NOFOLLOW), fchmodat2(AT_SYMLINK_NOFOLLOW) or the open fd,
//     xattrs on the open fd or through /proc/self/fd/DIRFD/NAME with lsetxattr. An existing entry
//     of another kind is removed first (a directory tree by fds too); an existing directory
//     stays and gets the new metadata.
//   - Hardlink targets are normalized the same way, must already exist in destDir, and are
//     reached through the same symlink-free parent fds; linkat(…, 0) links a symlink itself.
//   - Sizes: a file over maxFileSize (64 GiB), a PAX/long-name record over maxHeaderSize (1 MiB),
//     a bad checksum or a truncated stream is a UserError from the tar reader.
// On an error the directory is left partly written: the caller removes it.
//
// Metadata: owners (when running as root), then modes incl. setuid/setgid/sticky (chown clears
// setuid), then xattrs (chown clears security.capability), then times. Directory times are set
// at the end, deepest first, since adding entries changes them. Hardlinks get no metadata of
// their own (they share the target's inode). An entry naming the layer root itself ("./") is
// skipped: the root's own attributes belong to whoever made destDir.
//
// Xattrs kept: user.*, trusted.*, security.capability, system.posix_acl_{access,default}.
// Dropped: other security.* (SELinux/IMA/EVM labels are host policy, not image content) and
// trusted.overlay.* / user.overlay.* (a layer could otherwise forge overlayfs redirects or
// metacopy; opaque directories come only from .wh..wh..opq). A filesystem without xattr
// support (EOPNOTSUPP) is not an error.
import { mkdirSync, readdirSync } from "node:fs";
import { decodeReader, type ChunkReader, type Compression } from "./decompress.ts";
import { DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_HEADER_SIZE, readTar, type TarEntry } from "./tar.ts";
import { classifyWhiteout, OVERLAY_OPAQUE_XATTR, OVERLAY_WHITEOUT_DEV, WHITEOUT_META_PREFIX } from "./whiteout.ts";
import { SyscallError } from "../sys/error.ts";
import { UserError } from "../common/errors.ts";
import { O_DIRECTORY, O_NOFOLLOW, O_PATH, O_RDONLY } from "../sys/constants.ts";
import { writeAll } from "../sys/calls.ts";
import * as C from "../sys/constants.ts";
import {
  EAGAIN,
  EEXIST,
  EINTR,
  EISDIR,
  ELOOP,
  ENOENT,
  ENOSYS,
  ENOTDIR,
  EOPNOTSUPP,
  EPERM,
  EXDEV,
} from "../sys/errno.ts";
import * as F from "../sys/fs-calls.ts";

export interface UnpackOptions {
  /** Largest file accepted (default 64 GiB). */
  maxFileSize?: number;
  /** Largest PAX / GNU long-name record accepted (default 1 MiB). */
  maxHeaderSize?: number;
  /** Apply the tar's uid/gid (default: when running as root). */
  sameOwner?: boolean;
  /** "sha256:…" the compressed blob must hash to (checked at the end; UserError otherwise). */
  expectDigest?: string;
  /** "sha256:…" the uncompressed tar must hash to. */
  expectDiffID?: string;
  /** Sees every input (compressed) chunk as it is read: to keep a copy of the blob, count progress. */
  onInput?: (chunk: Uint8Array) => void;
  /** How parent directories are reached: openat2 (default; falls back by itself on ENOSYS) or
   *  per-component openat(O_NOFOLLOW), the pre-5.6 way, forced here for tests. */
  resolveWith?: "openat2" | "openat";
}

export interface UnpackResult {
  /** sha256 of the uncompressed tar: the image config's rootfs.diff_ids entry. */
  diffID: string;
  /** sha256 of the bytes read (the blob as given): the manifest's layer digest. */
  digest: string;
  /** Bytes read from the input stream (the blob size). */
  size: number;
  /** Bytes of the uncompressed tar. */
  uncompressedSize: number;
  compression: Compression;
  /** Tar entries processed (whiteouts included). */
  entries: number;
}

const RESOLVE = C.RESOLVE_BENEATH | C.RESOLVE_NO_SYMLINKS | C.RESOLVE_NO_MAGICLINKS | C.RESOLVE_NO_XDEV;
const NAME_MAX = 255,
  PATH_MAX = 4095;
const DIR_CACHE = 64;

/** Unpacks a layer stream into `destDir` (created if missing). See the top of this file. */
export async function unpackLayer(
  stream: ReadableStream<Uint8Array> | ChunkReader,
  destDir: string,
  opts: UnpackOptions = {},
): Promise<UnpackResult> {
  const blobHash = new Bun.CryptoHasher("sha256");
  const tarHash = new Bun.CryptoHasher("sha256");
  let size = 0,
    tarSize = 0,
    entries = 0;
  const { compression, reader: tar } = await decodeReader(stream, {
    onInput: (c) => {
      blobHash.update(c);
      size += c.byteLength;
      opts.onInput?.(c);
    },
  });
  let u: Unpacker | undefined;
  try {
    mkdirSync(destDir, { recursive: true });
    u = new Unpacker(destDir, opts.sameOwner ?? process.getuid?.() === 0, opts.resolveWith !== "openat");
  } catch (err) {
    await tar.cancel().catch(() => {});
    throw err;
  }
  try {
    const it = readTar(tar, {
      maxFileSize: opts.maxFileSize ?? DEFAULT_MAX_FILE_SIZE,
      maxHeaderSize: opts.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE,
      onBytes: (c) => {
        tarSize += c.byteLength;
        if (compression !== "none") tarHash.update(c);
      },
    });
    for await (const e of it) {
      entries++;
      await u.entry(e);
    }
    u.finish();
  } finally {
    u.close();
  }
  const digest = `sha256:${blobHash.digest("hex")}`;
  const diffID = compression === "none" ? digest : `sha256:${tarHash.digest("hex")}`;
  if (opts.expectDigest && opts.expectDigest !== digest)
    throw new UserError(`layer digest mismatch: expected ${opts.expectDigest}, got ${digest}`);
  if (opts.expectDiffID && opts.expectDiffID !== diffID)
    throw new UserError(`layer diffID mismatch: expected ${opts.expectDiffID}, got ${diffID}`);
  return { diffID, digest, size, uncompressedSize: tarSize, compression, entries };
}

/** The layer-relative components of an entry name; throws for names that leave the layer. */
export function normalizeEntryPath(name: string, what = "entry"): string[] {
  const bad = (why: string) => new UserError(`layer ${what} ${JSON.stringify(name)}: ${why}`);
  if (name.includes("\0")) throw bad("NUL byte in the name");
  const out: string[] = [];
  let bytes = 0;
  for (const c of name.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") {
      if (!out.length) throw bad("path leaves the layer (..)");
      out.pop();
      continue;
    }
    const n = Buffer.byteLength(c);
    if (n > NAME_MAX) throw bad(`name component longer than ${NAME_MAX} bytes`);
    bytes += n + 1;
    out.push(c);
  }
  if (bytes > PATH_MAX) throw bad(`path longer than ${PATH_MAX} bytes`);
  return out;
}

/** Xattrs a layer may set on its files (see the top of this file). */
function xattrAllowed(name: string): boolean {
  if (name.startsWith("user.")) return !name.startsWith("user.overlay.");
  if (name.startsWith("trusted.")) return !name.startsWith("trusted.overlay.");
  return name === "security.capability" || name === "system.posix_acl_access" || name === "system.posix_acl_default";
}

interface Times {
  atime: F.Timespec;
  mtime: F.Timespec;
}

const isDir = (st: F.StatxResult) => (st.mode & C.S_IFMT) === C.S_IFDIR;

class Unpacker {
  private root: number;
  /** Directory path ("a/b") → O_PATH fd, reached without symlinks. Most recently used last. */
  private dirs = new Map<string, number>();
  /** Directory times to set at the end, by path. */
  private dirTimes = new Map<string, Times>();
  constructor(
    private destDir: string,
    private sameOwner: boolean,
    private haveOpenat2: boolean,
  ) {
    this.root = F.openat(C.AT_FDCWD, destDir, O_PATH | O_DIRECTORY, 0, destDir);
  }

  close(): void {
    for (const fd of this.dirs.values()) F.closeFd(fd);
    this.dirs.clear();
    F.closeFd(this.root);
  }

  private refuse(e: TarEntry, why: string): never {
    throw new UserError(`layer entry ${JSON.stringify(e.name)}: ${why}`);
  }

  /** One path step below `parent`, never through a symlink or a mount; -errno on failure. */
  private step(parent: number, name: string): number {
    for (;;) {
      try {
        if (this.haveOpenat2) return F.openat2(parent, name, O_PATH | O_DIRECTORY, RESOLVE);
        return F.openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW);
      } catch (err) {
        if (!(err instanceof SyscallError)) throw err;
        if (err.errno === ENOSYS && this.haveOpenat2) {
          this.haveOpenat2 = false;
          continue;
        }
        if (err.errno === EAGAIN || err.errno === EINTR) continue;
        if (err.errno === ENOTDIR && !this.haveOpenat2) {
          // O_NOFOLLOW|O_DIRECTORY on a symlink says ENOTDIR: tell the two apart.
          const st = F.statxAt(parent, name);
          if (st && (st.mode & C.S_IFMT) === C.S_IFLNK) return -ELOOP;
        }
        return -err.errno;
      }
    }
  }

  /** O_PATH fd of the directory `comps` inside the layer, creating missing ones (0755) if asked. */
  private dir(comps: string[], e: TarEntry, create = true, what = "path"): number {
    if (!comps.length) return this.root;
    const key = comps.join("/");
    const hit = this.dirs.get(key);
    if (hit !== undefined) {
      this.dirs.delete(key);
      this.dirs.set(key, hit);
      return hit;
    }
    const parent = this.dir(comps.slice(0, -1), e, create, what);
    const name = comps[comps.length - 1];
    let fd = this.step(parent, name);
    if (fd === -ENOENT && create) {
      try {
        F.mkdirat(parent, name, 0o755, key);
      } catch (err) {
        if (!(err instanceof SyscallError && err.errno === EEXIST)) throw err;
      }
      fd = this.step(parent, name);
    }
    if (fd < 0) {
      const where = JSON.stringify(key);
      if (fd === -ELOOP) this.refuse(e, `${what} goes through the symlink ${where}`);
      if (fd === -ENOTDIR) this.refuse(e, `${what} goes through ${where}, which is not a directory`);
      if (fd === -EXDEV) this.refuse(e, `${what} leaves the layer at ${where}`);
      if (fd === -ENOENT) this.refuse(e, `${what}: ${where} does not exist in the layer`);
      throw new SyscallError("openat2", `${key} in ${this.destDir}`, -fd);
    }
    this.dirs.set(key, fd);
    return fd;
  }

  /**
   * Closes the least recently used dir fds beyond DIR_CACHE. Called only between entries, so an
   * fd handed out for the current entry is never closed (and its number never reused) under it.
   */
  private trim(): void {
    for (const [k, fd] of this.dirs) {
      if (this.dirs.size <= DIR_CACHE) break;
      this.dirs.delete(k);
      F.closeFd(fd);
    }
  }

  /** Forgets cached fds of `key` and everything below it (after removing that tree). */
  private forgetUnder(key: string): void {
    for (const [k, fd] of this.dirs) {
      if (k === key || k.startsWith(`${key}/`)) {
        this.dirs.delete(k);
        F.closeFd(fd);
      }
    }
  }

  /** Removes the tree `name` under `parent` without following symlinks. */
  private removeTree(parent: number, name: string, key: string): void {
    const fd = F.openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, key);
    try {
      for (const child of readdirSync(`/proc/self/fd/${fd}`)) {
        const st = F.statxAt(fd, child);
        if (!st) continue;
        if (isDir(st)) this.removeTree(fd, child, `${key}/${child}`);
        else F.unlinkat(fd, child, 0, `${key}/${child}`);
      }
    } finally {
      F.closeFd(fd);
    }
    F.unlinkat(parent, name, C.AT_REMOVEDIR, key);
    this.forgetUnder(key);
  }

  /** Clears the way for a new entry `name`: true when a directory is there and `keepDir`. */
  private makeRoom(parent: number, name: string, key: string, keepDir: boolean): boolean {
    const st = F.statxAt(parent, name, C.AT_SYMLINK_NOFOLLOW, key);
    if (!st) return false;
    if (isDir(st)) {
      if (keepDir) return true;
      this.removeTree(parent, name, key);
    } else {
      F.unlinkat(parent, name, 0, key);
    }
    return false;
  }

  /** Runs `create`; if the name exists, clears it (keeping a directory when asked) and retries. */
  private create<T>(parent: number, name: string, key: string, keepDir: boolean, create: () => T): T | undefined {
    try {
      return create();
    } catch (err) {
      if (!(err instanceof SyscallError && err.errno === EEXIST)) throw err;
    }
    if (this.makeRoom(parent, name, key, keepDir)) return undefined;
    return create();
  }

  async entry(e: TarEntry): Promise<void> {
    this.trim();
    const comps = normalizeEntryPath(e.name);
    if (!comps.length) return; // the layer root itself
    const name = comps[comps.length - 1];
    const parentComps = comps.slice(0, -1);
    const key = comps.join("/");
    if (e.type !== "dir") this.dirTimes.delete(key);

    const wo = classifyWhiteout(name);
    if (wo.kind === "ignore") return;
    // Inside AUFS metadata directories (.wh..wh.plnk/…): skipped with them, as docker does.
    if (parentComps.some((c) => c.startsWith(WHITEOUT_META_PREFIX))) return;
    if (wo.kind === "opaque") {
      const d = this.dir(parentComps, e);
      const fd = F.openat(d, ".", O_RDONLY | O_DIRECTORY, 0, parentComps.join("/") || ".");
      try {
        F.fsetxattr(fd, OVERLAY_OPAQUE_XATTR, new TextEncoder().encode("y"), e.name);
      } finally {
        F.closeFd(fd);
      }
      return;
    }
    if (wo.kind === "whiteout") {
      const target = wo.target;
      if (!target || target === "." || target === "..") this.refuse(e, "whiteout of an invalid name");
      const parent = this.dir(parentComps, e);
      const tkey = [...parentComps, target].join("/");
      this.dirTimes.delete(tkey);
      const { major, minor } = OVERLAY_WHITEOUT_DEV;
      this.create(parent, target, tkey, false, () => F.mknodat(parent, target, C.S_IFCHR, major, minor, e.name));
      return;
    }

    const parent = this.dir(parentComps, e);
    switch (e.type) {
      case "file":
        return this.file(e, parent, name, key);
      case "dir": {
        this.create(parent, name, key, true, () => F.mkdirat(parent, name, 0o700, e.name));
        this.meta(e, parent, name, false);
        this.dirTimes.set(key, this.times(e));
        return;
      }
      case "symlink": {
        if (!e.linkname) this.refuse(e, "symlink with an empty target");
        if (e.linkname.includes("\0")) this.refuse(e, "NUL byte in the symlink target");
        this.create(parent, name, key, false, () => F.symlinkat(e.linkname, parent, name, e.name));
        this.meta(e, parent, name, true);
        return;
      }
      case "hardlink":
        return this.hardlink(e, parent, name, key);
      case "char":
      case "block":
      case "fifo": {
        const kind = e.type === "char" ? C.S_IFCHR : e.type === "block" ? C.S_IFBLK : C.S_IFIFO;
        this.create(parent, name, key, false, () =>
          F.mknodat(parent, name, kind | 0o600, e.devmajor, e.devminor, e.name),
        );
        this.meta(e, parent, name, false);
        return;
      }
    }
  }

  private times(e: TarEntry): Times {
    const mtime = { sec: e.mtime, nsec: e.mtimeNsec };
    return { atime: e.atime ?? mtime, mtime };
  }

  private async file(e: TarEntry, parent: number, name: string, key: string): Promise<void> {
    const fd = this.create(parent, name, key, false, () =>
      F.openat(parent, name, C.O_WRONLY | C.O_CREAT | C.O_EXCL | O_NOFOLLOW, 0o600, e.name),
    )!;
    try {
      for await (const chunk of e.body()) writeAll(fd, chunk, e.name);
      if (this.sameOwner) F.fchown(fd, e.uid, e.gid, e.name);
      F.fchmod(fd, e.mode, e.name);
      for (const [k, v] of Object.entries(e.xattrs)) {
        if (!xattrAllowed(k)) continue;
        try {
          F.fsetxattr(fd, k, v, e.name);
        } catch (err) {
          if (!(err instanceof SyscallError && err.errno === EOPNOTSUPP)) throw err;
        }
      }
      const t = this.times(e);
      F.futimens(fd, t.atime, t.mtime, e.name);
    } finally {
      F.closeFd(fd);
    }
  }

  /** Owner, mode (not for symlinks), xattrs and times of a just-created non-file entry. */
  private meta(e: TarEntry, parent: number, name: string, symlink: boolean): void {
    if (this.sameOwner) F.fchownat(parent, name, e.uid, e.gid, C.AT_SYMLINK_NOFOLLOW, e.name);
    if (!symlink) F.fchmodatNoFollow(parent, name, e.mode, e.name);
    const xs = Object.entries(e.xattrs).filter(([k]) => xattrAllowed(k));
    if (xs.length) {
      // The parent is a symlink-free dir fd; lsetxattr does not follow the final name.
      const path = `/proc/self/fd/${parent}/${name}`;
      for (const [k, v] of xs) {
        try {
          F.lsetxattr(path, k, v, e.name);
        } catch (err) {
          if (!(err instanceof SyscallError)) throw err;
          if (err.errno === EOPNOTSUPP || (symlink && err.errno === EPERM)) continue;
          throw err;
        }
      }
    }
    if (e.type !== "dir") {
      const t = this.times(e);
      F.utimensat(parent, name, t.atime, t.mtime, C.AT_SYMLINK_NOFOLLOW, e.name);
    }
  }

  private hardlink(e: TarEntry, parent: number, name: string, key: string): void {
    const target = normalizeEntryPath(e.linkname, `hardlink ${JSON.stringify(e.name)} to`);
    if (!target.length) this.refuse(e, `hardlink to the layer root`);
    const tkey = target.join("/");
    if (tkey === key) return; // a link to itself
    if (tkey.startsWith(`${key}/`))
      this.refuse(e, `hardlink target ${JSON.stringify(e.linkname)} is inside the entry it replaces`);
    const tparent = this.dir(target.slice(0, -1), e, false, `hardlink target ${JSON.stringify(e.linkname)}`);
    const tname = target[target.length - 1];
    const link = () => F.linkat(tparent, tname, parent, name, 0, `${e.name} => ${e.linkname}`);
    try {
      link();
      return;
    } catch (err) {
      if (!(err instanceof SyscallError)) throw err;
      if (err.errno === ENOENT)
        this.refuse(e, `hardlink target ${JSON.stringify(e.linkname)} does not exist in the layer`);
      if (err.errno === EPERM || err.errno === EISDIR)
        this.refuse(e, `hardlink target ${JSON.stringify(e.linkname)} is a directory`);
      if (err.errno !== EEXIST) throw err;
    }
    const a = F.statxAt(tparent, tname),
      b = F.statxAt(parent, name);
    if (a && b && a.ino === b.ino && !isDir(b)) return; // already that file
    this.makeRoom(parent, name, key, false);
    try {
      link();
    } catch (err) {
      if (err instanceof SyscallError && err.errno === ENOENT)
        this.refuse(e, `hardlink target ${JSON.stringify(e.linkname)} does not exist in the layer`);
      throw err;
    }
  }

  /** Directory times, deepest first (setting a child's times leaves its parent's alone). */
  finish(): void {
    const list = [...this.dirTimes].map(([k, t]) => ({ comps: k.split("/"), t }));
    list.sort((a, b) => b.comps.length - a.comps.length);
    const e = { name: "" } as TarEntry;
    for (const { comps, t } of list) {
      this.trim();
      let parent: number;
      try {
        parent = this.dir(comps.slice(0, -1), e, false);
      } catch {
        continue;
      }
      const st = F.statxAt(parent, comps[comps.length - 1]);
      if (!st || !isDir(st)) continue;
      F.utimensat(parent, comps[comps.length - 1], t.atime, t.mtime, C.AT_SYMLINK_NOFOLLOW, comps.join("/"));
    }
  }
}
