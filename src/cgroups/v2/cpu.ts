// cpu (v2): cpu.weight (from OCI shares), cpu.max (quota and period), cpu.max.burst, cpu.idle.
// Real-time bandwidth has no v2 file: refused.

import type { Resources } from "../../config/types.ts";
import { controlWrite, type V2Controller } from "../controller.ts";
import { askedOf, named } from "../settings.ts";
import type { CgroupWrite } from "../types.ts";

/** cpu.shares (2..262144) → cpu.weight (1..10000), the formula runc and crun use. */
export function sharesToWeight(shares: number): number {
  if (shares <= 0) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** cpu.max: "quota period", "max period" when only a period is given. */
export function cpuMax(quota: number | undefined, period: number | undefined): string | undefined {
  const q = quota ?? 0;
  const p = period ?? 0;
  if (q === 0 && p === 0) return undefined;
  return `${q > 0 ? q : "max"} ${p > 0 ? p : 100000}`;
}

function writes(dir: string, r: Resources | undefined): CgroupWrite[] {
  const c = r?.cpu;
  if (!c) return [];
  const out: CgroupWrite[] = [];
  const weight = sharesToWeight(c.shares ?? 0);
  if (weight) out.push(controlWrite(dir, "cpu.weight", weight, { setting: named("cpu.shares") }));
  const max = cpuMax(c.quota, c.period);
  if (max) out.push(controlWrite(dir, "cpu.max", max, { setting: named("cpu.quota") }));
  if (c.burst !== undefined) out.push(controlWrite(dir, "cpu.max.burst", c.burst, { setting: named("cpu.burst") }));
  if (c.idle !== undefined) out.push(controlWrite(dir, "cpu.idle", c.idle, { setting: named("cpu.idle") }));
  return out;
}

export const cpu: V2Controller = {
  name: "cpu",
  required: (r) =>
    r?.cpu && (r.cpu.shares || r.cpu.quota || r.cpu.period || r.cpu.burst !== undefined || r.cpu.idle !== undefined)
      ? ["cpu"]
      : [],
  unsupported: (r) => askedOf(r, ["cpu.realtimeRuntime", "cpu.realtimePeriod"]),
  writes,
};
