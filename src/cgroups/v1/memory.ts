// memory (v1): limit, memory+swap limit, soft limit, TCP buffer limit, swappiness, OOM killer.
// Kernel memory limits are refused: Linux 6.1 made memory.kmem.limit_in_bytes accept writes and
// ignore them, and cgroup v2 never had one.

import { posix } from "node:path";
import type { Resources } from "../../config/types.ts";
import { UserError } from "../../common/errors.ts";
import { controlWrite, type PlanContext, type V1Controller } from "../controller.ts";
import { kernelVersion } from "../host.ts";
import { askedOf, named } from "../settings.ts";
import type { CgroupLeaf, CgroupWrite } from "../types.ts";

/** Kernel memory limits (memory.kmem.limit_in_bytes): honoured before Linux 6.1 only. */
export function kernelMemoryWrite(dir: string, kernel: number, release: string): CgroupWrite {
  const [major, minor] = kernelVersion(release);
  if (major > 6 || (major === 6 && minor >= 1))
    throw new UserError(
      `${named("memory.kernel")}: this kernel (${release}) dropped kernel memory limits (since Linux 6.1 memory.kmem.limit_in_bytes ignores them)`,
    );
  return controlWrite(dir, "memory.kmem.limit_in_bytes", kernel, { setting: named("memory.kernel") });
}

function writes(leaf: CgroupLeaf, r: Resources | undefined, ctx: PlanContext): CgroupWrite[] {
  const m = r?.memory;
  if (!m) return [];
  const dir = leaf.dir;
  const out: CgroupWrite[] = [];
  const limit = m.limit ?? 0;
  const swap = m.swap ?? 0;
  if (swap !== 0 && !ctx.exists(posix.join(ctx.existing, "memory.memsw.limit_in_bytes")))
    throw new UserError(
      `${named("memory.swap")}: this kernel has no swap accounting (${posix.join(ctx.existing, "memory.memsw.limit_in_bytes")} does not exist)`,
    );
  const lim =
    limit !== 0 ? controlWrite(dir, "memory.limit_in_bytes", limit, { setting: named("memory.limit") }) : undefined;
  const sw =
    swap !== 0 ? controlWrite(dir, "memory.memsw.limit_in_bytes", swap, { setting: named("memory.swap") }) : undefined;
  // memory.limit_in_bytes must stay <= memsw: raise memsw first when growing past the current one.
  const cur = ctx.created.has(dir) ? undefined : ctx.readFile(posix.join(dir, "memory.memsw.limit_in_bytes"));
  const growsPastMemsw = cur !== undefined && limit > 0 && BigInt(limit) > BigInt(cur.trim() || "0");
  const lims = lim && sw && (growsPastMemsw || swap === -1) ? [sw, lim] : [lim, sw];
  for (const x of lims) if (x) out.push(x);
  if (m.reservation)
    out.push(controlWrite(dir, "memory.soft_limit_in_bytes", m.reservation, { setting: named("memory.reservation") }));
  if (m.kernel) out.push(kernelMemoryWrite(dir, m.kernel, ctx.kernelRelease));
  if (m.kernelTCP)
    out.push(controlWrite(dir, "memory.kmem.tcp.limit_in_bytes", m.kernelTCP, { setting: named("memory.kernelTCP") }));
  if (m.swappiness !== undefined && m.swappiness >= 0)
    out.push(controlWrite(dir, "memory.swappiness", m.swappiness, { setting: named("memory.swappiness") }));
  if (m.disableOOMKiller)
    out.push(controlWrite(dir, "memory.oom_control", 1, { setting: named("memory.disableOOMKiller") }));
  return out;
}

export const memory: V1Controller = {
  name: "memory",
  v2: "memory",
  joins: () => true,
  asked: (r) =>
    askedOf(r, [
      "memory.limit",
      "memory.swap",
      "memory.reservation",
      "memory.swappiness",
      "memory.disableOOMKiller",
      "memory.kernel",
      "memory.kernelTCP",
    ]),
  writes,
};
