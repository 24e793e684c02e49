// A foreground container's owner record: which mini process runs it and which cgroups it made.
// If that mini dies without cleaning up (SIGKILL), the next mini finds the record and removes
// what was left (the container itself died with its parent through PR_SET_PDEATHSIG).
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { CgroupPlan } from "../cgroups/index.ts";
import { runRoot } from "../common/paths.ts";
import { pidStartTime } from "../common/proc.ts";

interface OwnerRecord {
  pid: number;
  starttime: string;
  cgroups: CgroupPlan;
  dirs?: string[];
}

/** `dirs`: more directories to remove with the run (an image container's overlay dirs). */
export function writeOwnerRecord(dir: string, cgroups: CgroupPlan, dirs: string[] = []): void {
  const rec: OwnerRecord = { pid: process.pid, starttime: pidStartTime(process.pid) ?? "", cgroups, dirs };
  writeFileSync(`${dir}/owner.json`, JSON.stringify(rec));
}

/** Removes the leftovers of foreground runs whose mini process is gone. */
export function sweepOrphans(remove: (cg: CgroupPlan) => void): void {
  let names: string[];
  try {
    names = readdirSync(runRoot());
  } catch {
    return;
  }
  for (const name of names) {
    const dir = `${runRoot()}/${name}`;
    let rec: OwnerRecord;
    try {
      rec = JSON.parse(readFileSync(`${dir}/owner.json`, "utf8"));
    } catch {
      continue;
    }
    if (pidStartTime(rec.pid) === rec.starttime) continue;
    try {
      remove(rec.cgroups);
    } catch {
      continue;
    }
    for (const d of rec.dirs ?? []) rmSync(d, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}
