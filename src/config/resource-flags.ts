// docker's resource flags beyond -m/--cpus/--cpu-shares/--pids-limit → linux.resources (and
// linux.devices for --device). Values are checked as docker checks them; whether this host can
// apply them is the cgroup plan's business (it refuses what it can't, naming the file).
import { UserError } from "../common/errors.ts";
import { parseDeviceCgroupRule, parseDeviceFlag, type StatDevice, statHostDevice } from "./device-flags.ts";
import type { Device, Resources, ThrottleDevice } from "./types.ts";
import { MIN_MEMORY_BYTES, parseBytes } from "./units.ts";

export interface ResourceFlags {
  cpuPeriod?: string;
  cpuQuota?: string;
  cpuRtPeriod?: string;
  cpuRtRuntime?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  memoryReservation?: string;
  memorySwappiness?: string;
  oomKillDisable?: boolean;
  kernelMemory?: string;
  blkioWeight?: string;
  blkioWeightDevice?: string[];
  deviceReadBps?: string[];
  deviceWriteBps?: string[];
  deviceReadIops?: string[];
  deviceWriteIops?: string[];
  hugetlbLimit?: string[];
  device?: string[];
  deviceCgroupRule?: string[];
}

function int(flag: string, v: string | undefined, min: number, max: number, rule: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v.trim())) throw new UserError(`invalid ${flag} "${v}": not an integer`);
  const n = Number(v);
  if (n < min || n > max) throw new UserError(`invalid ${flag} ${n}: ${rule}`);
  return n;
}

/** "/dev/sda:VALUE" → the block device's numbers and the value. */
function perDevice(
  flag: string,
  v: string,
  stat: StatDevice,
  value: (s: string) => number,
): { major: number; minor: number; n: number } {
  const i = v.lastIndexOf(":");
  const path = i > 0 ? v.slice(0, i) : "";
  if (!path.startsWith("/dev/")) throw new UserError(`invalid ${flag} "${v}": use /dev/DEVICE:VALUE`);
  const d = stat(path);
  if (!d || d === "dir" || d.type !== "b") throw new UserError(`invalid ${flag} "${v}": ${path} is not a block device`);
  return { major: d.major, minor: d.minor, n: value(v.slice(i + 1)) };
}

/** "2MB" / "2m" / "1gb" → the page size as the hugetlb controller names it ("2MB", "1GB", "64KB"). */
export function hugePageSize(s: string): string {
  const m = /^(\d+)\s*([kmg])i?b?$/i.exec(s.trim());
  if (!m) throw new UserError(`invalid huge page size "${s}": use e.g. 2MB or 1GB`);
  return `${Number(m[1])}${m[2]!.toUpperCase()}B`;
}

/** The resources and devices the flags add to `base` (docker's defaults and -m/--cpus/…). */
export function applyResourceFlags(
  base: Resources,
  f: ResourceFlags,
  stat: StatDevice = statHostDevice,
): { resources: Resources; devices: Device[] } {
  const r: Resources = { ...base };
  const cpu = { ...r.cpu };
  const period = int("--cpu-period", f.cpuPeriod, 1000, 1000000, "use 1000 to 1000000 microseconds");
  const quota = int("--cpu-quota", f.cpuQuota, -1, 2 ** 53, "use at least 1000 microseconds, or -1 for unlimited");
  if ((period !== undefined || quota !== undefined) && base.cpu?.quota !== undefined)
    throw new UserError("conflicting options: --cpus and --cpu-period/--cpu-quota can't both be set");
  if (quota !== undefined && quota !== -1 && quota !== 0 && quota < 1000)
    throw new UserError(`invalid --cpu-quota ${quota}: use at least 1000 microseconds, or -1 for unlimited`);
  if (period !== undefined) cpu.period = period;
  if (quota) cpu.quota = quota;
  const rtPeriod = int("--cpu-rt-period", f.cpuRtPeriod, 1, 2 ** 53, "use a positive number of microseconds");
  const rtRuntime = int("--cpu-rt-runtime", f.cpuRtRuntime, -1, 2 ** 53, "use microseconds, or -1 for unlimited");
  if (rtPeriod !== undefined) cpu.realtimePeriod = rtPeriod;
  if (rtRuntime !== undefined) cpu.realtimeRuntime = rtRuntime;
  if (f.cpusetCpus !== undefined) cpu.cpus = f.cpusetCpus;
  if (f.cpusetMems !== undefined) cpu.mems = f.cpusetMems;
  if (Object.keys(cpu).length) r.cpu = cpu;

  const memory = { ...r.memory };
  if (f.memoryReservation !== undefined) {
    const n = parseBytes(f.memoryReservation, "memory reservation");
    if (n > 0 && n < MIN_MEMORY_BYTES)
      throw new UserError(
        `invalid --memory-reservation "${f.memoryReservation}": minimum memory reservation allowed is 6MB`,
      );
    if (memory.limit && memory.limit > 0 && n > memory.limit)
      throw new UserError("minimum memory limit can not be less than memory reservation limit, see usage");
    if (n) memory.reservation = n;
  }
  const swappiness = int("--memory-swappiness", f.memorySwappiness, -1, 100, "use 0 to 100 (-1: the host's)");
  if (swappiness !== undefined && swappiness >= 0) memory.swappiness = swappiness;
  if (f.oomKillDisable) memory.disableOOMKiller = true;
  if (f.kernelMemory !== undefined) memory.kernel = parseBytes(f.kernelMemory, "kernel memory");
  if (Object.keys(memory).length) r.memory = memory;

  const blockIO: NonNullable<Resources["blockIO"]> = { ...r.blockIO };
  const weight = int("--blkio-weight", f.blkioWeight, 0, 1000, "use 10 to 1000 (0: unset)");
  if (weight !== undefined && weight > 0 && weight < 10)
    throw new UserError(`invalid --blkio-weight ${weight}: use 10 to 1000 (0: unset)`);
  if (weight) blockIO.weight = weight;
  for (const v of f.blkioWeightDevice ?? []) {
    const d = perDevice("--blkio-weight-device", v, stat, (s) => {
      const w = int("--blkio-weight-device", s, 10, 1000, "use a weight from 10 to 1000");
      return w!;
    });
    blockIO.weightDevice = [...(blockIO.weightDevice ?? []), { major: d.major, minor: d.minor, weight: d.n }];
  }
  const rate = (flag: string, bytes: boolean) => (s: string) =>
    bytes ? parseBytes(s, `${flag} rate`) : int(flag, s, 0, 2 ** 53, "use a number of operations per second")!;
  const throttles: [keyof ResourceFlags, keyof NonNullable<Resources["blockIO"]>, string, boolean][] = [
    ["deviceReadBps", "throttleReadBpsDevice", "--device-read-bps", true],
    ["deviceWriteBps", "throttleWriteBpsDevice", "--device-write-bps", true],
    ["deviceReadIops", "throttleReadIOPSDevice", "--device-read-iops", false],
    ["deviceWriteIops", "throttleWriteIOPSDevice", "--device-write-iops", false],
  ];
  for (const [key, field, flag, bytes] of throttles)
    for (const v of (f[key] as string[] | undefined) ?? []) {
      const d = perDevice(flag, v, stat, rate(flag, bytes));
      const list = (blockIO[field] as ThrottleDevice[] | undefined) ?? [];
      (blockIO[field] as ThrottleDevice[]) = [...list, { major: d.major, minor: d.minor, rate: d.n }];
    }
  if (Object.keys(blockIO).length) r.blockIO = blockIO;

  for (const v of f.hugetlbLimit ?? []) {
    const i = v.indexOf(":");
    if (i <= 0) throw new UserError(`invalid --hugetlb-limit "${v}": use PAGESIZE:LIMIT, e.g. 2MB:64m`);
    const pageSize = hugePageSize(v.slice(0, i));
    const limit = parseBytes(v.slice(i + 1), "hugetlb limit");
    r.hugepageLimits = [...(r.hugepageLimits ?? []).filter((h) => h.pageSize !== pageSize), { pageSize, limit }];
  }

  const devices: Device[] = [];
  const rules = [...(r.devices ?? [])];
  for (const v of f.device ?? []) {
    const d = parseDeviceFlag(v, stat);
    devices.push(...d.devices);
    rules.push(...d.rules);
  }
  for (const v of f.deviceCgroupRule ?? []) rules.push(parseDeviceCgroupRule(v));
  if (rules.length) r.devices = rules;
  return { resources: r, devices };
}
