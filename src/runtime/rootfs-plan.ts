// The rootfs setup as data: computed from the spec in pure code, applied by the child stage
// (rootfs-apply.ts). Destinations are paths inside the container; the applier resolves them
// inside the rootfs.
import type { Device, Spec } from "../config/types.ts";
import * as C from "../sys/constants.ts";
import { parseMountOptions } from "./mount-options.ts";

export type RootfsOp =
  | { op: "propagation"; flags: number }
  | { op: "overlay"; lower: string[]; upper: string; work: string }
  | { op: "bindRoot" }
  | {
      op: "mount";
      dest: string;
      source: string;
      fstype: string;
      flags: number;
      data: string;
      bind: boolean;
      recursive: boolean;
      propagation: number;
      /**
       * A bind whose source the parent opened (open_tree) as host root: the index of that fd among
       * those sent with the config. A user-namespaced child may not reach the source itself.
       */
      sourceFd?: number;
    }
  | {
      op: "mknod";
      dest: string;
      kind: "c" | "b" | "p";
      major: number;
      minor: number;
      mode: number;
      uid: number;
      gid: number;
    }
  | { op: "bindDevice"; dest: string; kind: "c" | "b" | "p"; major: number; minor: number }
  | { op: "symlink"; dest: string; to: string }
  | { op: "pivot" }
  | { op: "chroot" }
  | { op: "mask"; dest: string }
  | { op: "readonly"; dest: string }
  | { op: "remountReadonly"; dest: string }
  | { op: "readonlyRoot" }
  /** process.cwd made where missing, before / turns read-only (after that it can't be). */
  | { op: "workdir"; dest: string };

export interface PlanOptions {
  /** chroot instead of pivot_root (rootfs on ramfs, runc's --no-pivot). */
  noPivot?: boolean;
  /** Devices can't be created with mknod in a user namespace: bind the host's. */
  userns?: boolean;
  /** An image's rootfs: layers (top first) under a per-container upper dir, mounted on root.path. */
  overlay?: { lower: string[]; upper: string; work: string };
  /**
   * The container's cgroups, for a mount of type "cgroup": on a v2 host it becomes cgroup2; on v1
   * (where one "cgroup" mount of every hierarchy at once fails with EBUSY) a tmpfs with the
   * container's own cgroup directory of each hierarchy bound below it, as runc and docker do.
   */
  cgroups?: { v2: boolean; leaves: { name: string; dir: string }[] };
}

/** The devices every container gets (runc's and docker's set). */
const DEFAULT_DEVICES: Device[] = [
  { type: "c", path: "/dev/null", major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  { type: "c", path: "/dev/zero", major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
  { type: "c", path: "/dev/full", major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
  { type: "c", path: "/dev/random", major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
  { type: "c", path: "/dev/urandom", major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
  { type: "c", path: "/dev/tty", major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
];

const DEV_LINKS: [string, string][] = [
  ["/dev/fd", "/proc/self/fd"],
  ["/dev/stdin", "/proc/self/fd/0"],
  ["/dev/stdout", "/proc/self/fd/1"],
  ["/dev/stderr", "/proc/self/fd/2"],
];

function rootPropagation(spec: Spec): number {
  const p = spec.linux?.rootfsPropagation;
  const m = parseMountOptions(p ? [p] : []).propagation;
  return m || C.MS_PRIVATE | C.MS_REC;
}

export function planRootfs(spec: Spec, opts: PlanOptions = {}): RootfsOp[] {
  // pivot_root refuses a shared root or a shared parent of the new root, and an unbindable root
  // can't be bound onto itself: those requests are set up as slave and applied to the
  // container's / after the pivot.
  const wanted = rootPropagation(spec);
  const shared = (wanted & (C.MS_SHARED | C.MS_UNBINDABLE)) !== 0;
  const ops: RootfsOp[] = [{ op: "propagation", flags: shared ? C.MS_SLAVE | C.MS_REC : wanted }];
  if (opts.overlay) ops.push({ op: "overlay", ...opts.overlay });
  ops.push({ op: "bindRoot" });
  const mounts = spec.mounts ?? [];
  let devIsTmpfs = false;
  for (const m of mounts) {
    const o = parseMountOptions(m.options);
    if (m.type === "cgroup" && !o.bind && opts.cgroups) {
      ops.push(...cgroupMountOps(m.destination, o.flags, opts.cgroups));
      continue;
    }
    const fstype = o.bind ? "" : (m.type ?? "");
    if (m.destination === "/dev" && !o.bind) devIsTmpfs = true;
    ops.push({
      op: "mount",
      dest: m.destination,
      source: m.source ?? fstype,
      fstype,
      flags: o.flags,
      data: o.data,
      bind: o.bind || m.type === "bind",
      recursive: o.recursive,
      propagation: o.propagation,
    });
  }
  // The default devices on a /dev of our own; the config's devices always (on a bind-mounted /dev
  // an existing node is kept: rootfs-apply tolerates it).
  {
    const seen = new Set<string>();
    for (const d of [...(devIsTmpfs ? DEFAULT_DEVICES : []), ...(spec.linux?.devices ?? [])]) {
      if (seen.has(d.path)) continue;
      seen.add(d.path);
      const kind = (d.type === "u" ? "c" : d.type) as "c" | "b" | "p";
      if (opts.userns) ops.push({ op: "bindDevice", dest: d.path, kind, major: d.major ?? 0, minor: d.minor ?? 0 });
      else
        ops.push({
          op: "mknod",
          dest: d.path,
          kind,
          major: d.major ?? 0,
          minor: d.minor ?? 0,
          mode: d.fileMode ?? 0o666,
          uid: d.uid ?? 0,
          gid: d.gid ?? 0,
        });
    }
    if (devIsTmpfs) {
      for (const [dest, to] of DEV_LINKS) ops.push({ op: "symlink", dest, to });
      if (mounts.some((m) => m.destination === "/dev/pts"))
        ops.push({ op: "symlink", dest: "/dev/ptmx", to: "pts/ptmx" });
    }
  }
  ops.push(opts.noPivot ? { op: "chroot" } : { op: "pivot" });
  if (shared) ops.push({ op: "propagation", flags: wanted });
  for (const p of spec.linux?.readonlyPaths ?? []) ops.push({ op: "readonly", dest: p });
  for (const p of spec.linux?.maskedPaths ?? []) ops.push({ op: "mask", dest: p });
  if (spec.root?.readonly) {
    if (spec.process?.cwd && spec.process.cwd !== "/") ops.push({ op: "workdir", dest: spec.process.cwd });
    ops.push({ op: "readonlyRoot" });
  }
  return ops;
}

function cgroupMountOps(dest: string, flags: number, cg: NonNullable<PlanOptions["cgroups"]>): RootfsOp[] {
  const mount = (d: string, source: string, fstype: string, f: number, data: string, bind: boolean): RootfsOp => ({
    op: "mount",
    dest: d,
    source,
    fstype,
    flags: f,
    data,
    bind,
    recursive: false,
    propagation: 0,
  });
  if (cg.v2) return [mount(dest, "cgroup2", "cgroup2", flags, "", false)];
  const ops: RootfsOp[] = [mount(dest, "tmpfs", "tmpfs", C.MS_NOSUID | C.MS_NODEV | C.MS_NOEXEC, "mode=755", false)];
  for (const l of cg.leaves) {
    ops.push(
      mount(`${dest}/${l.name}`, l.dir, "", flags & (C.MS_RDONLY | C.MS_NOSUID | C.MS_NODEV | C.MS_NOEXEC), "", true),
    );
    // cpu,cpuacct is also reachable as cpu and cpuacct (docker's layout).
    if (l.name.includes(","))
      for (const part of l.name.split(",")) ops.push({ op: "symlink", dest: `${dest}/${part}`, to: l.name });
  }
  // The tmpfs holding them read-only too once its mount points exist (docker's layout).
  if (flags & C.MS_RDONLY) ops.push({ op: "remountReadonly", dest });
  return ops;
}

/** One line per op for `--log-level debug` and for tests. */
export function describeOp(op: RootfsOp): string {
  switch (op.op) {
    case "propagation":
      return `make / ${op.flags & C.MS_SHARED ? "shared" : op.flags & C.MS_SLAVE ? "slave" : "private"}${op.flags & C.MS_REC ? " (recursive)" : ""}`;
    case "overlay":
      return `mount overlay (${op.lower.length} layers, upper ${op.upper})`;
    case "bindRoot":
      return "bind rootfs onto itself";
    case "mount":
      return op.bind
        ? `bind ${op.source} on ${op.dest}${op.flags & C.MS_RDONLY ? " (ro)" : ""}`
        : `mount ${op.fstype} on ${op.dest}${op.data ? ` (${op.data})` : ""}`;
    case "mknod":
      return `mknod ${op.dest} ${op.kind} ${op.major}:${op.minor}`;
    case "bindDevice":
      return `bind host ${op.dest}`;
    case "symlink":
      return `symlink ${op.dest} -> ${op.to}`;
    case "pivot":
      return "pivot_root";
    case "chroot":
      return "chroot (no pivot)";
    case "mask":
      return `mask ${op.dest}`;
    case "readonly":
      return `read-only ${op.dest}`;
    case "remountReadonly":
      return `remount ${op.dest} read-only`;
    case "readonlyRoot":
      return "remount / read-only";
    case "workdir":
      return `working directory ${op.dest}`;
  }
}
