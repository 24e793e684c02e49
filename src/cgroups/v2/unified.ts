// linux.resources.unified (v2 only): control files written as given, "file": "value". Each key's
// prefix names the controller it needs ("io.weight" → io); cgroup.* files are core, always there.

import type { Resources } from "../../config/types.ts";
import { UserError } from "../../common/errors.ts";
import { controlWrite, type V2Controller } from "../controller.ts";
import type { CgroupWrite } from "../types.ts";

function required(r: Resources | undefined): string[] {
  const out: string[] = [];
  for (const k of Object.keys(r?.unified ?? {})) {
    const c = k.split(".")[0]!;
    if (c !== "cgroup") out.push(c);
  }
  return out;
}

/** Files a unified key must not name: paths, hidden files, and the ones mini itself manages. */
function settable(k: string): boolean {
  return !(
    k.includes("/") ||
    k.startsWith(".") ||
    k === "cgroup.procs" ||
    k === "cgroup.threads" ||
    k === "cgroup.subtree_control"
  );
}

function writes(dir: string, r: Resources | undefined): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  for (const [k, v] of Object.entries(r?.unified ?? {})) {
    if (!settable(k)) throw new UserError(`linux.resources.unified: "${k}" is not a settable cgroup file`);
    out.push(controlWrite(dir, k, v, { setting: `linux.resources.unified["${k}"]` }));
  }
  return out;
}

export const unified: V2Controller = { name: "unified", required, writes };
