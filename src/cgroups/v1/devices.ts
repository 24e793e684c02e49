// The devices controller (v1): which device nodes the container may create and open. Without it
// a container's root (which has CAP_MKNOD) could mknod the host's disks and read them. On cgroup
// v2 (and on a hybrid host without a v1 devices hierarchy) the same rules become a BPF program
// (v2/devices.ts).

import { posix } from "node:path";
import type { DeviceRule } from "../../config/types.ts";
import { ALWAYS_ALLOWED_DEVICES } from "../../config/defaults.ts";
import type { V1Controller } from "../controller.ts";
import type { CgroupWrite } from "../types.ts";

/** "c 1:3 rwm"; a missing type means all ("a"), a missing major/minor means any ("*"). */
export function deviceRuleLine(r: DeviceRule): string {
  const type = r.type && r.type !== "a" ? r.type : "a";
  if (type === "a" && r.major === undefined && r.minor === undefined) return "a";
  const num = (n: number | undefined) => (n === undefined || n < 0 ? "*" : String(n));
  return `${type} ${num(r.major)}:${num(r.minor)} ${r.access || "rwm"}`;
}

/** One write per rule, in order: devices.allow or devices.deny; then the always-allowed ones. */
export function v1DeviceWrites(dir: string, rules: DeviceRule[] | undefined): CgroupWrite[] {
  if (!rules?.length) return [];
  const lines = rules.map((r) => ({
    path: posix.join(dir, r.allow ? "devices.allow" : "devices.deny"),
    value: deviceRuleLine(r),
  }));
  const have = new Set(lines.map((l) => `${l.path} ${l.value}`));
  for (const r of ALWAYS_ALLOWED_DEVICES) {
    const w = { path: posix.join(dir, "devices.allow"), value: deviceRuleLine(r) };
    if (!have.has(`${w.path} ${w.value}`)) lines.push(w);
  }
  return lines;
}

export const devices: V1Controller = {
  name: "devices",
  v2: "devices",
  joins: () => true,
  asked: (r) => (r?.devices?.length ? ["linux.resources.devices (--device, --device-cgroup-rule)"] : []),
  writes: (leaf, r) => v1DeviceWrites(leaf.dir, r?.devices),
};
