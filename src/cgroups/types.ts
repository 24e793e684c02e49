// The cgroup plan: plain, JSON-serialisable data computed from the spec and the host's
// cgroup layout, then executed by apply.ts and undone by remove.ts. Stored in the container
// state so `delete` removes exactly what `create` made.

import type { Resources } from "../config/types.ts";

export type CgroupMode = "v1" | "v2";

export const DEFAULT_ROOT = "/sys/fs/cgroup";

/** One control-file write. `optional`: skipped (and logged) when the file does not exist. */
export interface CgroupWrite {
  path: string;
  value: string;
  optional?: boolean;
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
  /** Requested settings this host can't honour (e.g. no swap accounting); shown, not fatal. */
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
}

/** Optional debug logger: called once per mkdir/write/rmdir with its duration in ms. */
export type CgroupLog = (msg: string, ms: number) => void;
