// cgroups: plan (pure) → apply → (container runs: update, query) → remove.

export { DEFAULT_ROOT } from "./types.ts";
export type {
  CgroupDeviceProgram,
  CgroupLeaf,
  CgroupLog,
  CgroupMode,
  CgroupPlan,
  CgroupWrite,
  HostFacts,
  PlanInput,
} from "./types.ts";
export { detectMode, findHierarchies, parseMountinfo, parseSelfCgroup } from "./detect.ts";
export { checkResources, planCgroups, planCgroupsOnHost, planUpdate } from "./plan.ts";
export { hasSwapAccounting, readHostFacts } from "./host.ts";
export type { HostPlanOptions } from "./plan.ts";
export { applyCgroups, attachDeviceProgram } from "./apply.ts";
export type { ApplyOptions } from "./apply.ts";
export { moveIntoCgroups, planJoin } from "./join.ts";
export type { JoinPlan } from "./join.ts";
export { updateCgroups } from "./update.ts";
export type { ControlWriter } from "./update.ts";
export { killAll, removeCgroups } from "./remove.ts";
export type { RemoveOptions } from "./remove.ts";
export {
  cgroupMountLeaves,
  cgroupPids,
  cgroupsUnusable,
  isFrozen,
  memoryLimit,
  memoryLeaf,
  oomKilled,
  setFrozen,
} from "./query.ts";
export { readStats } from "./stats.ts";
export { runcStats } from "./runc-stats.ts";
export type { CgroupStats } from "./stats.ts";
export { cpuMax, sharesToWeight } from "./v2/cpu.ts";
export { swapToV2 } from "./v2/memory.ts";
