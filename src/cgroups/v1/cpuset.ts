// cpuset (v1): which CPUs and memory nodes the container may use. Always joined (so `mini
// update --cpuset-cpus` has a cgroup to change; a cpuset mkdir measured ~0.05 ms on kernel 6.18).

import { posix } from "node:path";
import type { Resources } from "../../config/types.ts";
import { controlWrite, type PlanContext, type V1Controller } from "../controller.ts";
import { chain } from "../paths.ts";
import { askedOf, named } from "../settings.ts";
import type { CgroupLeaf, CgroupWrite } from "../types.ts";

/** cpuset.cpus/mems start empty in a new v1 cgroup, and no process can join until they are set:
 * copy them down from the nearest ancestor that has them, then apply the requested ones at the leaf. */
function writes(leaf: CgroupLeaf, r: Resources | undefined, ctx: PlanContext): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  const read = (d: string, f: string) => (ctx.readFile(posix.join(d, f)) ?? "").trim();
  let cpus = read(leaf.mountpoint, "cpuset.cpus");
  let mems = read(leaf.mountpoint, "cpuset.mems");
  for (const d of chain(leaf.mountpoint, leaf.dir)) {
    const isLeaf = d === leaf.dir;
    const fresh = ctx.created.has(d);
    const c = fresh ? "" : read(d, "cpuset.cpus");
    const m = fresh ? "" : read(d, "cpuset.mems");
    const wantC = isLeaf && r?.cpu?.cpus ? r.cpu.cpus : c || cpus;
    const wantM = isLeaf && r?.cpu?.mems ? r.cpu.mems : m || mems;
    const asked = (f: "cpus" | "mems") => (isLeaf && r?.cpu?.[f] ? { setting: named(`cpu.${f}`) } : {});
    if (wantC !== c) out.push(controlWrite(d, "cpuset.cpus", wantC, asked("cpus")));
    if (wantM !== m) out.push(controlWrite(d, "cpuset.mems", wantM, asked("mems")));
    cpus = wantC;
    mems = wantM;
  }
  return out;
}

export const cpuset: V1Controller = {
  name: "cpuset",
  v2: "cpuset",
  joins: () => true,
  asked: (r) => askedOf(r, ["cpu.cpus", "cpu.mems"]),
  writes,
};
