// The cgroup plan: plain, JSON-serialisable data computed from the spec and the host's
// cgroup layout, then executed by apply.ts and undone by remove.ts. Stored in the container
// state so `delete` removes exactly what `create` made.

import type { Resources } from "../config/types.ts";

export type CgroupMode = "v1" | "v2";

export const DEFAULT_ROOT = "/sys/fs/cgroup";

/**
 * One control-file write. A missing file is an error naming `setting` (nothing is silently
 * dropped), unless the write is `optional` (skipped and logged) or has a `fallback` to write
 * instead (blkio.bfq.weight, else blkio.weight).
 */
export interface CgroupWrite {
  path: string;
  value: string;
  setting?: string;
  optional?: boolean;
  fallback?: { path: string; value: string };
}

/** A v2 device-access program (BPF_PROG_TYPE_CGROUP_DEVICE) attached to a leaf once it exists. */
export interface CgroupDeviceProgram {
  dir: string;
  /** The eBPF instructions, 8 bytes each, base64. */
  insns: string;
}

/** The container's cgroup in one hierarchy (v1: one per mounted hierarchy; v2: one). */
export interface CgroupLeaf {
  /** Controllers of the hierarchy as /proc/self/cgroup names them: "memory", "cpu,cpuacct", "name=systemd"; "" for cgroup2. */
  hierarchy: string;
  controllers: string[];
  /** The hierarchy's mount point (a leaf is always strictly below it). */
  mountpoint: string;
  dir: string;
  /** true for a cgroup2 hierarchy (the v2 root, or the hybrid "unified" mount). */
  unified: boolean;
}

export interface CgroupPlan {
  mode: CgroupMode;
  root: string;
  /** Directories to create, outermost first (only those that did not exist when planned). */
  dirs: string[];
  /** Control-file writes in order, done after every mkdir. */
  writes: CgroupWrite[];
  /** cgroup.procs files the container process joins, one per hierarchy. */
  procs: string[];
  leaves: CgroupLeaf[];
  /** Device rules as a BPF program (cgroup v2), attached after the writes. */
  devices?: CgroupDeviceProgram;
  /** `update` of v1 device rules: the devices.allow/deny writes from the current rules to the new. */
  deviceUpdate?: CgroupWrite[];
  /** Things worth saying that change nothing (shown as warnings). */
  warnings: string[];
}

export interface PlanInput {
  /** Container cgroup name, e.g. "mini-<id>"; used (relative to the caller's cgroup) when cgroupsPath is unset. */
  name: string;
  /** OCI linux.cgroupsPath: "/a/b" is relative to each hierarchy root, "a/b" to the caller's own cgroup. */
  cgroupsPath?: string;
  resources?: Resources;
  mode: CgroupMode;
  root: string;
  /** Text of /proc/self/mountinfo. */
  mountinfo: string;
  /** Text of /proc/self/cgroup. */
  selfCgroup: string;
  /** Reads a control file; undefined when it does not exist. Defaults to the real file system. */
  readFile?: (path: string) => string | undefined;
  /** Whether a path exists. Defaults to the real file system. */
  exists?: (path: string) => boolean;
  /** Host facts the plan checks requests against; read from /sys and uname when not given. */
  host?: Partial<HostFacts>;
  /**
   * On a hybrid host, join the cgroup2 hierarchy even when no controller is needed there (runc's
   * containers are in it, OCI exec's processes too); else only when a controller is delegated.
   */
  joinUnified?: boolean;
}

/** What the host offers, as the kernel says: online CPUs and memory nodes, huge page sizes, its release. */
export interface HostFacts {
  /** /sys/devices/system/cpu/online, e.g. "0-3". */
  onlineCpus: string;
  /** /sys/devices/system/node/online ("0" without NUMA). */
  onlineMems: string;
  /** Huge page sizes as cgroup files name them: "2MB", "1GB". */
  hugePageSizes: string[];
  kernelRelease: string;
}

/** Optional debug logger: called once per mkdir/write/rmdir with its duration in ms. */
export type CgroupLog = (msg: string, ms: number) => void;
