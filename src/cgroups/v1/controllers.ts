// The cgroup v1 controllers mini knows, and a v1 plan's writes computed from them. The table's
// order is the order of a leaf's writes. Controllers without logic of their own are defined
// here; the others have a file each.

import type { Resources } from "../../config/types.ts";
import { controlWrite, type PlanContext, type V1Controller } from "../controller.ts";
import { askedOf, named } from "../settings.ts";
import type { CgroupLeaf, CgroupWrite } from "../types.ts";
import { blkio } from "./blkio.ts";
import { cpu } from "./cpu.ts";
import { cpuset } from "./cpuset.ts";
import { devices } from "./devices.ts";
import { hugetlb } from "./hugetlb.ts";
import { memory } from "./memory.ts";
import { netCls, netPrio } from "./net.ts";

const always = () => true;

const pids: V1Controller = {
  name: "pids",
  v2: "pids",
  joins: always,
  asked: (r) => askedOf(r, ["pids.limit"]),
  writes: (leaf, r) =>
    r?.pids
      ? [controlWrite(leaf.dir, "pids.max", r.pids.limit > 0 ? r.pids.limit : "max", { setting: named("pids.limit") })]
      : [],
};

/**
 * The v1 hierarchies a container is placed in: those mini limits, accounts or freezes (pids,
 * memory, cpu, cpuacct, cpuset, blkio, freezer, devices), and hugetlb, net_cls, net_prio when
 * asked for. name=systemd, perf_event and the hybrid cgroup2 mount are left alone (unless the
 * cgroup2 mount carries a controller that no v1 hierarchy has: see plan.ts).
 */
export const V1_CONTROLLERS: readonly V1Controller[] = [
  pids,
  memory,
  cpu,
  cpuset,
  { name: "cpuacct", joins: always }, // CPU time for `mini stats`
  { name: "freezer", joins: always }, // pause/resume (query.ts)
  devices,
  blkio,
  hugetlb,
  netCls,
  netPrio,
];

const byName = new Map(V1_CONTROLLERS.map((c) => [c.name, c]));

/** Whether the container is placed in a hierarchy carrying these controllers. */
export function joinsV1(controllers: string[], r: Resources | undefined): boolean {
  return controllers.some((c) => {
    const ctl = byName.get(c);
    return !!ctl && (ctl.joins(r) || !!ctl.asked?.(r).length);
  });
}

/** Writes for one v1 leaf, by the controllers its hierarchy carries. */
export function v1Writes(leaf: CgroupLeaf, r: Resources | undefined, ctx: PlanContext): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  for (const c of V1_CONTROLLERS)
    if (c.writes && leaf.controllers.includes(c.name)) out.push(...c.writes(leaf, r, ctx));
  return out;
}

/** The controllers `r` asks something of, with what it asks. */
export function askedControllers(r: Resources | undefined): { controller: V1Controller; settings: string[] }[] {
  return V1_CONTROLLERS.map((controller) => ({ controller, settings: controller.asked?.(r) ?? [] })).filter(
    (a) => a.settings.length > 0,
  );
}
