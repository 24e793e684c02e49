// memory (v1): limit, memory+swap limit, soft limit, swappiness, OOM killer.

import { posix } from "node:path";
import type { Resources } from "../../config/types.ts";
import { controlWrite, type V1Context, type V1Controller } from "../controller.ts";
import type { CgroupLeaf, CgroupWrite } from "../types.ts";

function writes(leaf: CgroupLeaf, r: Resources | undefined, ctx: V1Context): CgroupWrite[] {
  const m = r?.memory;
  if (!m) return [];
  const dir = leaf.dir;
  const out: CgroupWrite[] = [];
  const limit = m.limit ?? 0;
  let swap = m.swap ?? 0;
  if (swap !== 0 && !ctx.exists(posix.join(ctx.existing, "memory.memsw.limit_in_bytes"))) {
    ctx.warnings.push(
      "this kernel has no swap accounting (memory.memsw.limit_in_bytes): the memory+swap limit is ignored",
    );
    swap = 0;
  }
  const lim = limit !== 0 ? controlWrite(dir, "memory.limit_in_bytes", limit) : undefined;
  const sw = swap !== 0 ? controlWrite(dir, "memory.memsw.limit_in_bytes", swap) : undefined;
  // memory.limit_in_bytes must stay <= memsw: raise memsw first when growing past the current one.
  const cur = ctx.created.has(dir) ? undefined : ctx.readFile(posix.join(dir, "memory.memsw.limit_in_bytes"));
  const growsPastMemsw = cur !== undefined && limit > 0 && BigInt(limit) > BigInt(cur.trim() || "0");
  const lims = lim && sw && (growsPastMemsw || swap === -1) ? [sw, lim] : [lim, sw];
  for (const x of lims) if (x) out.push(x);
  if (m.reservation) out.push(controlWrite(dir, "memory.soft_limit_in_bytes", m.reservation));
  if (m.swappiness !== undefined && m.swappiness >= 0) out.push(controlWrite(dir, "memory.swappiness", m.swappiness));
  if (m.disableOOMKiller) out.push(controlWrite(dir, "memory.oom_control", 1));
  return out;
}

export const memory: V1Controller = {
  name: "memory",
  joins: () => true,
  asked: (r) => !!(r?.memory?.limit || r?.memory?.swap),
  writes,
};
