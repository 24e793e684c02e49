// cpu (v1): CFS shares, quota, period and burst, SCHED_IDLE, and real-time bandwidth.

import type { Resources } from "../../config/types.ts";
import { controlWrite, type PlanContext, type V1Controller } from "../controller.ts";
import { chain } from "../paths.ts";
import { askedOf, named } from "../settings.ts";
import type { CgroupLeaf, CgroupWrite } from "../types.ts";

function writes(leaf: CgroupLeaf, r: Resources | undefined, ctx: PlanContext): CgroupWrite[] {
  const c = r?.cpu;
  if (!c) return [];
  const dir = leaf.dir;
  const out: CgroupWrite[] = [];
  if (c.shares) out.push(controlWrite(dir, "cpu.shares", c.shares, { setting: named("cpu.shares") }));
  if (c.period) out.push(controlWrite(dir, "cpu.cfs_period_us", c.period, { setting: named("cpu.period") }));
  if (c.quota) out.push(controlWrite(dir, "cpu.cfs_quota_us", c.quota, { setting: named("cpu.quota") }));
  if (c.burst !== undefined) out.push(controlWrite(dir, "cpu.cfs_burst_us", c.burst, { setting: named("cpu.burst") }));
  if (c.idle !== undefined) out.push(controlWrite(dir, "cpu.idle", c.idle, { setting: named("cpu.idle") }));
  // A child's real-time runtime must fit in its parent's: the directories this plan creates get
  // the leaf's runtime first (a new cgroup has none), outermost first.
  if (c.realtimeRuntime !== undefined) {
    for (const d of chain(leaf.mountpoint, dir))
      if (d !== dir && ctx.created.has(d))
        out.push(controlWrite(d, "cpu.rt_runtime_us", c.realtimeRuntime, { setting: named("cpu.realtimeRuntime") }));
  }
  if (c.realtimePeriod !== undefined)
    out.push(controlWrite(dir, "cpu.rt_period_us", c.realtimePeriod, { setting: named("cpu.realtimePeriod") }));
  if (c.realtimeRuntime !== undefined)
    out.push(controlWrite(dir, "cpu.rt_runtime_us", c.realtimeRuntime, { setting: named("cpu.realtimeRuntime") }));
  return out;
}

export const cpu: V1Controller = {
  name: "cpu",
  v2: "cpu",
  joins: () => true,
  asked: (r) =>
    askedOf(r, [
      "cpu.shares",
      "cpu.quota",
      "cpu.period",
      "cpu.burst",
      "cpu.idle",
      "cpu.realtimeRuntime",
      "cpu.realtimePeriod",
    ]),
  writes,
};
