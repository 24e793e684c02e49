// planCgroups: spec resources + host layout → CgroupPlan (pure when readFile/exists are given).

import { existsSync, readFileSync } from "node:fs";
import { posix } from "node:path";
import type { Resources } from "../config/types.ts";
import { UserError } from "../common/errors.ts";
import { detectMode, findHierarchies } from "./detect.ts";
import { checkCgroupsPath, leafDir, missingDirs, nearestExisting } from "./paths.ts";
import { DEFAULT_ROOT, type CgroupLeaf, type CgroupPlan, type CgroupWrite, type PlanInput } from "./types.ts";
import { joinsV1, unmountedWarnings, v1Writes } from "./v1/controllers.ts";
import { subtreeWrites, v2Writes } from "./v2/controllers.ts";

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Values the kernel would reject anyway, caught before anything is created. */
export function checkResources(r: Resources | undefined): void {
  if (!r) return;
  const bad = (what: string, v: number, rule: string) => {
    throw new UserError(`invalid ${what} ${v}: ${rule}`);
  };
  const m = r.memory;
  if (m?.limit !== undefined && m.limit < -1) bad("memory limit", m.limit, "use a byte count, or -1 for unlimited");
  if (m?.swap !== undefined && m.swap < -1) bad("memory+swap limit", m.swap, "use a byte count, or -1 for unlimited");
  if (m?.limit && m.limit > 0 && m.swap && m.swap > 0 && m.swap < m.limit) {
    throw new UserError("minimum memoryswap limit should be larger than memory limit");
  }
  if (m?.swappiness !== undefined && m.swappiness > 100) bad("memory swappiness", m.swappiness, "use 0 to 100");
  const c = r.cpu;
  if (c?.period && (c.period < 1000 || c.period > 1000000))
    bad("cpu period", c.period, "use 1000 to 1000000 microseconds");
  if (c?.quota && c.quota !== -1 && c.quota < 1000)
    bad("cpu quota", c.quota, "use at least 1000 microseconds, or -1 for unlimited");
  if (c?.shares !== undefined && c.shares < 0) bad("cpu shares", c.shares, "use a positive number");
}

export function planCgroups(opts: PlanInput): CgroupPlan {
  const readFile = opts.readFile ?? readIfExists;
  const exists = opts.exists ?? existsSync;
  const r = opts.resources;
  checkResources(r);
  if (opts.mode === "v1" && r?.unified && Object.keys(r.unified).length) {
    throw new UserError("linux.resources.unified needs cgroup v2, and this host uses cgroup v1");
  }
  const root = posix.normalize(opts.root).replace(/(.)\/+$/, "$1");
  const path = checkCgroupsPath(opts.cgroupsPath || opts.name);
  const hierarchies = findHierarchies(opts.mode, root, opts.mountinfo, opts.selfCgroup).filter(
    (h) => opts.mode === "v2" || joinsV1(h.controllers, r),
  );
  if (hierarchies.length === 0) throw new UserError(`no cgroup hierarchies are mounted under ${root}`);

  const plan: CgroupPlan = { mode: opts.mode, root, dirs: [], writes: [], procs: [], leaves: [], warnings: [] };
  const created = new Set<string>();
  const v1leaves: { leaf: CgroupLeaf; existing: string }[] = [];
  for (const h of hierarchies) {
    const dir = leafDir(opts.mode, h, path);
    const leaf: CgroupLeaf = {
      hierarchy: h.key,
      controllers: h.controllers,
      mountpoint: h.mountpoint,
      dir,
      unified: h.unified,
    };
    const existing = nearestExisting(h.mountpoint, dir, exists);
    for (const d of missingDirs(h.mountpoint, dir, exists)) {
      plan.dirs.push(d);
      created.add(d);
    }
    plan.leaves.push(leaf);
    plan.procs.push(posix.join(dir, "cgroup.procs"));
    if (!h.unified) v1leaves.push({ leaf, existing });
  }

  const writes: CgroupWrite[] = [];
  if (opts.mode === "v2") {
    const leaf = plan.leaves[0]!;
    writes.push(...subtreeWrites(leaf.dir, r, { root, created, readFile }));
    writes.push(...v2Writes(leaf.dir, r));
  } else {
    for (const { leaf, existing } of v1leaves) {
      writes.push(...v1Writes(leaf, r, { created, readFile, exists, existing, warnings: plan.warnings }));
    }
    const placed = v1leaves.map((l) => l.leaf);
    plan.warnings.push(...unmountedWarnings(placed, r, root));
  }
  plan.writes = writes;
  return plan;
}

export interface HostPlanOptions {
  name: string;
  cgroupsPath?: string;
  resources?: Resources;
  root?: string;
}

/** planCgroups with this host's mode, mountinfo and /proc/self/cgroup, read now. */
export function planCgroupsOnHost(o: HostPlanOptions): CgroupPlan {
  const root = o.root ?? DEFAULT_ROOT;
  const mountinfo = readFileSync("/proc/self/mountinfo", "utf8");
  return planCgroups({
    name: o.name,
    cgroupsPath: o.cgroupsPath,
    resources: o.resources,
    root,
    mode: detectMode(root, mountinfo),
    mountinfo,
    selfCgroup: readFileSync("/proc/self/cgroup", "utf8"),
  });
}
