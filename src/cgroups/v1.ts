// cgroup v1 control-file writes, one hierarchy at a time, in the order the kernel needs.

import { posix } from "node:path";
import type { Resources } from "../config/types.ts";
import type { CgroupLeaf, CgroupWrite } from "./types.ts";
import { chain } from "./paths.ts";
import { v1DeviceWrites } from "./devices.ts";

export interface V1Context {
  /** Directories this plan creates. */
  created: Set<string>;
  readFile: (path: string) => string | undefined;
  exists: (path: string) => boolean;
  /** The deepest existing directory at or above the leaf. */
  existing: string;
  warnings: string[];
}

const w = (dir: string, file: string, value: number | string, optional = false): CgroupWrite =>
  optional
    ? { path: posix.join(dir, file), value: String(value), optional }
    : { path: posix.join(dir, file), value: String(value) };

/** cpuset.cpus/mems start empty in a new v1 cgroup, and no process can join until they are set:
 * copy them down from the nearest ancestor that has them, then apply the requested ones at the leaf. */
function cpuset(leaf: CgroupLeaf, r: Resources | undefined, ctx: V1Context): CgroupWrite[] {
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
    if (wantC !== c) out.push(w(d, "cpuset.cpus", wantC));
    if (wantM !== m) out.push(w(d, "cpuset.mems", wantM));
    cpus = wantC;
    mems = wantM;
  }
  return out;
}

function memory(dir: string, r: Resources | undefined, ctx: V1Context): CgroupWrite[] {
  const m = r?.memory;
  if (!m) return [];
  const out: CgroupWrite[] = [];
  const limit = m.limit ?? 0;
  let swap = m.swap ?? 0;
  if (swap !== 0 && !ctx.exists(posix.join(ctx.existing, "memory.memsw.limit_in_bytes"))) {
    ctx.warnings.push(
      "this kernel has no swap accounting (memory.memsw.limit_in_bytes): the memory+swap limit is ignored",
    );
    swap = 0;
  }
  const lim = limit !== 0 ? w(dir, "memory.limit_in_bytes", limit) : undefined;
  const sw = swap !== 0 ? w(dir, "memory.memsw.limit_in_bytes", swap) : undefined;
  // memory.limit_in_bytes must stay <= memsw: raise memsw first when growing past the current one.
  const cur = ctx.created.has(dir) ? undefined : ctx.readFile(posix.join(dir, "memory.memsw.limit_in_bytes"));
  const growsPastMemsw = cur !== undefined && limit > 0 && BigInt(limit) > BigInt(cur.trim() || "0");
  const lims = lim && sw && (growsPastMemsw || swap === -1) ? [sw, lim] : [lim, sw];
  for (const x of lims) if (x) out.push(x);
  if (m.reservation) out.push(w(dir, "memory.soft_limit_in_bytes", m.reservation));
  if (m.swappiness !== undefined && m.swappiness >= 0) out.push(w(dir, "memory.swappiness", m.swappiness));
  if (m.disableOOMKiller) out.push(w(dir, "memory.oom_control", 1));
  return out;
}

function cpu(dir: string, r: Resources | undefined): CgroupWrite[] {
  const c = r?.cpu;
  if (!c) return [];
  const out: CgroupWrite[] = [];
  if (c.shares) out.push(w(dir, "cpu.shares", c.shares));
  if (c.period) out.push(w(dir, "cpu.cfs_period_us", c.period));
  if (c.quota) out.push(w(dir, "cpu.cfs_quota_us", c.quota));
  return out;
}

/** Writes for one v1 leaf, by the controllers its hierarchy carries. */
export function v1Writes(leaf: CgroupLeaf, r: Resources | undefined, ctx: V1Context): CgroupWrite[] {
  const has = (c: string) => leaf.controllers.includes(c);
  const out: CgroupWrite[] = [];
  if (has("cpuset")) out.push(...cpuset(leaf, r, ctx));
  if (has("pids") && r?.pids) out.push(w(leaf.dir, "pids.max", r.pids.limit > 0 ? r.pids.limit : "max"));
  if (has("memory")) out.push(...memory(leaf.dir, r, ctx));
  if (has("cpu")) out.push(...cpu(leaf.dir, r));
  if (has("devices")) out.push(...v1DeviceWrites(leaf.dir, r?.devices));
  return out;
}
