// docker inspect's HostConfig resource fields, from the container's linux.resources (what the
// cgroups have, updates included).
import type { Resources, ThrottleDevice } from "../config/types.ts";

const devRate = (l: ThrottleDevice[] | undefined) =>
  (l ?? []).map((d) => ({ Path: `${d.major}:${d.minor}`, Rate: d.rate }));

export function resourcesHostConfig(r: Resources | undefined) {
  const m = r?.memory;
  const c = r?.cpu;
  const b = r?.blockIO;
  return {
    Memory: m?.limit ?? 0,
    MemorySwap: m?.swap ?? 0,
    MemoryReservation: m?.reservation ?? 0,
    MemorySwappiness: m?.swappiness ?? null,
    OomKillDisable: !!m?.disableOOMKiller,
    KernelMemory: m?.kernel ?? 0,
    NanoCpus: c?.quota && c.quota > 0 && c.period ? Math.round((c.quota / c.period) * 1e9) : 0,
    CpuQuota: c?.quota ?? 0,
    CpuPeriod: c?.period ?? 0,
    CpuShares: c?.shares ?? 0,
    CpuRealtimePeriod: c?.realtimePeriod ?? 0,
    CpuRealtimeRuntime: c?.realtimeRuntime ?? 0,
    CpusetCpus: c?.cpus ?? "",
    CpusetMems: c?.mems ?? "",
    PidsLimit: r?.pids?.limit ?? 0,
    BlkioWeight: b?.weight ?? 0,
    BlkioWeightDevice: (b?.weightDevice ?? []).map((d) => ({ Path: `${d.major}:${d.minor}`, Weight: d.weight })),
    BlkioDeviceReadBps: devRate(b?.throttleReadBpsDevice),
    BlkioDeviceWriteBps: devRate(b?.throttleWriteBpsDevice),
    BlkioDeviceReadIOps: devRate(b?.throttleReadIOPSDevice),
    BlkioDeviceWriteIOps: devRate(b?.throttleWriteIOPSDevice),
    HugepageLimits: r?.hugepageLimits ?? [],
  };
}
