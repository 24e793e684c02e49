// What one controller contributes to a cgroup plan. A controller with logic of its own is a file
// under v1/ or v2/ exporting one of these; its version's table (v1/controllers.ts,
// v2/controllers.ts) lists it. Adding a controller = its file + one line in the table.
// Controllers only compute writes (data): reads go through the context, so a fake tree works.

import { posix } from "node:path";
import type { Resources } from "../config/types.ts";
import type { CgroupLeaf, CgroupWrite } from "./types.ts";

/** What a v1 controller may look at while planning one leaf. */
export interface V1Context {
  /** Directories this plan creates. */
  created: Set<string>;
  readFile: (path: string) => string | undefined;
  exists: (path: string) => boolean;
  /** The deepest existing directory at or above the leaf. */
  existing: string;
  warnings: string[];
}

export interface V1Controller {
  /** The controller as /proc/self/cgroup and the hierarchy's mount options name it. */
  name: string;
  /** Whether the container is placed in the hierarchy carrying this controller. */
  joins(r: Resources | undefined): boolean;
  /** Whether the resources ask for limits only this controller enforces (a warning when it is not mounted). */
  asked?(r: Resources | undefined): boolean;
  /** The leaf's control-file writes in a hierarchy that carries this controller, in the order the kernel needs. */
  writes?(leaf: CgroupLeaf, r: Resources | undefined, ctx: V1Context): CgroupWrite[];
}

export interface V2Controller {
  /** The controller as cgroup.controllers names it ("unified" for linux.resources.unified, which names its own). */
  name: string;
  /** Controllers the resources need enabled down to the leaf; an error when the root does not offer one. */
  required(r: Resources | undefined): string[];
  /** The leaf's control-file writes. */
  writes(dir: string, r: Resources | undefined): CgroupWrite[];
}

/** One write of `value` to dir/file; `optional`: skipped when the file does not exist. */
export function controlWrite(dir: string, file: string, value: number | string, optional = false): CgroupWrite {
  return optional
    ? { path: posix.join(dir, file), value: String(value), optional }
    : { path: posix.join(dir, file), value: String(value) };
}
