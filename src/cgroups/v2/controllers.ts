// The cgroup v2 controllers mini knows, and a v2 plan's writes computed from them: controller
// delegation down the tree (cgroup.subtree_control), then the leaf's files in table order.
// Controllers without logic of their own are defined here; the others have a file each. Device
// rules are not files on v2: devices.ts compiles them to a BPF program (plan.ts attaches it).

import { posix } from "node:path";
import type { Resources } from "../../config/types.ts";
import { UserError } from "../../common/errors.ts";
import { controlWrite, type V2Controller } from "../controller.ts";
import { chain } from "../paths.ts";
import { askedOf, named } from "../settings.ts";
import type { CgroupWrite } from "../types.ts";
import { cpu } from "./cpu.ts";
import { hugetlb } from "./hugetlb.ts";
import { io } from "./io.ts";
import { memory } from "./memory.ts";
import { unified } from "./unified.ts";

const cpuset: V2Controller = {
  name: "cpuset",
  required: (r) => (r?.cpu && (r.cpu.cpus || r.cpu.mems) ? ["cpuset"] : []),
  writes(dir, r) {
    const out: CgroupWrite[] = [];
    if (r?.cpu?.cpus) out.push(controlWrite(dir, "cpuset.cpus", r.cpu.cpus, { setting: named("cpu.cpus") }));
    if (r?.cpu?.mems) out.push(controlWrite(dir, "cpuset.mems", r.cpu.mems, { setting: named("cpu.mems") }));
    return out;
  },
};

const pids: V2Controller = {
  name: "pids",
  required: (r) => (r?.pids ? ["pids"] : []),
  writes: (dir, r) =>
    r?.pids
      ? [controlWrite(dir, "pids.max", r.pids.limit > 0 ? r.pids.limit : "max", { setting: named("pids.limit") })]
      : [],
};

/** net_cls and net_prio exist on cgroup v1 only. */
const network: V2Controller = {
  name: "network",
  required: () => [],
  unsupported: (r) => askedOf(r, ["network.classID", "network.priorities"]),
  writes: () => [],
};

const V2_CONTROLLERS: readonly V2Controller[] = [memory, cpu, cpuset, pids, io, hugetlb, network, unified];

/** Enabled for every container when the root offers them, asked for or not (stats read them; update changes them). */
const ALWAYS_ENABLED = ["cpu", "memory", "pids", "io", "cpuset"];

/** Controllers the resources need ("required"). */
export function requiredV2(r: Resources | undefined, only?: Set<string>): string[] {
  return [...new Set(V2_CONTROLLERS.filter((c) => !only || only.has(c.name)).flatMap((c) => c.required(r)))];
}

/** Settings asked for that cgroup v2 can't apply: one error naming them all. */
export function checkV2Supported(r: Resources | undefined): void {
  const bad = V2_CONTROLLERS.flatMap((c) => c.unsupported?.(r) ?? []);
  if (bad.length)
    throw new UserError(
      `${bad.join(", ")}: not available on cgroup v2 (this host's cgroup hierarchy has no such file)`,
    );
}

export interface V2Context {
  /** The cgroup2 hierarchy's root (its mount point). */
  root: string;
  created: Set<string>;
  readFile: (path: string) => string | undefined;
  /** Hybrid host: only these controllers are taken from the cgroup2 hierarchy (no extra delegation). */
  only?: Set<string>;
}

const words = (s: string | undefined) => (s ?? "").split(/\s+/).filter(Boolean);

/** The controllers the hierarchy's root offers (cgroup.controllers). */
export function availableV2(root: string, readFile: (p: string) => string | undefined): string[] {
  return words(readFile(posix.join(root, "cgroup.controllers")));
}

/** "+cpu +memory +pids" in cgroup.subtree_control of every ancestor from root to the leaf's parent. */
export function subtreeWrites(leafDir: string, r: Resources | undefined, ctx: V2Context): CgroupWrite[] {
  const available = availableV2(ctx.root, ctx.readFile);
  const required = requiredV2(r, ctx.only);
  const missing = required.filter((c) => !available.includes(c));
  if (missing.length) {
    throw new UserError(
      `the cgroup v2 controller${missing.length > 1 ? "s" : ""} ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} not available in ${posix.join(ctx.root, "cgroup.controllers")}`,
    );
  }
  const wanted = ctx.only ? required : [...ALWAYS_ENABLED, ...required];
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

/** The leaf's control files (of the `only` controllers, on a hybrid host). */
export function v2Writes(dir: string, r: Resources | undefined, only?: Set<string>): CgroupWrite[] {
  return V2_CONTROLLERS.filter((c) => !only || only.has(c.name)).flatMap((c) => c.writes(dir, r));
}
