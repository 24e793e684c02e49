// The rootfs setup as data: computed from the spec in pure code, applied by the child stage
// (rootfs-apply.ts). Destinations are paths inside the container; the applier resolves them
// inside the rootfs.
import type { Device, IdMapping, Spec } from "../config/types.ts";
import * as C from "../sys/constants.ts";
import { parseMountOptions } from "./mount-options.ts";

export type RootfsOp =
  | { op: "propagation"; flags: number }
  | { op: "overlay"; lower: string[]; upper: string; work: string }
  | { op: "bindRoot" }
  /** No mount namespace of its own: the rootfs bind made private, so nothing under it reaches the host's peers. */
  | { op: "privateRoot" }
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
      /** rro, rnosuid, …: mount_setattr(AT_RECURSIVE) once mounted. */
      recAttrSet?: number;
      recAttrClr?: number;
      /** tmpcopyup: the new tmpfs gets a copy of the directory it covers. */
      copyUp?: boolean;
      /** An idmapped bind: the parent sets MOUNT_ATTR_IDMAP on the detached tree (sourceFd) with these maps. */
      idmap?: { uidMappings: IdMapping[]; gidMappings: IdMapping[]; recursive: boolean };
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
  /** No mount namespace of its own: chroot into the rootfs, the host's mounts untouched. */
  | { op: "chrootOnly" }
  | { op: "mask"; dest: string }
  | { op: "readonly"; dest: string }
  | { op: "remountReadonly"; dest: string; afterPivot?: boolean }
  | { op: "readonlyRoot" }
  /** Everything mounted: the console is set up here, before what follows turns read-only. */
  | { op: "finalize" }
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
  /** No mount namespace in the config: mounts are made in the runtime's (see namespaces.ts). */
  hostMounts?: boolean;
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
  // Without a mount namespace of its own nothing may change the host's "/": no propagation change.
  const shared = !opts.hostMounts && (wanted & (C.MS_SHARED | C.MS_UNBINDABLE)) !== 0;
  const ops: RootfsOp[] = opts.hostMounts
    ? []
    : [{ op: "propagation", flags: shared ? C.MS_SLAVE | C.MS_REC : wanted }];
  if (opts.overlay) ops.push({ op: "overlay", ...opts.overlay });
  ops.push({ op: "bindRoot" });
  if (opts.hostMounts) ops.push({ op: "privateRoot" });
  const mounts = spec.mounts ?? [];
  let devIsTmpfs = false;
  // Read-only tmpfs mounts (/dev among them) are made writable and turned read-only last, so that
  // /dev's nodes, a copy-up and the console can still be made in them (runc's finalizeRootfs).
  const readonlyLater: string[] = [];
  for (const m of mounts) {
    const o = parseMountOptions(m.options);
    if (m.type === "cgroup" && !o.bind && opts.cgroups) {
      ops.push(...cgroupMountOps(m.destination, o.flags, opts.cgroups));
      continue;
    }
    const bind = o.bind || m.type === "bind";
    const fstype = bind ? "" : (m.type ?? "");
    if (m.destination === "/dev" && !bind) devIsTmpfs = true;
    let flags = o.flags;
    if (!bind && (fstype === "tmpfs" || m.destination === "/dev") && flags & C.MS_RDONLY) {
      flags &= ~C.MS_RDONLY;
      readonlyLater.push(m.destination);
    }
    ops.push({
      op: "mount",
      dest: m.destination,
      source: m.source ?? fstype,
      fstype,
      flags,
      data: o.data,
      bind,
      recursive: o.recursive,
      propagation: o.propagation,
      ...(o.recAttrSet || o.recAttrClr ? { recAttrSet: o.recAttrSet, recAttrClr: o.recAttrClr } : {}),
      ...(o.copyUp && fstype === "tmpfs" ? { copyUp: true } : {}),
      ...idmapOf(m, o.idmap, o.recursive, spec),
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
  ops.push(opts.hostMounts ? { op: "chrootOnly" } : opts.noPivot ? { op: "chroot" } : { op: "pivot" });
  if (shared) ops.push({ op: "propagation", flags: wanted });
  for (const p of spec.linux?.readonlyPaths ?? []) ops.push({ op: "readonly", dest: p });
  for (const p of spec.linux?.maskedPaths ?? []) ops.push({ op: "mask", dest: p });
  if (spec.root?.readonly && spec.process?.cwd && spec.process.cwd !== "/")
    ops.push({ op: "workdir", dest: spec.process.cwd });
  ops.push({ op: "finalize" });
  for (const dest of readonlyLater) ops.push({ op: "remountReadonly", dest, afterPivot: true });
  if (spec.root?.readonly) ops.push({ op: "readonlyRoot" });
  return ops;
}

/** The idmapping of a bind: its own maps, else (idmap/ridmap alone) the container's user namespace maps. */
function idmapOf(
  m: NonNullable<Spec["mounts"]>[number],
  option: "idmap" | "ridmap" | undefined,
  rbind: boolean,
  spec: Spec,
): { idmap?: NonNullable<Extract<RootfsOp, { op: "mount" }>["idmap"]> } {
  const own = m.uidMappings?.length && m.gidMappings?.length;
  if (!own && !option) return {};
  const uidMappings = own ? m.uidMappings! : (spec.linux?.uidMappings ?? []);
  const gidMappings = own ? m.gidMappings! : (spec.linux?.gidMappings ?? []);
  // runc: "ridmap", or maps without an option on an rbind, apply to the whole tree.
  return { idmap: { uidMappings, gidMappings, recursive: option === "ridmap" || (!option && rbind) } };
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
    case "privateRoot":
      return "make the rootfs bind private (no mount namespace of its own)";
    case "mount": {
      const extra = [
        op.idmap ? (op.idmap.recursive ? "ridmap" : "idmap") : "",
        op.recAttrSet || op.recAttrClr ? "recursive attributes" : "",
        op.copyUp ? "tmpcopyup" : "",
      ].filter(Boolean);
      const more = extra.length ? ` [${extra.join(", ")}]` : "";
      return op.bind
        ? `bind ${op.source} on ${op.dest}${op.flags & C.MS_RDONLY ? " (ro)" : ""}${more}`
        : `mount ${op.fstype} on ${op.dest}${op.data ? ` (${op.data})` : ""}${more}`;
    }
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
    case "chrootOnly":
      return "chroot (in the runtime's mount namespace)";
    case "finalize":
      return "rootfs mounted (console next)";
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
