// removeCgroups: kill what is left in the container's cgroups, then remove the leaves
// (and any child cgroups the container made inside them) and the intermediate
// directories this plan created, deepest first. Safe to call twice; ENOENT is success.

import { existsSync, readdirSync } from "node:fs";
import { posix } from "node:path";
import { SyscallError } from "../sys/error.ts";
import { EBUSY, ENOTDIR, ENOTEMPTY } from "../sys/errno.ts";
import { now, readControl, sleepMs, timed, tryRmdir, writeControl } from "./fsio.ts";
import type { CgroupLog, CgroupPlan } from "./types.ts";

export interface RemoveOptions {
  log?: CgroupLog;
  /** How long to wait for killed processes to leave (default 2000 ms). */
  killTimeoutMs?: number;
  /** How long to retry an EBUSY rmdir (default 1000 ms). */
  rmdirTimeoutMs?: number;
}

/** dir and every cgroup below it, deepest first. */
function subtree(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return [];
  }
  return [...names.flatMap((n) => subtree(posix.join(dir, n))), dir];
}

function pidsIn(dirs: string[]): number[] {
  const pids = new Set<number>();
  for (const d of dirs) {
    for (const s of (readControl(posix.join(d, "cgroup.procs")) ?? "").split("\n")) {
      const n = Number(s);
      if (s && Number.isInteger(n) && n > 0 && n !== process.pid) pids.add(n);
    }
  }
  return [...pids];
}

/** Quietly writes a control file if it exists (thaw, cgroup.kill); `unless`: skip when it already reads so. */
function poke(path: string, value: string, unless?: string): void {
  if (!existsSync(path)) return;
  if (unless !== undefined && readControl(path)?.trim() === unless) return; // cgroup.kill is write-only: no unless
  try {
    writeControl(path, value);
  } catch {
    // best effort: the kill loop below still runs
  }
}

/** Kills every process in the given cgroups; waits until they have left, at most timeoutMs. */
export function killAll(dirs: string[], timeoutMs = 2000, log?: CgroupLog): number[] {
  const t0 = now();
  let left = pidsIn(dirs);
  if (!left.length) return left;
  for (const d of dirs) poke(posix.join(d, "cgroup.kill"), "1"); // v2 (>= 5.14): kills the whole subtree, forks included
  let first = true;
  while (left.length) {
    for (const pid of left) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // ESRCH: gone already
      }
    }
    if (first) {
      // Frozen tasks die only once thawed.
      for (const d of dirs) {
        poke(posix.join(d, "freezer.state"), "THAWED", "THAWED");
        poke(posix.join(d, "cgroup.freeze"), "0", "0");
      }
      first = false;
    }
    if (now() - t0 > timeoutMs) break;
    sleepMs(5);
    left = pidsIn(dirs);
  }
  log?.(`kill processes in ${dirs.length} cgroups (${left.length} left)`, now() - t0);
  return left;
}

export function removeCgroups(plan: CgroupPlan, opts: RemoveOptions = {}): void {
  const { log } = opts;
  const leafTrees = plan.leaves.map((l) => subtree(l.dir));
  killAll(leafTrees.flat(), opts.killTimeoutMs ?? 2000, log);

  const deadline = now() + (opts.rmdirTimeoutMs ?? 1000);
  const failed: SyscallError[] = [];
  for (const tree of leafTrees) {
    for (const dir of tree) {
      let errno = timed(log, `rmdir ${dir}`, () => tryRmdir(dir));
      while (errno === EBUSY && now() < deadline) {
        sleepMs(10);
        killAll([dir], 200);
        errno = tryRmdir(dir);
      }
      if (errno) failed.push(new SyscallError("rmdir", dir, errno));
    }
  }
  // Intermediate directories we created: another container may share them (EBUSY/ENOTEMPTY): leave those.
  const leaves = new Set(plan.leaves.map((l) => l.dir));
  for (const dir of [...plan.dirs].reverse()) {
    if (leaves.has(dir)) continue;
    const errno = timed(log, `rmdir ${dir}`, () => tryRmdir(dir));
    if (errno && errno !== EBUSY && errno !== ENOTEMPTY && errno !== ENOTDIR)
      failed.push(new SyscallError("rmdir", dir, errno));
  }
  if (failed.length) throw failed[0]!;
}
