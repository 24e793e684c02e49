// updateCgroups: rewrites a running container's limits in its existing cgroups (OCI and docker
// `update`), from planUpdate's plan. No mkdir and no join: only the limit writes, then the device
// rules' transition (v1/devices-update.ts). Controller delegation (cgroup.subtree_control) was
// done at create.

import { existsSync, writeFileSync } from "node:fs";
import { UserError } from "../common/errors.ts";
import { resolveWrite } from "./apply.ts";
import { timed } from "./fsio.ts";
import type { CgroupLog, CgroupPlan, CgroupWrite } from "./types.ts";

/** Writes one control file; throws the kernel's refusal as a Node errno error. */
export type ControlWriter = (path: string, value: string) => void;

const isLimit = (w: CgroupWrite) => !w.path.endsWith("cgroup.subtree_control") && !w.path.includes("devices.");

/**
 * Does the plan's limit writes in order. A write that fails is retried once, after the others;
 * one that fails again is a UserError (exit 1). A file the host lacks is an error naming the
 * setting, unless the write is optional. `write` and `exists` are the file system's unless a test
 * passes a fake kernel.
 */
export function updateCgroups(
  plan: CgroupPlan,
  log?: CgroupLog,
  write: ControlWriter = writeFileSync,
  exists: (path: string) => boolean = existsSync,
): void {
  let pending: CgroupWrite[] = [];
  for (const w of plan.writes.filter(isLimit)) {
    let resolved: CgroupWrite | undefined;
    try {
      resolved = resolveWrite(w, exists);
    } catch (e) {
      throw new UserError((e as Error).message, 1);
    }
    if (resolved) pending.push(resolved);
    else log?.(`skip ${w.path} (not present on this kernel)`, 0);
  }
  // v1 wants memory.limit_in_bytes <= memory.memsw.limit_in_bytes at every moment: a write the
  // kernel refuses in one order goes through in a second pass.
  for (let pass = 0; pass < 2 && pending.length; pass++) {
    const failed: CgroupWrite[] = [];
    for (const w of pending) {
      try {
        timed(log, `write ${w.path} ${w.value}`, () => write(w.path, w.value));
      } catch (e) {
        if (pass === 1)
          throw new UserError(
            `update ${w.path} = ${w.value}${w.setting ? ` (${w.setting})` : ""}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
            1,
          );
        failed.push(w);
      }
    }
    pending = failed;
  }
  for (const w of plan.deviceUpdate ?? [])
    try {
      timed(log, `write ${w.path} ${w.value}`, () => write(w.path, w.value));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      const why = code === "EINVAL" && w.value === "a" ? " (the cgroup has sub-cgroups: its default can't change)" : "";
      throw new UserError(`update ${w.path} = ${w.value} (linux.resources.devices): ${code}${why}`, 1);
    }
}
