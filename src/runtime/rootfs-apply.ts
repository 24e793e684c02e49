// Applies a rootfs plan inside the child stage's new mount namespace.
import { closeSync, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, statSync } from "node:fs";
import * as sys from "../sys/calls.ts";
import * as C from "../sys/constants.ts";
import { SyscallError } from "../sys/error.ts";
import { UserError } from "../common/errors.ts";
import { ENOENT } from "../sys/errno.ts";
import { REMOUNT_FLAGS } from "./mount-options.ts";
import { resolveInRoot } from "../common/resolve-in-root.ts";
import { describeOp, type RootfsOp } from "./rootfs-plan.ts";
import { moveRootNoPivot } from "./no-pivot.ts";
import { checkProcDestination, mask } from "./rootfs-paths.ts";
import { copyUp, openCovered } from "./tmp-copyup.ts";

export type StepLog = (what: string, ms: number) => void;

/** Creates a mount point: a file when the source is a file, else a directory (both inside the rootfs). */
/** Mount points this stage created in the rootfs, in order: removed again if setup fails before pivot_root. */
const created: { path: string; dir: boolean }[] = [];
let pivoted = false;

/** Records the components of `target` that don't exist yet (the ones mkdir -p will create). */
function recordMissing(target: string, asFile: boolean): void {
  const missing: string[] = [];
  for (let p = target; p.length > 1 && !existsSync(p); p = p.slice(0, p.lastIndexOf("/")) || "/") missing.unshift(p);
  for (const p of missing) created.push({ path: p, dir: !asFile || p !== target });
}

/**
 * Setup failed: the mount points this stage created, so that a failed run leaves a user's rootfs
 * as it found it. Before pivot_root they are removed here; after it (an exec that failed) the host
 * paths are out of view and mounted on: they are returned for the parent to remove once this
 * stage (and its mount namespace) is gone.
 */
export function undoMountpoints(): string[] {
  const list = created.map((c) => (c.dir ? `${c.path}/` : c.path));
  if (pivoted) return list;
  for (const { path } of created) {
    try {
      sys.umount2(path, C.MNT_DETACH);
    } catch {
      /* not mounted */
    }
  }
  removeMountpoints(list);
  return [];
}

/** Removes empty mount points (a trailing "/" marks a directory), newest first. */
export function removeMountpoints(list: string[]): void {
  const { rmdirSync, statSync: stat, unlinkSync } = require("node:fs") as typeof import("node:fs");
  for (const p of [...list].reverse()) {
    try {
      if (p.endsWith("/")) rmdirSync(p);
      else if (stat(p).isFile() && stat(p).size === 0) unlinkSync(p);
    } catch {
      /* not empty, or already gone: leave it */
    }
  }
}

function ensureMountpoint(target: string, asFile: boolean): void {
  if (existsSync(target)) return;
  recordMissing(target, asFile);
  try {
    if (asFile) {
      mkdirSync(target.slice(0, target.lastIndexOf("/")) || "/", { recursive: true });
      closeSync(openSync(target, "a", 0o644));
    } else mkdirSync(target, { recursive: true, mode: 0o755 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new SyscallError(asFile ? "create" : "mkdir", target, Math.abs(err.errno ?? 0) || ENOENT);
  }
}

/** True when `target` is already that device (same type and numbers); an error when it is something else. */
function existingDevice(target: string, type: number, op: { dest: string; major: number; minor: number }): boolean {
  let st: import("node:fs").Stats;
  try {
    st = lstatSync(target);
  } catch {
    return false;
  }
  // glibc's major()/minor() of a dev_t
  const dev = BigInt(st.rdev);
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  const same = (st.mode & C.S_IFMT) === type && (type === C.S_IFIFO || (major === op.major && minor === op.minor));
  if (!same) throw new UserError(`linux.devices: ${op.dest} exists and is not that device`);
  return true;
}

/** Whether a detached mount's root (an open_tree fd) is a directory. */
function isDirFd(fd: number): boolean {
  try {
    return fstatSync(fd).isDirectory();
  } catch {
    return true;
  }
}

function isFile(path: string): boolean {
  try {
    return !statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function applyMount(rootfs: string, op: Extract<RootfsOp, { op: "mount" }>): void {
  checkProcDestination(rootfs, op);
  const target = resolveInRoot(rootfs, op.dest);
  if (op.bind && op.sourceFd !== undefined) {
    // Opened by the parent as host root (open_tree): attached here whatever this user may reach.
    const fd = sourceFds[op.sourceFd]!;
    ensureMountpoint(target, !isDirFd(fd));
    sys.moveMount(fd, target);
    sys.close(fd);
    const extra = op.flags & REMOUNT_FLAGS;
    if (extra) sys.mount(null, target, null, C.MS_BIND | C.MS_REMOUNT | extra | sys.mountFlagsOf(target));
  } else if (op.bind) {
    if (!existsSync(op.source)) throw new SyscallError("bind", `${op.source} on ${op.dest}`, ENOENT);
    ensureMountpoint(target, isFile(op.source));
    sys.mount(op.source, target, null, C.MS_BIND | (op.recursive ? C.MS_REC : 0));
    const extra = op.flags & REMOUNT_FLAGS;
    if (extra) sys.mount(null, target, null, C.MS_BIND | C.MS_REMOUNT | extra | sys.mountFlagsOf(target));
  } else {
    ensureMountpoint(target, false);
    const covered = op.copyUp ? openCovered(target) : undefined;
    sys.mount(op.source, target, op.fstype, op.flags, op.data || null);
    if (covered !== undefined) copyUp(covered, target);
  }
  if (op.recAttrSet || op.recAttrClr)
    sys.mountSetattr(
      C.AT_FDCWD,
      target,
      C.AT_RECURSIVE,
      { set: op.recAttrSet ?? 0, clr: op.recAttrClr ?? 0 },
      `${op.dest} (recursive attributes)`,
    );
  if (op.propagation) sys.mount(null, target, null, op.propagation);
}

/**
 * The overlay options must fit in one page: with the lower layers all in one directory (the
 * store's layers/), chdir there and name them relatively (64 hex characters each).
 */
function mountOverlay(rootfs: string, op: Extract<RootfsOp, { op: "overlay" }>): void {
  const parent = op.lower[0].slice(0, op.lower[0].lastIndexOf("/"));
  const shared = op.lower.every((l) => l.slice(0, l.lastIndexOf("/")) === parent);
  const lower = shared ? op.lower.map((l) => l.slice(parent.length + 1)) : op.lower;
  const data = `lowerdir=${lower.join(":")},upperdir=${op.upper},workdir=${op.work}`;
  if (data.length > 4000) throw new UserError(`image has too many layers for one overlay mount (${op.lower.length})`);
  if (shared) sys.chdir(parent);
  try {
    sys.mount("overlay", rootfs, "overlay", 0, data);
  } finally {
    if (shared) sys.chdir("/");
  }
}

function pivot(rootfs: string): void {
  const oldRoot = sys.open("/", C.O_DIRECTORY | C.O_RDONLY);
  const newRoot = sys.open(rootfs, C.O_DIRECTORY | C.O_RDONLY);
  try {
    sys.fchdir(newRoot, rootfs);
    sys.pivotRoot(".", ".");
    // The old root now sits on top of the new one at "."; detach it.
    sys.fchdir(oldRoot, "old root");
    sys.mount(null, ".", null, C.MS_SLAVE | C.MS_REC);
    sys.umount2(".", C.MNT_DETACH);
  } finally {
    sys.close(oldRoot);
    sys.close(newRoot);
  }
  sys.chdir("/");
}

/**
 * The host's node for a device a user namespace can't mknod: the same path when it is that device,
 * else the node under /dev with its type and numbers (--device /dev/null:/dev/mynull).
 */
function hostNode(op: Extract<RootfsOp, { op: "bindDevice" }>): string {
  const is = (p: string) => {
    try {
      const st = statSync(p);
      const type = st.isBlockDevice() ? "b" : st.isCharacterDevice() ? "c" : st.isFIFO() ? "p" : "";
      const rdev = BigInt(st.rdev);
      const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
      const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
      return type === op.kind && major === op.major && minor === op.minor;
    } catch {
      return false;
    }
  };
  if (is(op.dest)) return op.dest;
  const search = (dir: string, depth: number): string | undefined => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory() && depth < 3 && e.name !== "pts") {
        const found = search(p, depth + 1);
        if (found) return found;
      } else if ((e.isCharacterDevice() || e.isBlockDevice()) && is(p)) return p;
    }
    return undefined;
  };
  const found = search("/dev", 0);
  if (!found) throw new SyscallError("bind", `host device ${op.kind} ${op.major}:${op.minor} on ${op.dest}`, ENOENT);
  return found;
}

function readonly(path: string): void {
  if (!existsSync(path)) return;
  sys.mount(path, path, null, C.MS_BIND | C.MS_REC);
  sys.mount(null, path, null, C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY | C.MS_REC | sys.mountFlagsOf(path));
}

/** Fds of detached bind-mount sources (plan op `sourceFd` indexes them). */
let sourceFds: number[] = [];

/** What the child stage does between the plan's steps. */
export interface ApplyHooks {
  /** Once everything is mounted, just before pivot_root/chroot (OCI createContainer hooks). */
  beforePivot?: () => void;
  /** At the plan's "finalize" step, before read-only remounts (the console). */
  atFinalize?: () => void;
  /** Before a cgroup2 mount: it shows the cgroup namespace, made once the cgroups are joined. */
  beforeCgroupMount?: () => void;
}

export function applyRootfs(
  rootfs: string,
  ops: RootfsOp[],
  log?: StepLog,
  hooks: ApplyHooks = {},
  mountFds: number[] = [],
): void {
  sourceFds = mountFds;
  for (const op of ops) {
    if (op.op === "pivot" || op.op === "chroot" || op.op === "chrootOnly") hooks.beforePivot?.();
    if (op.op === "finalize") hooks.atFinalize?.();
    if (op.op === "mount" && op.fstype === "cgroup2") hooks.beforeCgroupMount?.();
    const t0 = log ? performance.now() : 0;
    applyOp(rootfs, op);
    if (log) log(describeOp(op), performance.now() - t0);
  }
}

function applyOp(rootfs: string, op: RootfsOp): void {
  switch (op.op) {
    case "propagation":
      return sys.mount(null, "/", null, op.flags);
    case "overlay":
      return mountOverlay(rootfs, op);
    case "bindRoot":
      return sys.mount(rootfs, rootfs, null, C.MS_BIND | C.MS_REC);
    case "privateRoot":
      return sys.mount(null, rootfs, null, C.MS_PRIVATE | C.MS_REC);
    case "mount":
      return applyMount(rootfs, op);
    case "mknod": {
      const target = resolveInRoot(rootfs, op.dest);
      const type = op.kind === "b" ? C.S_IFBLK : op.kind === "p" ? C.S_IFIFO : C.S_IFCHR;
      if (existingDevice(target, type, op)) return; // a bind-mounted /dev already has it
      // /dev/net/tun, /dev/cpu/0/cpuid (--device, --privileged): the directory first.
      const parent = target.slice(0, target.lastIndexOf("/"));
      if (!existsSync(parent)) {
        recordMissing(parent, false);
        mkdirSync(parent, { recursive: true, mode: 0o755 });
      }
      const old = sys.umask(0);
      try {
        sys.mknod(target, type | op.mode, op.major, op.minor);
      } finally {
        sys.umask(old);
      }
      if (op.uid || op.gid) sys.chown(target, op.uid, op.gid);
      return;
    }
    case "bindDevice": {
      const target = resolveInRoot(rootfs, op.dest);
      ensureMountpoint(target, true);
      return sys.mount(hostNode(op), target, null, C.MS_BIND);
    }
    case "symlink": {
      const target = resolveInRoot(rootfs, op.dest);
      if (!existsSync(target)) sys.symlink(op.to, target);
      return;
    }
    case "pivot":
      pivoted = true;
      return pivot(rootfs);
    case "chroot":
      pivoted = true;
      // runc's --no-pivot: move the rootfs mount over / and chroot into it (works on ramfs,
      // where pivot_root can't). Host mounts stay below, in this mount namespace only.
      return moveRootNoPivot(rootfs);
    case "chrootOnly":
      pivoted = true;
      sys.chdir(rootfs);
      sys.chroot(".");
      return sys.chdir("/");
    case "finalize":
      return;
    case "mask":
      return mask(op.dest);
    case "readonly":
      return readonly(op.dest);
    case "remountReadonly": {
      const target = op.afterPivot ? op.dest : resolveInRoot(rootfs, op.dest);
      return sys.mount(null, target, null, C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY | sys.mountFlagsOf(target));
    }
    case "readonlyRoot":
      return sys.mount(null, "/", null, C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY | sys.mountFlagsOf("/"));
    case "workdir":
      try {
        if (!existsSync(op.dest)) mkdirSync(op.dest, { recursive: true, mode: 0o755 });
      } catch {
        /* not a directory on the way: the chdir names the problem */
      }
      return;
  }
}
