// Namespaces the parent prepares on its own (main) thread just before Bun.spawn, so the spawned
// child stage starts inside them, then leaves again. docs/ARCHITECTURE.md: unshare/setns act on the calling
// thread only, and Bun.spawn forks from it. Mount, cgroup and user namespaces are never entered
// here (see docs/ARCHITECTURE.md): the child creates mount and cgroup namespaces itself.
import { statSync } from "node:fs";
import type { Namespace } from "../config/types.ts";
import * as sys from "../sys/calls.ts";
import * as C from "../sys/constants.ts";
import { UserError } from "../common/errors.ts";

/** Namespace types the parent handles: pid (for children), net, uts, ipc. */
const PARENT_TYPES = ["pid", "network", "uts", "ipc"] as const;

export interface NamespaceSetup {
  /** New namespaces to unshare in the parent before spawning. */
  unshareFlags: number;
  /** Existing namespaces to join by path before spawning. */
  join: { type: string; path: string; flag: number }[];
  /** Namespaces the child stage unshares itself. */
  childFlags: number;
  /** Existing mount/cgroup namespaces the child stage joins by path (instead of new ones). */
  childJoin: { type: string; path: string; flag: number }[];
  /**
   * Namespaces only a single-threaded process may join (setns of user and time namespaces):
   * joined in C before the child stage starts (the clone trampoline, or mini-shim roexec).
   */
  userPath?: string;
  timePath?: string;
  /**
   * No mount namespace in the config: the container lives in the runtime's own (runc's reading of
   * "not listed: inherited"); its rootfs mounts are made there and removed at delete.
   */
  hostMounts?: boolean;
}

/** True when a namespace given by path is the host's own (that of PID 1). */
export function isHostNamespace(ns: Namespace): boolean {
  if (!ns.path) return false;
  const inode = (p: string) => {
    try {
      return statSync(p).ino;
    } catch {
      return undefined;
    }
  };
  const host = inode(`/proc/1/ns/${C.NAMESPACE_FILES[ns.type]}`);
  return host !== undefined && host === inode(ns.path);
}

/** `runtimePid`: whose mount namespace a config without one inherits (the runtime's, this process). */
export function planNamespaces(namespaces: Namespace[] = [], runtimePid = process.pid): NamespaceSetup {
  const setup: NamespaceSetup = { unshareFlags: 0, join: [], childFlags: 0, childJoin: [] };
  const seen = new Set<string>();
  for (const ns of namespaces) {
    const flag = C.NAMESPACE_FLAGS[ns.type];
    if (flag === undefined) throw new UserError(`linux.namespaces: unknown namespace type "${ns.type}"`);
    // runc's rule: one entry per type ("malformed spec file: duplicated ns").
    if (seen.has(ns.type)) throw new UserError(`linux.namespaces: "${ns.type}" is listed twice`);
    seen.add(ns.type);
    const parentSide = (PARENT_TYPES as readonly string[]).includes(ns.type);
    // An empty path is no path (runc).
    if (ns.path) {
      if (ns.type === "mount" || ns.type === "cgroup") setup.childJoin.push({ type: ns.type, path: ns.path, flag });
      else if (ns.type === "user") setup.userPath = ns.path;
      else if (ns.type === "time") setup.timePath = ns.path;
      else setup.join.push({ type: ns.type, path: ns.path, flag });
    } else if (parentSide) setup.unshareFlags |= flag;
    else if (ns.type === "mount" || ns.type === "cgroup" || ns.type === "time") setup.childFlags |= flag;
    else if (ns.type === "user") continue; // created by the clone3 path (spawnInUserNamespace)
  }
  // Not listed: inherited. The runtime's mount namespace is joined by the child stage (it runs in
  // a private one of roexec's), and the rootfs plan keeps the host's mounts as they are.
  if (!seen.has("mount")) {
    setup.childJoin.unshift({ type: "mount", path: `/proc/${runtimePid}/ns/mnt`, flag: C.NAMESPACE_FLAGS.mount! });
    setup.hostMounts = true;
  }
  return setup;
}

/**
 * Enters the planned namespaces on the calling thread, runs `spawn`, and returns to the original
 * namespaces whatever happens.
 */
export function withNamespaces<T>(setup: NamespaceSetup, spawn: () => T): T {
  const types = new Set<string>();
  for (const j of setup.join) types.add(j.type);
  for (const t of PARENT_TYPES) if (setup.unshareFlags & C.NAMESPACE_FLAGS[t]) types.add(t);
  const saved: { fd: number; flag: number; name: string }[] = [];
  for (const t of types) {
    const name = t === "pid" ? "pid_for_children" : C.NAMESPACE_FILES[t];
    saved.push({ fd: sys.open(`/proc/thread-self/ns/${name}`, C.O_RDONLY), flag: C.NAMESPACE_FLAGS[t], name });
  }
  try {
    for (const j of setup.join) {
      const fd = sys.open(j.path, C.O_RDONLY);
      try {
        sys.setns(fd, j.flag, j.path);
      } finally {
        sys.close(fd);
      }
    }
    if (setup.unshareFlags) sys.unshare(setup.unshareFlags);
    return spawn();
  } finally {
    for (const s of saved) {
      sys.setns(s.fd, s.flag, `back to host ${s.name}`);
      sys.close(s.fd);
    }
  }
}
