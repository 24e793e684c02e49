// updateCgroups: rewrites a running container's limits in its existing cgroups (OCI `update`),
// from a plan made for the new resources. No mkdir and no join: only the limit writes. Controller
// delegation (cgroup.subtree_control) was done at create, and devices rules stay as create wrote them.

import { writeFileSync } from "node:fs";
import { UserError } from "../common/errors.ts";
import { timed } from "./fsio.ts";
import type { CgroupLog, CgroupPlan, CgroupWrite } from "./types.ts";

/** Writes one control file; throws the kernel's refusal as a Node errno error. */
export type ControlWriter = (path: string, value: string) => void;

const isLimit = (w: CgroupWrite) => !w.path.endsWith("cgroup.subtree_control") && !w.path.includes("devices.");

/**
 * Does the plan's limit writes in order. A write that fails is retried once, after the others;
 * one that fails again is a UserError (exit 1). Optional writes that fail are skipped.
 * `write` is the file system's unless a test passes a fake kernel.
 */
export function updateCgroups(plan: CgroupPlan, log?: CgroupLog, write: ControlWriter = writeFileSync): void {
  // v1 wants memory.limit_in_bytes <= memory.memsw.limit_in_bytes at every moment: a write the
  // kernel refuses in one order goes through in a second pass.
  let pending = plan.writes.filter(isLimit);
  for (let pass = 0; pass < 2 && pending.length; pass++) {
    const failed: CgroupWrite[] = [];
    for (const w of pending) {
      try {
        timed(log, `write ${w.path} ${w.value}`, () => write(w.path, w.value));
      } catch (e) {
        if (pass === 1 && !w.optional)
          throw new UserError(
            `update ${w.path} = ${w.value}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
            1,
          );
        if (!w.optional) failed.push(w);
      }
    }
    pending = failed;
  }
}
