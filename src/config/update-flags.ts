// `mini update`'s flags (docker's) → the container's new linux.resources, with docker's rules:
// a memory limit above the recorded memory+swap limit needs --memory-swap too, --cpus and
// --cpu-quota/--cpu-period don't mix, a swap limit needs a memory limit.
import { UserError } from "../common/errors.ts";
import type { Resources } from "./types.ts";
import { parseBytes, parseCpus, parseMemory } from "./units.ts";

export interface UpdateFlags {
  memory?: string;
  memorySwap?: string;
  memoryReservation?: string;
  cpus?: string;
  cpuShares?: string;
  cpuQuota?: string;
  cpuPeriod?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: string;
  blkioWeight?: string;
}

function int(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v.trim())) throw new UserError(`invalid ${flag} "${v}": not an integer`);
  return Number(v);
}

/** True when no flag asks for a change. */
export const noUpdate = (f: UpdateFlags) => Object.values(f).every((v) => v === undefined);

/** The resources after the update (a new object; `current` is left as it is). */
export function updatedResources(current: Resources | undefined, f: UpdateFlags): Resources {
  if (noUpdate(f)) throw new UserError("you must provide one or more flags when using this command");
  const r: Resources = { ...current };
  const memory = { ...r.memory };
  const limit = f.memory !== undefined ? parseMemory(f.memory) : undefined;
  let swap: number | undefined;
  if (f.memorySwap !== undefined)
    swap = f.memorySwap.trim() === "-1" ? -1 : parseBytes(f.memorySwap, "memory-swap size");
  const newLimit = limit ?? memory.limit;
  if (limit !== undefined && swap === undefined && memory.swap !== undefined && memory.swap > 0 && limit > memory.swap)
    throw new UserError(
      "memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time",
    );
  if (swap !== undefined && swap > 0) {
    if (!newLimit || newLimit <= 0) throw new UserError("--memory-swap needs a memory limit: set --memory too");
    if (swap < newLimit) throw new UserError("minimum memoryswap limit should be larger than memory limit, see usage");
  }
  if (limit !== undefined) memory.limit = limit;
  if (swap !== undefined) memory.swap = swap;
  if (f.memoryReservation !== undefined) memory.reservation = parseBytes(f.memoryReservation, "memory reservation");
  if (memory.reservation && memory.limit && memory.limit > 0 && memory.reservation > memory.limit)
    throw new UserError("minimum memory limit can not be less than memory reservation limit, see usage");
  if (Object.keys(memory).length) r.memory = memory;

  const cpu = { ...r.cpu };
  if (f.cpus !== undefined) {
    if (f.cpuQuota !== undefined || f.cpuPeriod !== undefined)
      throw new UserError("conflicting options: --cpus and --cpu-period/--cpu-quota can't both be set");
    Object.assign(cpu, parseCpus(f.cpus));
  }
  const shares = int("--cpu-shares", f.cpuShares);
  if (shares !== undefined) {
    if (shares < 2 || shares > 262144) throw new UserError(`invalid --cpu-shares ${shares}: use 2 to 262144`);
    cpu.shares = shares;
  }
  const quota = int("--cpu-quota", f.cpuQuota);
  if (quota !== undefined) cpu.quota = quota;
  const period = int("--cpu-period", f.cpuPeriod);
  if (period !== undefined) cpu.period = period;
  if (f.cpusetCpus !== undefined) cpu.cpus = f.cpusetCpus;
  if (f.cpusetMems !== undefined) cpu.mems = f.cpusetMems;
  if (Object.keys(cpu).length) r.cpu = cpu;

  const pids = int("--pids-limit", f.pidsLimit);
  if (pids !== undefined) r.pids = { limit: pids <= 0 ? -1 : pids };
  const weight = int("--blkio-weight", f.blkioWeight);
  if (weight !== undefined) {
    if (weight !== 0 && (weight < 10 || weight > 1000))
      throw new UserError(`invalid --blkio-weight ${weight}: use 10 to 1000`);
    r.blockIO = { ...r.blockIO, weight: weight || undefined };
  }
  return r;
}
