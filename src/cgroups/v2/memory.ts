// memory (v2): memory.max, memory.swap.max (swap alone, not memory+swap as OCI counts it),
// memory.low. cgroup v2 has no swappiness, no OOM-killer switch, no kernel or TCP memory limit:
// asking for one is refused.

import type { Resources } from "../../config/types.ts";
import { UserError } from "../../common/errors.ts";
import { controlWrite, type V2Controller } from "../controller.ts";
import { askedOf, named } from "../settings.ts";
import type { CgroupWrite } from "../types.ts";

/** OCI swap (memory+swap total) → memory.swap.max (swap alone), as runc converts it. */
export function swapToV2(swap: number | undefined, limit: number | undefined): string | undefined {
  const s = swap ?? 0;
  const m = limit ?? 0;
  if (m === -1 && s === 0) return "max"; // unlimited memory: unlimited swap too
  if (s === -1) return "max";
  if (s === 0) return undefined;
  if (m <= 0) throw new UserError("a memory+swap limit needs a memory limit (linux.resources.memory.limit)");
  if (s < m) throw new UserError(`memory+swap limit ${s} is below the memory limit ${m}`);
  return String(s - m);
}

function writes(dir: string, r: Resources | undefined): CgroupWrite[] {
  const m = r?.memory;
  if (!m) return [];
  const out: CgroupWrite[] = [];
  if (m.limit)
    out.push(controlWrite(dir, "memory.max", m.limit > 0 ? m.limit : "max", { setting: named("memory.limit") }));
  const swap = swapToV2(m.swap, m.limit);
  // Unlimited memory implies unlimited swap: skipped where there is no swap accounting. A swap
  // limit asked for is an error there, naming memory.swap.max.
  if (swap !== undefined)
    out.push(
      controlWrite(dir, "memory.swap.max", swap, m.swap ? { setting: named("memory.swap") } : { optional: true }),
    );
  if (m.reservation)
    out.push(
      controlWrite(dir, "memory.low", m.reservation > 0 ? m.reservation : "max", {
        setting: named("memory.reservation"),
      }),
    );
  return out;
}

export const memory: V2Controller = {
  name: "memory",
  required: (r) => (r?.memory && (r.memory.limit || r.memory.swap || r.memory.reservation) ? ["memory"] : []),
  unsupported: (r) => askedOf(r, ["memory.swappiness", "memory.disableOOMKiller", "memory.kernel", "memory.kernelTCP"]),
  writes,
};
