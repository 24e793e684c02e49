// applyCgroups: create the plan's directories, do its writes in order, attach its device program
// (cgroup v2). On failure, remove the directories this call created (no process has joined yet)
// and rethrow. A control file the host lacks is an error naming the setting, never skipped
// (unless the write says it is optional).

import { existsSync, mkdirSync } from "node:fs";
import { UserError } from "../common/errors.ts";
import * as sys from "../sys/calls.ts";
import { attachCgroupDeviceProgram, loadCgroupDeviceProgram } from "../sys/bpf.ts";
import { O_CLOEXEC, O_DIRECTORY, O_RDONLY } from "../sys/constants.ts";
import { fromNodeError } from "../sys/error.ts";
import { EEXIST } from "../sys/errno.ts";
import { errnoOf, timed, tryRmdir, writeControl } from "./fsio.ts";
import type { CgroupDeviceProgram, CgroupLog, CgroupPlan, CgroupWrite } from "./types.ts";

/** How a write is done against the file system (a test's fake tree passes its own `exists`). */
export interface ApplyOptions {
  exists?: (path: string) => boolean;
  /** Loads and attaches a device program (cgroup v2); the real bpf(2) by default. */
  attachDevices?: (p: CgroupDeviceProgram) => void;
}

/** The write to do, given what exists: the file, its fallback, or nothing (optional); else a UserError. */
export function resolveWrite(w: CgroupWrite, exists: (p: string) => boolean): CgroupWrite | undefined {
  if (exists(w.path)) return w;
  if (w.fallback && exists(w.fallback.path)) return { ...w, path: w.fallback.path, value: w.fallback.value };
  if (w.optional) return undefined;
  const files = w.fallback ? `neither ${w.path} nor ${w.fallback.path} exists` : `${w.path} does not exist`;
  throw new UserError(`cannot apply ${w.setting ?? w.path.split("/").pop()}: ${files} on this host`);
}

/** Loads the plan's device program and attaches it to its cgroup (the program lives as long as the cgroup). */
export function attachDeviceProgram(p: CgroupDeviceProgram): void {
  const prog = loadCgroupDeviceProgram(Buffer.from(p.insns, "base64"));
  try {
    const dir = sys.open(p.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    try {
      attachCgroupDeviceProgram(dir, prog, p.dir);
    } finally {
      sys.close(dir);
    }
  } finally {
    sys.close(prog);
  }
}

export function applyCgroups(plan: CgroupPlan, log?: CgroupLog, opts: ApplyOptions = {}): void {
  const exists = opts.exists ?? existsSync;
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
    for (const planned of plan.writes) {
      const w = resolveWrite(planned, exists);
      if (!w) {
        log?.(`skip ${planned.path} (not present on this kernel)`, 0);
        continue;
      }
      timed(log, `write ${w.path} ${w.value}`, () => writeControl(w.path, w.value, w.setting));
    }
    const devices = plan.devices;
    if (devices)
      timed(log, `attach the device program to ${devices.dir}`, () =>
        (opts.attachDevices ?? attachDeviceProgram)(devices),
      );
  } catch (e) {
    for (const dir of made.reverse()) timed(log, `rmdir ${dir}`, () => tryRmdir(dir));
    throw e;
  }
}
