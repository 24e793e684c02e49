// cgroup v2 (unified) writes: controller delegation down the tree, then the leaf's files.

import { posix } from "node:path";
import type { Resources } from "../config/types.ts";
import { UserError } from "../common/errors.ts";
import type { CgroupWrite } from "./types.ts";
import { chain } from "./paths.ts";

/** cpu.shares (2..262144) → cpu.weight (1..10000), the formula runc and crun use. */
export function sharesToWeight(shares: number): number {
  if (shares <= 0) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

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

/** cpu.max: "quota period", "max period" when only a period is given. */
export function cpuMax(quota: number | undefined, period: number | undefined): string | undefined {
  const q = quota ?? 0;
  const p = period ?? 0;
  if (q === 0 && p === 0) return undefined;
  return `${q > 0 ? q : "max"} ${p > 0 ? p : 100000}`;
}

/** Controllers the resources need ("required") and the ones we enable anyway when available. */
export function neededControllers(r: Resources | undefined): { required: string[]; wanted: string[] } {
  const required = new Set<string>();
  if (r?.memory && (r.memory.limit || r.memory.swap || r.memory.reservation)) required.add("memory");
  if (r?.cpu && (r.cpu.shares || r.cpu.quota || r.cpu.period)) required.add("cpu");
  if (r?.cpu && (r.cpu.cpus || r.cpu.mems)) required.add("cpuset");
  if (r?.pids) required.add("pids");
  for (const k of Object.keys(r?.unified ?? {})) {
    const c = k.split(".")[0]!;
    if (c !== "cgroup") required.add(c);
  }
  return { required: [...required], wanted: ["cpu", "memory", "pids", ...required] };
}

export interface V2Context {
  root: string;
  created: Set<string>;
  readFile: (path: string) => string | undefined;
}

const words = (s: string | undefined) => (s ?? "").split(/\s+/).filter(Boolean);

/** "+cpu +memory +pids" in cgroup.subtree_control of every ancestor from root to the leaf's parent. */
export function subtreeWrites(leafDir: string, r: Resources | undefined, ctx: V2Context): CgroupWrite[] {
  const available = words(ctx.readFile(posix.join(ctx.root, "cgroup.controllers")));
  const { required, wanted } = neededControllers(r);
  const missing = required.filter((c) => !available.includes(c));
  if (missing.length) {
    throw new UserError(
      `the cgroup v2 controller${missing.length > 1 ? "s" : ""} ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} not available in ${posix.join(ctx.root, "cgroup.controllers")}`,
    );
  }
  const enable = [...new Set(wanted.filter((c) => available.includes(c)))];
  const out: CgroupWrite[] = [];
  for (const d of [ctx.root, ...chain(ctx.root, leafDir)].slice(0, -1)) {
    const on = ctx.created.has(d) ? [] : words(ctx.readFile(posix.join(d, "cgroup.subtree_control")));
    const add = enable.filter((c) => !on.includes(c));
    if (add.length)
      out.push({ path: posix.join(d, "cgroup.subtree_control"), value: add.map((c) => `+${c}`).join(" ") });
  }
  return out;
}

/** The leaf's control files. */
export function v2Writes(dir: string, r: Resources | undefined): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  const w = (file: string, value: number | string, optional = false) =>
    out.push(
      optional
        ? { path: posix.join(dir, file), value: String(value), optional }
        : { path: posix.join(dir, file), value: String(value) },
    );
  const m = r?.memory;
  if (m) {
    if (m.limit) w("memory.max", m.limit > 0 ? m.limit : "max");
    const swap = swapToV2(m.swap, m.limit);
    // No swap accounting (no memory.swap.max): skip, as docker does, rather than fail.
    if (swap !== undefined) w("memory.swap.max", swap, true);
    if (m.reservation) w("memory.low", m.reservation > 0 ? m.reservation : "max");
  }
  const c = r?.cpu;
  if (c) {
    const weight = sharesToWeight(c.shares ?? 0);
    if (weight) w("cpu.weight", weight);
    const max = cpuMax(c.quota, c.period);
    if (max) w("cpu.max", max);
    if (c.cpus) w("cpuset.cpus", c.cpus);
    if (c.mems) w("cpuset.mems", c.mems);
  }
  if (r?.pids) w("pids.max", r.pids.limit > 0 ? r.pids.limit : "max");
  for (const [k, v] of Object.entries(r?.unified ?? {})) {
    if (
      k.includes("/") ||
      k.startsWith(".") ||
      k === "cgroup.procs" ||
      k === "cgroup.threads" ||
      k === "cgroup.subtree_control"
    ) {
      throw new UserError(`linux.resources.unified: "${k}" is not a settable cgroup file`);
    }
    w(k, v);
  }
  return out;
}
