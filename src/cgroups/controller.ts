// What one controller contributes to a cgroup plan. A controller with logic of its own is a file
// under v1/ or v2/ exporting one of these; its version's table (v1/controllers.ts,
// v2/controllers.ts) lists it. Adding a controller = its file + one line in the table.
// Controllers only compute writes (data): reads go through the context, so a fake tree works.

import { posix } from "node:path";
import type { Resources } from "../config/types.ts";
import type { CgroupLeaf, CgroupWrite } from "./types.ts";

/** What a controller may look at while planning one leaf. */
export interface PlanContext {
  /** Directories this plan creates. */
  created: Set<string>;
  readFile: (path: string) => string | undefined;
  exists: (path: string) => boolean;
  /** The deepest existing directory at or above the leaf (v1: it has the leaf's control files). */
  existing: string;
  warnings: string[];
  /** `uname -r`, for settings a kernel version dropped. */
  kernelRelease: string;
}

export interface V1Controller {
  /** The controller as /proc/self/cgroup and the hierarchy's mount options name it. */
  name: string;
  /** Whether the container is placed in this controller's hierarchy even when nothing of it is asked for. */
  joins(r: Resources | undefined): boolean;
  /**
   * The settings asked for that only this controller enforces ("linux.resources.blockIO.weight (--blkio-weight)").
   * Asking for one where the controller is mounted nowhere is an error naming them.
   */
  asked?(r: Resources | undefined): string[];
  /** On a hybrid host, the cgroup2 controller that carries the same settings when no v1 hierarchy has this one. */
  v2?: string;
  /** The leaf's control-file writes in a hierarchy that carries this controller, in the order the kernel needs. */
  writes?(leaf: CgroupLeaf, r: Resources | undefined, ctx: PlanContext): CgroupWrite[];
}

export interface V2Controller {
  /** The controller as cgroup.controllers names it ("unified" for linux.resources.unified, which names its own). */
  name: string;
  /** Controllers the resources need enabled down to the leaf; an error when the root does not offer one. */
  required(r: Resources | undefined): string[];
  /** Settings asked for that cgroup v2 has no file for: refused, never dropped. */
  unsupported?(r: Resources | undefined): string[];
  /** The leaf's control-file writes. */
  writes(dir: string, r: Resources | undefined): CgroupWrite[];
}

export interface WriteOptions {
  /** The setting this write applies, named in the error when the file is missing. */
  setting?: string;
  /** Skipped (and logged) when the file does not exist. */
  optional?: boolean;
  /** Written instead when `file` does not exist (a file the kernel may lack, e.g. blkio.bfq.weight → blkio.weight). */
  fallback?: { file: string; value: number | string };
}

/** One write of `value` to dir/file. */
export function controlWrite(dir: string, file: string, value: number | string, o: WriteOptions = {}): CgroupWrite {
  const w: CgroupWrite = { path: posix.join(dir, file), value: String(value) };
  if (o.setting) w.setting = o.setting;
  if (o.optional) w.optional = true;
  if (o.fallback) w.fallback = { path: posix.join(dir, o.fallback.file), value: String(o.fallback.value) };
  return w;
}

/** "linux.resources.X (--flag)": how errors name a setting, for bundles and docker flags alike. */
export const setting = (field: string, flag?: string) =>
  flag ? `linux.resources.${field} (${flag})` : `linux.resources.${field}`;
