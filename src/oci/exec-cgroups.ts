// runc exec --cgroup: the process joins a sub-cgroup of the container's instead of its cgroups.
//   --cgroup PATH                       cgroup v2 (and a hybrid host's cgroup2 hierarchy): one path
//   --cgroup CTRL[,CTRL]:PATH ...       per v1 controller; hierarchies not named keep the container's
// PATH is relative to the container's cgroup and must exist.
import { UserError } from "../common/errors.ts";
import type { CgroupPlan } from "../cgroups/index.ts";

/** The cgroup.procs files an exec'd process joins. */
export function subCgroupProcs(plan: CgroupPlan | undefined, args: string[]): string[] {
  if (!plan) return [];
  if (!args.length) return plan.procs;
  const paths = new Map<string, string>();
  for (const a of args) {
    const colon = a.indexOf(":");
    if (colon < 0) {
      if (args.length !== 1)
        throw new UserError(`exec failed: invalid --cgroup argument: ${a} (missing <controller>: prefix)`, 255);
      paths.set("", a);
      continue;
    }
    for (const c of a.slice(0, colon).split(",")) {
      if (!c) throw new UserError(`exec failed: invalid --cgroup argument: ${a} (empty <controller> prefix)`, 255);
      if (paths.has(c))
        throw new UserError(`exec failed: invalid --cgroup argument(s): controller ${c} specified multiple times`, 255);
      paths.set(c, a.slice(colon + 1));
    }
  }
  const clean = (p: string) => {
    const parts = p.split("/").filter((s) => s && s !== ".");
    if (parts.includes(".."))
      throw new UserError(`exec failed: --cgroup ${p}: must stay below the container's cgroup`, 255);
    return parts.join("/");
  };
  return plan.leaves.map((leaf, i) => {
    const sub = paths.get("") ?? leaf.controllers.map((c) => paths.get(c)).find((p) => p !== undefined);
    return sub === undefined ? plan.procs[i]! : `${leaf.dir}/${clean(sub)}/cgroup.procs`;
  });
}
