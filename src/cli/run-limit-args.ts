// `mini run`'s resource and isolation flags (docker's names): their definitions for the argv
// parser and the help, and the typed groups they become (config/resource-flags.ts,
// config/isolation-flags.ts).
import { UserError } from "../common/errors.ts";
import type { IsolationFlags } from "../config/isolation-flags.ts";
import type { ResourceFlags } from "../config/resource-flags.ts";
import { list, type OptDefs, type OptValues } from "./argv.ts";

const str = (values: OptValues, k: string) => (typeof values[k] === "string" ? (values[k] as string) : undefined);

export const resourceArgs = {
  "cpu-period": { type: "string", description: "CPU CFS period in microseconds (1000-1000000)", valueHint: "us" },
  "cpu-quota": { type: "string", description: "CPU CFS quota in microseconds per period (-1: none)", valueHint: "us" },
  "cpu-rt-period": { type: "string", description: "Real-time period in microseconds (cgroup v1)", valueHint: "us" },
  "cpu-rt-runtime": { type: "string", description: "Real-time runtime in microseconds (cgroup v1)", valueHint: "us" },
  "cpuset-cpus": {
    type: "string",
    description: "CPUs the container may use (0-3, 0,1), checked against the online ones",
    valueHint: "list",
  },
  "cpuset-mems": { type: "string", description: "Memory nodes the container may use (0-1)", valueHint: "list" },
  "memory-reservation": {
    type: "string",
    description: "Memory soft limit (v1 soft_limit, v2 memory.low)",
    valueHint: "bytes",
  },
  "memory-swappiness": { type: "string", description: "Swappiness 0-100 (cgroup v1; -1: the host's)", valueHint: "n" },
  "oom-kill-disable": { type: "boolean", description: "Disable the OOM killer for the container (cgroup v1)" },
  "kernel-memory": {
    type: "string",
    description: "Kernel memory limit: refused on kernels >= 6.1 and on cgroup v2, which dropped it",
    valueHint: "bytes",
  },
  "blkio-weight": {
    type: "string",
    description: "Block I/O weight 10-1000 (needs a kernel with BFQ or CFQ weights)",
    valueHint: "n",
  },
  "blkio-weight-device": {
    type: "string",
    repeat: true,
    description: "Per-device weight DEVICE:WEIGHT; repeatable",
    valueHint: "dev:w",
  },
  "device-read-bps": {
    type: "string",
    repeat: true,
    description: "Read rate limit DEVICE:RATE (e.g. /dev/sda:1mb); repeatable",
    valueHint: "dev:rate",
  },
  "device-write-bps": {
    type: "string",
    repeat: true,
    description: "Write rate limit DEVICE:RATE; repeatable",
    valueHint: "dev:rate",
  },
  "device-read-iops": {
    type: "string",
    repeat: true,
    description: "Read operations per second DEVICE:N; repeatable",
    valueHint: "dev:n",
  },
  "device-write-iops": {
    type: "string",
    repeat: true,
    description: "Write operations per second DEVICE:N; repeatable",
    valueHint: "dev:n",
  },
  "hugetlb-limit": {
    type: "string",
    repeat: true,
    description: "Huge page limit PAGESIZE:LIMIT (e.g. 2MB:64m); repeatable",
    valueHint: "size:limit",
  },
  device: {
    type: "string",
    repeat: true,
    description: "Add a host device HOST[:CONTAINER][:rwm] (made in /dev, allowed in the devices cgroup); repeatable",
    valueHint: "dev",
  },
  "device-cgroup-rule": {
    type: "string",
    repeat: true,
    description: "Allow devices by rule 'c 1:3 rwm' ('*' any number); repeatable",
    valueHint: "rule",
  },
} as const satisfies OptDefs;

export const isolationArgs = {
  privileged: {
    type: "boolean",
    description: "All capabilities and host devices, no seccomp, no masked paths, writable /sys: the escape hatch",
  },
  ulimit: {
    type: "string",
    repeat: true,
    description: "Resource limit NAME=SOFT[:HARD] (e.g. nofile=1024:2048); repeatable",
    valueHint: "limit",
  },
  sysctl: {
    type: "string",
    repeat: true,
    description:
      "Namespaced kernel parameter KEY=VALUE (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*); repeatable",
    valueHint: "k=v",
  },
  "shm-size": { type: "string", description: "Size of /dev/shm (default 64m)", valueHint: "bytes" },
  "group-add": {
    type: "string",
    repeat: true,
    description: "Additional group (name in the rootfs's /etc/group, or gid); repeatable",
    valueHint: "group",
  },
  "oom-score-adj": {
    type: "string",
    description: "OOM score adjustment -1000..1000 (lowering it needs CAP_SYS_RESOURCE)",
    valueHint: "n",
  },
  pid: {
    type: "string",
    description: "PID namespace: host, or container:NAME (join a running container's)",
    valueHint: "mode",
  },
  ipc: {
    type: "string",
    description: "IPC namespace: private (default), shareable, none, host, container:NAME",
    valueHint: "mode",
  },
  uts: { type: "string", description: "UTS namespace: host (the host's hostname)", valueHint: "mode" },
  cgroupns: { type: "string", description: "Cgroup namespace: private (default) or host", valueHint: "mode" },
  "cgroup-parent": {
    type: "string",
    description: "Parent cgroup of the container's (/abs from each hierarchy root, rel from mini's own)",
    valueHint: "path",
  },
  "stop-signal": {
    type: "string",
    description: "Signal that stops the container (default SIGTERM, or the image's)",
    valueHint: "signal",
  },
  "stop-timeout": {
    type: "string",
    description: "Seconds mini stop waits before SIGKILL (default 10)",
    valueHint: "seconds",
  },
} as const satisfies OptDefs;

export function resourceFlagsOf(v: OptValues): ResourceFlags {
  return {
    cpuPeriod: str(v, "cpu-period"),
    cpuQuota: str(v, "cpu-quota"),
    cpuRtPeriod: str(v, "cpu-rt-period"),
    cpuRtRuntime: str(v, "cpu-rt-runtime"),
    cpusetCpus: str(v, "cpuset-cpus"),
    cpusetMems: str(v, "cpuset-mems"),
    memoryReservation: str(v, "memory-reservation"),
    memorySwappiness: str(v, "memory-swappiness"),
    oomKillDisable: !!v["oom-kill-disable"],
    kernelMemory: str(v, "kernel-memory"),
    blkioWeight: str(v, "blkio-weight"),
    blkioWeightDevice: list(v["blkio-weight-device"]),
    deviceReadBps: list(v["device-read-bps"]),
    deviceWriteBps: list(v["device-write-bps"]),
    deviceReadIops: list(v["device-read-iops"]),
    deviceWriteIops: list(v["device-write-iops"]),
    hugetlbLimit: list(v["hugetlb-limit"]),
    device: list(v.device),
    deviceCgroupRule: list(v["device-cgroup-rule"]),
  };
}

export function isolationFlagsOf(v: OptValues): IsolationFlags {
  return {
    privileged: !!v.privileged,
    ulimit: list(v.ulimit),
    sysctl: list(v.sysctl),
    shmSize: str(v, "shm-size"),
    groupAdd: list(v["group-add"]),
    oomScoreAdj: str(v, "oom-score-adj"),
    pid: str(v, "pid"),
    ipc: str(v, "ipc"),
    uts: str(v, "uts"),
    cgroupns: str(v, "cgroupns"),
    cgroupParent: str(v, "cgroup-parent"),
  };
}

/** --stop-timeout in seconds (docker: an integer; -1 waits forever). */
export function stopTimeoutOf(v: OptValues): number | undefined {
  const s = str(v, "stop-timeout");
  if (s === undefined) return undefined;
  if (!/^-?\d+$/.test(s.trim()) || Number(s) < -1)
    throw new UserError(`invalid --stop-timeout "${s}": give seconds (-1: no timeout)`);
  return Number(s);
}
