// runc update's flags → the linux.resources they change (on top of --resources FILE, if given).
import type { Resources } from "../../config/types.ts";
import { parseBytes } from "../../config/units.ts";
import type { OptValues } from "../argv.ts";

export function resourcesFromFlags(base: Resources, v: OptValues): Resources {
  const r: Resources = { ...base };
  const str = (k: string) => (typeof v[k] === "string" ? (v[k] as string) : undefined);
  const memory = str("memory");
  const swap = str("memory-swap");
  if (memory) r.memory = { ...r.memory, limit: parseBytes(memory) };
  if (swap) r.memory = { ...r.memory, swap: parseBytes(swap) };
  const pids = str("pids-limit");
  if (pids) r.pids = { limit: Number(pids) };
  for (const [flag, key] of [
    ["cpu-quota", "quota"],
    ["cpu-period", "period"],
    ["cpu-shares", "shares"],
    ["cpu-rt-period", "realtimePeriod"],
    ["cpu-rt-runtime", "realtimeRuntime"],
  ] as const) {
    const n = str(flag);
    if (n) r.cpu = { ...r.cpu, [key]: Number(n) };
  }
  const cpus = str("cpuset-cpus");
  const mems = str("cpuset-mems");
  if (cpus) r.cpu = { ...r.cpu, cpus };
  if (mems) r.cpu = { ...r.cpu, mems };
  const reservation = str("memory-reservation");
  if (reservation) r.memory = { ...r.memory, reservation: parseBytes(reservation) };
  const weight = str("blkio-weight");
  if (weight) r.blockIO = { ...r.blockIO, weight: Number(weight) };
  return r;
}
