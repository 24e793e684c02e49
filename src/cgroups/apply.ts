// applyCgroups: create the plan's directories, then do its writes in order. On failure,
// remove the directories this call created (no process has joined yet) and rethrow.

import { existsSync, mkdirSync } from "node:fs";
import { fromNodeError } from "../sys/error.ts";
import { EEXIST } from "../sys/errno.ts";
import { errnoOf, timed, tryRmdir, writeControl } from "./fsio.ts";
import type { CgroupLog, CgroupPlan } from "./types.ts";

export function applyCgroups(plan: CgroupPlan, log?: CgroupLog): void {
  const made: string[] = [];
  try {
    for (const dir of plan.dirs) {
      const fresh = timed(log, `mkdir ${dir}`, () => {
        try {
          mkdirSync(dir, 0o755);
          return true;
        } catch (e) {
          if (errnoOf(e) === EEXIST) return false; // made meanwhile by someone else: not ours to undo
          throw fromNodeError(e, "mkdir", dir);
        }
      });
      if (fresh) made.push(dir);
    }
    for (const w of plan.writes) {
      if (w.optional && !existsSync(w.path)) {
        log?.(`skip ${w.path} (not present on this kernel)`, 0);
        continue;
      }
      timed(log, `write ${w.path} ${w.value}`, () => writeControl(w.path, w.value));
    }
  } catch (e) {
    for (const dir of made.reverse()) timed(log, `rmdir ${dir}`, () => tryRmdir(dir));
    throw e;
  }
}
