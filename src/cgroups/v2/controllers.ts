// The cgroup v2 controllers mini knows, and a v2 plan's writes computed from them: controller
// delegation down the tree (cgroup.subtree_control), then the leaf's files in table order.
// Controllers without logic of their own are defined here; the others have a file each.

import { posix } from "node:path";
import type { Resources } from "../../config/types.ts";
import { UserError } from "../../common/errors.ts";
import { controlWrite, type V2Controller } from "../controller.ts";
import { chain } from "../paths.ts";
import type { CgroupWrite } from "../types.ts";
import { cpu } from "./cpu.ts";
import { memory } from "./memory.ts";
import { unified } from "./unified.ts";

const cpuset: V2Controller = {
  name: "cpuset",
  required: (r) => (r?.cpu && (r.cpu.cpus || r.cpu.mems) ? ["cpuset"] : []),
  writes(dir, r) {
    const out: CgroupWrite[] = [];
    if (r?.cpu?.cpus) out.push(controlWrite(dir, "cpuset.cpus", r.cpu.cpus));
    if (r?.cpu?.mems) out.push(controlWrite(dir, "cpuset.mems", r.cpu.mems));
    return out;
  },
};

const pids: V2Controller = {
  name: "pids",
  required: (r) => (r?.pids ? ["pids"] : []),
  writes: (dir, r) => (r?.pids ? [controlWrite(dir, "pids.max", r.pids.limit > 0 ? r.pids.limit : "max")] : []),
};

const V2_CONTROLLERS: readonly V2Controller[] = [memory, cpu, cpuset, pids, unified];

/** Enabled for every container when the root offers them, asked for or not (stats read them). */
const ALWAYS_ENABLED = ["cpu", "memory", "pids"];

/** Controllers the resources need ("required") and the ones we enable anyway when available. */
function neededControllers(r: Resources | undefined): { required: string[]; wanted: string[] } {
  const required = [...new Set(V2_CONTROLLERS.flatMap((c) => c.required(r)))];
  return { required, wanted: [...ALWAYS_ENABLED, ...required] };
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
  return V2_CONTROLLERS.flatMap((c) => c.writes(dir, r));
}
