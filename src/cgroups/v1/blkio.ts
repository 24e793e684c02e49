// blkio (v1): proportional weight (BFQ's blkio.bfq.weight, else CFQ's blkio.weight) and
// per-device throttling. A kernel with neither weight file can't weigh I/O: asking is an error
// naming the file, never a setting dropped.

import type { Resources, ThrottleDevice } from "../../config/types.ts";
import { controlWrite, type PlanContext, type V1Controller } from "../controller.ts";
import { askedOf, named, type SettingField } from "../settings.ts";
import type { CgroupLeaf, CgroupWrite } from "../types.ts";

const THROTTLES: [keyof NonNullable<Resources["blockIO"]>, string, SettingField][] = [
  ["throttleReadBpsDevice", "blkio.throttle.read_bps_device", "blockIO.throttleReadBpsDevice"],
  ["throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "blockIO.throttleWriteBpsDevice"],
  ["throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "blockIO.throttleReadIOPSDevice"],
  ["throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "blockIO.throttleWriteIOPSDevice"],
];

function writes(leaf: CgroupLeaf, r: Resources | undefined, _ctx: PlanContext): CgroupWrite[] {
  const b = r?.blockIO;
  if (!b) return [];
  const dir = leaf.dir;
  const out: CgroupWrite[] = [];
  // BFQ (the scheduler of current kernels) first, CFQ's file otherwise (runc's order).
  const weight = (file: string, value: string, s: string) =>
    controlWrite(dir, `blkio.bfq.${file}`, value, { setting: s, fallback: { file: `blkio.${file}`, value } });
  if (b.weight) out.push(weight("weight", String(b.weight), named("blockIO.weight")));
  if (b.leafWeight)
    out.push(controlWrite(dir, "blkio.leaf_weight", b.leafWeight, { setting: named("blockIO.leafWeight") }));
  for (const d of b.weightDevice ?? []) {
    if (d.weight) out.push(weight("weight_device", `${d.major}:${d.minor} ${d.weight}`, named("blockIO.weightDevice")));
    if (d.leafWeight)
      out.push(
        controlWrite(dir, "blkio.leaf_weight_device", `${d.major}:${d.minor} ${d.leafWeight}`, {
          setting: named("blockIO.weightDevice"),
        }),
      );
  }
  for (const [key, file, field] of THROTTLES)
    for (const d of (b[key] as ThrottleDevice[] | undefined) ?? [])
      out.push(controlWrite(dir, file, `${d.major}:${d.minor} ${d.rate}`, { setting: named(field) }));
  return out;
}

export const blkio: V1Controller = {
  name: "blkio",
  v2: "io",
  // Always joined: `mini stats` reads the container's BLOCK I/O from it.
  joins: () => true,
  asked: (r) =>
    askedOf(r, ["blockIO.weight", "blockIO.leafWeight", "blockIO.weightDevice", ...THROTTLES.map((t) => t[2])]),
  writes,
};
