// The settings of linux.resources as errors name them: the OCI field and the docker flag that
// sets it, and which of them a Resources asks for (per controller).

import type { Resources } from "../config/types.ts";
import { setting } from "./controller.ts";

type Check = (r: Resources) => unknown;

/** field → [the docker flag, whether r asks for it]. */
const SETTINGS = {
  "memory.limit": ["-m", (r) => r.memory?.limit],
  "memory.swap": ["--memory-swap", (r) => r.memory?.swap],
  "memory.reservation": ["--memory-reservation", (r) => r.memory?.reservation],
  "memory.swappiness": ["--memory-swappiness", (r) => r.memory?.swappiness !== undefined && r.memory.swappiness >= 0],
  "memory.disableOOMKiller": ["--oom-kill-disable", (r) => r.memory?.disableOOMKiller],
  "memory.kernel": ["--kernel-memory", (r) => r.memory?.kernel],
  "memory.kernelTCP": [undefined, (r) => r.memory?.kernelTCP],
  "cpu.shares": ["--cpu-shares", (r) => r.cpu?.shares],
  "cpu.quota": ["--cpus, --cpu-quota", (r) => r.cpu?.quota],
  "cpu.period": ["--cpu-period", (r) => r.cpu?.period],
  "cpu.burst": [undefined, (r) => r.cpu?.burst],
  "cpu.idle": [undefined, (r) => r.cpu?.idle],
  "cpu.realtimeRuntime": ["--cpu-rt-runtime", (r) => r.cpu?.realtimeRuntime],
  "cpu.realtimePeriod": ["--cpu-rt-period", (r) => r.cpu?.realtimePeriod],
  "cpu.cpus": ["--cpuset-cpus", (r) => r.cpu?.cpus],
  "cpu.mems": ["--cpuset-mems", (r) => r.cpu?.mems],
  "pids.limit": ["--pids-limit", (r) => r.pids],
  "blockIO.weight": ["--blkio-weight", (r) => r.blockIO?.weight],
  "blockIO.leafWeight": [undefined, (r) => r.blockIO?.leafWeight],
  "blockIO.weightDevice": ["--blkio-weight-device", (r) => r.blockIO?.weightDevice?.length],
  "blockIO.throttleReadBpsDevice": ["--device-read-bps", (r) => r.blockIO?.throttleReadBpsDevice?.length],
  "blockIO.throttleWriteBpsDevice": ["--device-write-bps", (r) => r.blockIO?.throttleWriteBpsDevice?.length],
  "blockIO.throttleReadIOPSDevice": ["--device-read-iops", (r) => r.blockIO?.throttleReadIOPSDevice?.length],
  "blockIO.throttleWriteIOPSDevice": ["--device-write-iops", (r) => r.blockIO?.throttleWriteIOPSDevice?.length],
  hugepageLimits: ["--hugetlb-limit", (r) => r.hugepageLimits?.length],
  "network.classID": [undefined, (r) => r.network?.classID !== undefined],
  "network.priorities": [undefined, (r) => r.network?.priorities?.length],
} satisfies Record<string, [flag: string | undefined, asked: Check]>;

export type SettingField = keyof typeof SETTINGS;

/** "linux.resources.blockIO.weight (--blkio-weight)". */
export function named(field: SettingField): string {
  return setting(field, SETTINGS[field][0]);
}

/** The named settings among `fields` that `r` asks for. */
export function askedOf(r: Resources | undefined, fields: SettingField[]): string[] {
  if (!r) return [];
  return fields.filter((f) => SETTINGS[f][1](r)).map(named);
}
