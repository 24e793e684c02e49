// Where the container's cgroup goes in each hierarchy, and which directories must be created.

import { posix } from "node:path";
import { UserError } from "../common/errors.ts";
import type { Hierarchy } from "./detect.ts";
import type { CgroupMode } from "./types.ts";

/** Validates linux.cgroupsPath (or the default name) and returns it normalised. */
export function checkCgroupsPath(p: string): string {
  if (/^[^/]*:[^/]*:[^/]*$/.test(p)) {
    throw new UserError(
      `cgroupsPath "${p}" looks like a systemd slice:prefix:name path; mini manages cgroups through cgroupfs, use a path like /mini/${p.split(":").pop()}`,
    );
  }
  const parts = p.split("/").filter((s) => s !== "" && s !== ".");
  if (parts.length === 0) throw new UserError(`cgroupsPath "${p}" names no cgroup`);
  if (parts.includes("..")) throw new UserError(`cgroupsPath "${p}" must not contain ".."`);
  return (p.startsWith("/") ? "/" : "") + parts.join("/");
}

/**
 * The leaf directory in one hierarchy. Absolute paths start at the hierarchy root. Relative
 * paths start at the caller's own cgroup (v1, like runc), or on a pure v2 host at its parent:
 * the caller's cgroup holds the caller, and the no-internal-process rule forbids giving it
 * children with controllers (runc does the same).
 */
export function leafDir(mode: CgroupMode, h: Hierarchy, path: string): string {
  let base = h.ownDir;
  if (mode === "v2" && base !== h.mountpoint) base = posix.dirname(base);
  const dir = posix.join(path.startsWith("/") ? h.mountpoint : base, path);
  if (h.ownDir === dir || h.ownDir.startsWith(`${dir}/`)) {
    throw new UserError(`cgroupsPath "${path}" would contain mini's own process (${h.ownDir})`);
  }
  return dir;
}

/** Every directory between mountpoint (exclusive) and dir (inclusive), outermost first. */
export function chain(mountpoint: string, dir: string): string[] {
  const out: string[] = [];
  for (let d = dir; d !== mountpoint && d.startsWith(`${mountpoint}/`); d = posix.dirname(d)) out.unshift(d);
  return out;
}

/** The directories on the way to dir that do not exist yet, outermost first. */
export function missingDirs(mountpoint: string, dir: string, exists: (p: string) => boolean): string[] {
  const all = chain(mountpoint, dir);
  const firstMissing = all.findIndex((d) => !exists(d));
  return firstMissing < 0 ? [] : all.slice(firstMissing);
}

/** The deepest existing directory at or above dir (at least mountpoint). */
export function nearestExisting(mountpoint: string, dir: string, exists: (p: string) => boolean): string {
  const all = chain(mountpoint, dir);
  for (let i = all.length - 1; i >= 0; i--) if (exists(all[i]!)) return all[i]!;
  return mountpoint;
}
