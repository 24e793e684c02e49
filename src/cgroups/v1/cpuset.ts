// cpuset (v1): which CPUs and memory nodes the container may use. Joined only when asked for:
// a cpuset mkdir alone costs ~3 ms.

import { posix } from "node:path";
import type { Resources } from "../../config/types.ts";
import { controlWrite, type V1Context, type V1Controller } from "../controller.ts";
import { chain } from "../paths.ts";
import type { CgroupLeaf, CgroupWrite } from "../types.ts";

const asked = (r: Resources | undefined) => !!(r?.cpu?.cpus || r?.cpu?.mems);

/** cpuset.cpus/mems start empty in a new v1 cgroup, and no process can join until they are set:
 * copy them down from the nearest ancestor that has them, then apply the requested ones at the leaf. */
function writes(leaf: CgroupLeaf, r: Resources | undefined, ctx: V1Context): CgroupWrite[] {
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
    if (wantC !== c) out.push(controlWrite(d, "cpuset.cpus", wantC));
    if (wantM !== m) out.push(controlWrite(d, "cpuset.mems", wantM));
    cpus = wantC;
    mems = wantM;
  }
  return out;
}

export const cpuset: V1Controller = { name: "cpuset", joins: asked, asked, writes };
