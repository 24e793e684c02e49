// A container's cgroup statistics in the shape of runc's `events` data (runc/types Stats): CPU
// usage and throttling, memory with its raw memory.stat, pids, block I/O, huge pages; read from the
// v1 or v2 files. Fields the kernel doesn't have here are left out, as runc's omitempty does.
import { posix } from "node:path";
import { readControl } from "./fsio.ts";
import type { CgroupPlan } from "./types.ts";

const nums = (s: string | undefined) => (s ?? "").trim().split(/\s+/).filter(Boolean).map(Number);
const num = (s: string | undefined) => {
  const t = s?.trim();
  return t && /^\d+$/.test(t) ? Number(t) : undefined;
};
/** "key value" lines → record. */
export function keyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? "").split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

/** v1 "8:0 Read 4096" lines. */
export function blkioEntries(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? "").split("\n")) {
    const [dev, op, v] = line.trim().split(/\s+/);
    const m = dev && /^(\d+):(\d+)$/.exec(dev);
    if (m && op && v !== undefined) out.push({ major: Number(m[1]), minor: Number(m[2]), op, value: Number(v) });
  }
  return out;
}

/** v2 io.stat "8:0 rbytes=1 wbytes=2 …" → runc's Read/Write entries. */
export function ioStatEntries(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? "").split("\n")) {
    const m = /^(\d+):(\d+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const kv = Object.fromEntries(m[3]!.split(/\s+/).map((p) => p.split("=")));
    const dev = { major: Number(m[1]), minor: Number(m[2]) };
    out.push(
      { ...dev, op: "Read", value: Number(kv.rbytes ?? 0) },
      { ...dev, op: "Write", value: Number(kv.wbytes ?? 0) },
    );
  }
  return out;
}

const limitOf = (s: string | undefined) => {
  const t = s?.trim();
  if (!t || t === "max") return 2 ** 64 - 1;
  return Number(t);
};

/** runc's Stats object for the container's cgroups. */
export function runcStats(plan: CgroupPlan): Record<string, unknown> {
  const v2 = plan.mode === "v2";
  const dirOf = (c: string) => (v2 ? plan.leaves[0]?.dir : plan.leaves.find((l) => l.controllers.includes(c))?.dir);
  const read = (c: string, f: string) => {
    const d = dirOf(c);
    return d ? readControl(posix.join(d, f)) : undefined;
  };
  const cpu: Record<string, unknown> = {};
  const memory: Record<string, unknown> = {};
  if (v2) {
    const s = keyValues(read("cpu", "cpu.stat"));
    cpu.usage = {
      total: (s.usage_usec ?? 0) * 1000,
      kernel: (s.system_usec ?? 0) * 1000,
      user: (s.user_usec ?? 0) * 1000,
    };
    cpu.throttling = {
      periods: s.nr_periods ?? 0,
      throttledPeriods: s.nr_throttled ?? 0,
      throttledTime: (s.throttled_usec ?? 0) * 1000,
    };
    const raw = keyValues(read("memory", "memory.stat"));
    const events = keyValues(read("memory", "memory.events"));
    memory.cache = raw.file ?? 0;
    memory.usage = {
      usage: num(read("memory", "memory.current")) ?? 0,
      max: num(read("memory", "memory.peak")) ?? 0,
      limit: limitOf(read("memory", "memory.max")),
      failcnt: events.max ?? 0,
    };
    memory.swap = {
      usage: num(read("memory", "memory.swap.current")) ?? 0,
      limit: limitOf(read("memory", "memory.swap.max")),
      failcnt: 0,
    };
    memory.raw = raw;
  } else {
    const stat = keyValues(read("cpuacct", "cpuacct.stat"));
    const tick = 1e9 / 100; // USER_HZ
    cpu.usage = {
      total: num(read("cpuacct", "cpuacct.usage")) ?? 0,
      percpu: nums(read("cpuacct", "cpuacct.usage_percpu")),
      kernel: (stat.system ?? 0) * tick,
      user: (stat.user ?? 0) * tick,
    };
    const s = keyValues(read("cpu", "cpu.stat"));
    cpu.throttling = {
      periods: s.nr_periods ?? 0,
      throttledPeriods: s.nr_throttled ?? 0,
      throttledTime: s.throttled_time ?? 0,
    };
    const entry = (prefix: string) => ({
      usage: num(read("memory", `${prefix}.usage_in_bytes`)) ?? 0,
      max: num(read("memory", `${prefix}.max_usage_in_bytes`)) ?? 0,
      limit: num(read("memory", `${prefix}.limit_in_bytes`)) ?? 0,
      failcnt: num(read("memory", `${prefix}.failcnt`)) ?? 0,
    });
    const raw = keyValues(read("memory", "memory.stat"));
    memory.cache = raw.total_cache ?? raw.cache ?? 0;
    memory.usage = entry("memory");
    memory.swap = entry("memory.memsw");
    memory.kernel = entry("memory.kmem");
    memory.kernelTCP = entry("memory.kmem.tcp");
    memory.raw = raw;
  }
  const pidsMax = read("pids", "pids.max")?.trim();
  const blkio = v2
    ? { ioServiceBytesRecursive: ioStatEntries(read("io", "io.stat")) }
    : {
        ioServiceBytesRecursive: blkioEntries(read("blkio", "blkio.throttle.io_service_bytes_recursive")),
        ioServicedRecursive: blkioEntries(read("blkio", "blkio.throttle.io_serviced_recursive")),
      };
  return {
    cpu,
    memory,
    pids: {
      current: num(read("pids", "pids.current")) ?? 0,
      limit: pidsMax && pidsMax !== "max" ? Number(pidsMax) : 0,
    },
    blkio,
    hugetlb: {},
  };
}
