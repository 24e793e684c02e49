// Where the cgroup hierarchies are: cgroup mode, v1 mounts (from /proc/self/mountinfo),
// and the caller's own cgroup in each (from /proc/self/cgroup). Detected at every call:
// the set of v1 mounts can change while a host runs.

import { existsSync, readFileSync } from "node:fs";
import { posix } from "node:path";
import { DEFAULT_ROOT, type CgroupMode } from "./types.ts";

export interface MountEntry {
  /** The mount's root inside its file system (for cgroups: the cgroup path shown at mountpoint). */
  root: string;
  mountpoint: string;
  fstype: string;
  superOptions: string[];
}

export interface SelfCgroupEntry {
  id: number;
  /** [] for the cgroup2 line ("0::/path"). */
  controllers: string[];
  path: string;
}

/** A mounted hierarchy with the caller's own cgroup in it. */
export interface Hierarchy {
  key: string;
  controllers: string[];
  mountpoint: string;
  /** The caller's cgroup as a directory under mountpoint. */
  ownDir: string;
  unified: boolean;
}

const unescapeOctal = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(" ");
    const post = line.slice(sep + 3).split(" ");
    if (pre.length < 5 || post.length < 3) continue;
    out.push({
      root: unescapeOctal(pre[3]!),
      mountpoint: unescapeOctal(pre[4]!),
      fstype: post[0]!,
      superOptions: post[2]!.split(","),
    });
  }
  return out;
}

export function parseSelfCgroup(text: string): SelfCgroupEntry[] {
  const out: SelfCgroupEntry[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    out.push({ id: Number(m[1]), controllers: m[2] ? m[2].split(",") : [], path: m[3] || "/" });
  }
  return out;
}

const norm = (p: string) => (p.length > 1 ? posix.normalize(p).replace(/\/+$/, "") : p);
const under = (p: string, root: string) => p === root || p.startsWith(root === "/" ? "/" : `${root}/`);

function readMountinfo(): string {
  return readFileSync("/proc/self/mountinfo", "utf8");
}

/** "v2" when cgroup2 is mounted at root (unified), else "v1" (legacy or hybrid). */
export function detectMode(root: string = DEFAULT_ROOT, mountinfo?: string): CgroupMode {
  const r = norm(root);
  let text = mountinfo;
  if (text === undefined) {
    try {
      text = readMountinfo();
    } catch {
      text = "";
    }
  }
  const at = parseMountinfo(text).filter((m) => norm(m.mountpoint) === r);
  const top = at[at.length - 1]; // the last mount on a path hides the earlier ones
  if (top) return top.fstype === "cgroup2" ? "v2" : "v1";
  // Not a mount point (a test's fake tree): a cgroup2 root has cgroup.controllers.
  return existsSync(posix.join(r, "cgroup.controllers")) ? "v2" : "v1";
}

/** Maps the caller's cgroup path onto a mount whose root is mountRoot. */
function ownDirIn(mountpoint: string, mountRoot: string, ownPath: string): string {
  const mr = norm(mountRoot);
  const op = norm(ownPath);
  if (!under(op, mr)) return mountpoint; // our cgroup is not visible through this mount
  return norm(posix.join(mountpoint, op.slice(mr === "/" ? 0 : mr.length)));
}

/**
 * The hierarchies to place a container in. v2: the one cgroup2 tree at root.
 * v1: every v1 hierarchy mounted under root, plus a hybrid cgroup2 mount under root.
 */
export function findHierarchies(mode: CgroupMode, root: string, mountinfo: string, selfCgroup: string): Hierarchy[] {
  const r = norm(root);
  const self = parseSelfCgroup(selfCgroup);
  const v2self = self.find((e) => e.id === 0 && e.controllers.length === 0);
  if (mode === "v2") {
    const m = parseMountinfo(mountinfo)
      .filter((x) => x.fstype === "cgroup2" && norm(x.mountpoint) === r)
      .pop();
    return [
      {
        key: "",
        controllers: [],
        mountpoint: r,
        ownDir: ownDirIn(r, m?.root ?? "/", v2self?.path ?? "/"),
        unified: true,
      },
    ];
  }
  const mounts = parseMountinfo(mountinfo).filter(
    (m) =>
      (m.fstype === "cgroup" || m.fstype === "cgroup2") && under(norm(m.mountpoint), r) && norm(m.mountpoint) !== r,
  );
  // Prefer a mount of the hierarchy's root, then the shortest path (bind mounts of subtrees come later).
  const rank = (m: MountEntry) => (m.root === "/" ? 0 : 1e6) + m.mountpoint.length;
  const pick = (c: MountEntry[]) => c.sort((a, b) => rank(a) - rank(b))[0];
  const out: Hierarchy[] = [];
  for (const e of self) {
    if (e.controllers.length === 0) continue;
    const m = pick(
      mounts.filter((x) => x.fstype === "cgroup" && e.controllers.every((c) => x.superOptions.includes(c))),
    );
    if (!m) continue; // hierarchy exists in the kernel but is not mounted here
    const mp = norm(m.mountpoint);
    if (out.some((h) => h.mountpoint === mp)) continue;
    out.push({
      key: e.controllers.join(","),
      controllers: e.controllers,
      mountpoint: mp,
      ownDir: ownDirIn(mp, m.root, e.path),
      unified: false,
    });
  }
  const u = v2self && pick(mounts.filter((x) => x.fstype === "cgroup2"));
  if (u) {
    const mp = norm(u.mountpoint);
    out.push({ key: "", controllers: [], mountpoint: mp, ownDir: ownDirIn(mp, u.root, v2self.path), unified: true });
  }
  return out;
}
