// The cgroup v1 controllers mini knows, and a v1 plan's writes computed from them. The table's
// order is the order of a leaf's writes and of the warnings. Controllers without logic of their
// own are defined here; the others have a file each.

import type { Resources } from "../../config/types.ts";
import { controlWrite, type V1Context, type V1Controller } from "../controller.ts";
import type { CgroupLeaf, CgroupWrite } from "../types.ts";
import { cpuset } from "./cpuset.ts";
import { devices } from "./devices.ts";
import { memory } from "./memory.ts";

const always = () => true;

const pids: V1Controller = {
  name: "pids",
  joins: always,
  asked: (r) => !!r?.pids,
  writes: (leaf, r) => (r?.pids ? [controlWrite(leaf.dir, "pids.max", r.pids.limit > 0 ? r.pids.limit : "max")] : []),
};

const cpu: V1Controller = {
  name: "cpu",
  joins: always,
  asked: (r) => !!(r?.cpu?.shares || r?.cpu?.quota || r?.cpu?.period),
  writes(leaf, r) {
    const c = r?.cpu;
    if (!c) return [];
    const out: CgroupWrite[] = [];
    if (c.shares) out.push(controlWrite(leaf.dir, "cpu.shares", c.shares));
    if (c.period) out.push(controlWrite(leaf.dir, "cpu.cfs_period_us", c.period));
    if (c.quota) out.push(controlWrite(leaf.dir, "cpu.cfs_quota_us", c.quota));
    return out;
  },
};

/**
 * v1 hierarchies a container is placed in: those mini limits, accounts or freezes (pids, memory,
 * cpu, cpuacct, freezer, devices), and cpuset/blkio only when asked for. Each hierarchy costs a
 * mkdir, a join and an rmdir on every start (cpuset's mkdir alone ~3 ms), so the others (name=systemd,
 * net_cls, perf_event, hugetlb, the hybrid cgroup2 mount) are left alone, as crun does.
 */
const V1_CONTROLLERS: readonly V1Controller[] = [
  pids,
  memory,
  cpu,
  cpuset,
  { name: "cpuacct", joins: always }, // CPU time for `mini stats`
  { name: "freezer", joins: always }, // pause/resume (query.ts)
  devices,
  { name: "blkio", joins: (r) => !!r?.blockIO }, // joined when asked for; no writes yet
];

const byName = new Map(V1_CONTROLLERS.map((c) => [c.name, c]));

/** Whether the container is placed in a hierarchy carrying these controllers. */
export function joinsV1(controllers: string[], r: Resources | undefined): boolean {
  return controllers.some((c) => byName.get(c)?.joins(r));
}

/** Writes for one v1 leaf, by the controllers its hierarchy carries. */
export function v1Writes(leaf: CgroupLeaf, r: Resources | undefined, ctx: V1Context): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  for (const c of V1_CONTROLLERS)
    if (c.writes && leaf.controllers.includes(c.name)) out.push(...c.writes(leaf, r, ctx));
  return out;
}

/** Limits asked for whose controller none of the leaves carries: shown, not fatal. */
export function unmountedWarnings(leaves: CgroupLeaf[], r: Resources | undefined, root: string): string[] {
  return V1_CONTROLLERS.filter((c) => c.asked?.(r) && !leaves.some((l) => l.controllers.includes(c.name))).map(
    (c) => `the ${c.name} cgroup controller is not mounted under ${root}: its limits are ignored`,
  );
}
