// io (v2): proportional weight (io.bfq.weight as given, else io.weight converted to its
// 1-10000 range, as runc does) and per-device limits in io.max.

import type { Resources, ThrottleDevice } from "../../config/types.ts";
import { controlWrite, type V2Controller } from "../controller.ts";
import { askedOf, named } from "../settings.ts";
import type { CgroupWrite } from "../types.ts";

/** blkio weight (10..1000) → io.weight (1..10000). */
export function blkioToIoWeight(weight: number): number {
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

const LIMITS: [keyof NonNullable<Resources["blockIO"]>, string][] = [
  ["throttleReadBpsDevice", "rbps"],
  ["throttleWriteBpsDevice", "wbps"],
  ["throttleReadIOPSDevice", "riops"],
  ["throttleWriteIOPSDevice", "wiops"],
];

const THROTTLE_SETTING =
  "linux.resources.blockIO.throttle*Device (--device-read-bps, --device-write-bps, --device-read-iops, --device-write-iops)";

/** One io.max line per device: "8:0 rbps=1048576 wiops=100". */
export function ioMaxLines(b: NonNullable<Resources["blockIO"]>): string[] {
  const byDev = new Map<string, string[]>();
  for (const [key, name] of LIMITS)
    for (const d of (b[key] as ThrottleDevice[] | undefined) ?? []) {
      const dev = `${d.major}:${d.minor}`;
      byDev.set(dev, [...(byDev.get(dev) ?? []), `${name}=${d.rate > 0 ? d.rate : "max"}`]);
    }
  return [...byDev].map(([dev, kv]) => `${dev} ${kv.join(" ")}`);
}

function writes(dir: string, r: Resources | undefined): CgroupWrite[] {
  const b = r?.blockIO;
  if (!b) return [];
  const out: CgroupWrite[] = [];
  const weight = (bfq: string, fallback: string, s: string) =>
    controlWrite(dir, "io.bfq.weight", bfq, { setting: s, fallback: { file: "io.weight", value: fallback } });
  if (b.weight) out.push(weight(String(b.weight), String(blkioToIoWeight(b.weight)), named("blockIO.weight")));
  for (const d of b.weightDevice ?? [])
    if (d.weight)
      out.push(
        weight(
          `${d.major}:${d.minor} ${d.weight}`,
          `${d.major}:${d.minor} ${blkioToIoWeight(d.weight)}`,
          named("blockIO.weightDevice"),
        ),
      );
  for (const line of ioMaxLines(b)) out.push(controlWrite(dir, "io.max", line, { setting: THROTTLE_SETTING }));
  return out;
}

export const io: V2Controller = {
  name: "io",
  required: (r) =>
    askedOf(r, [
      "blockIO.weight",
      "blockIO.weightDevice",
      "blockIO.throttleReadBpsDevice",
      "blockIO.throttleWriteBpsDevice",
      "blockIO.throttleReadIOPSDevice",
      "blockIO.throttleWriteIOPSDevice",
    ]).length
      ? ["io"]
      : [],
  unsupported: (r) => [
    ...askedOf(r, ["blockIO.leafWeight"]),
    ...(r?.blockIO?.weightDevice?.some((d) => d.leafWeight) ? [`${named("blockIO.weightDevice")} leafWeight`] : []),
  ],
  writes,
};
