// What the parent hands the child stage over fd 3: everything decided, nothing left to compute.
import type { Process } from "../config/types.ts";
import type { ChildSeccomp } from "../seccomp/index.ts";
import type { RootfsOp } from "./rootfs-plan.ts";

export interface ChildConfig {
  /** Absolute host path of the rootfs. */
  rootfs: string;
  ops: RootfsOp[];
  hostname?: string;
  domainname?: string;
  /** v1 `tasks` files the child's main thread writes "0" into first (cgroups/join.ts). */
  cgroupTasks: string[];
  /**
   * The parent moves this process into cgroup.procs files (cgroup2, or all of them from a user
   * namespace) while it sets up: one byte on this pipe (its index among the config's fds) says
   * it is done, EOF that it failed. Read before a cgroup2 mount, pivot_root and exec; a new cgroup
   * namespace is made after it (its root is the cgroup it is made in).
   */
  cgroupsJoinedFd?: number;
  /** Bring up lo in the (new) network namespace the child stage is in. */
  loopbackUp: boolean;
  /** Namespaces the child creates itself (mount always; cgroup after joining its cgroups). */
  unshareFlags: number;
  /** Existing namespaces (mount, cgroup) to join by path instead, before the unshare. */
  joinNamespaces?: { path: string; flag: number }[];
  process: Process;
  sysctl?: Record<string, string>;
  /** A new time namespace's /proc/self/timens_offsets text ("monotonic S N" lines). */
  timeOffsets?: string;
  /** personality, scheduler, I/O priority (process-attrs.ts). */
  attrs?: import("./process-attrs.ts").ProcessAttrs;
  /** Run mini's init as PID 1 and the command as its child. */
  init: boolean;
  /** linux.seccomp, compiled by the parent (src/seccomp): loaded as late as the kernel allows. */
  seccomp?: ChildSeccomp;
  /** A terminal (child-console.ts): its master goes out over fd CONSOLE_FD; `size` is set first. */
  console?: { size?: { height: number; width: number } };
  /** OCI `create`: wait on this fifo for `start` before exec. */
  oci?: {
    fifo: string;
    /** The fifo as an O_PATH fd sent with the config (its index there), reopened read-write. */
    fifoFd?: number;
    preserveFds?: number;
  };
  /** Hooks that run in the container's namespaces, with the state JSON on stdin. */
  hooks?: {
    createContainer?: import("../config/types.ts").Hook[];
    startContainer?: import("../config/types.ts").Hook[];
    state: object;
    /** The environment of a hook that names none: mini's own (runc's). */
    env: string[];
  };
  debug: boolean;
}

/** fds the child stage finds open: its config (read to EOF) and the error channel back. */
export const CONFIG_FD = 3;
export const ERROR_FD = 4;
/** The connected socket a terminal's master is sent over (run -t, OCI --console-socket). */
export const CONSOLE_FD = 5;
/** OCI `--preserve-fds N`: the engine's fds arrive from here on and become 3..3+N-1 at exec. */
export const PRESERVED_FDS_AT = 6;
/** The hidden verb that selects the child stage in main.ts. */
export const CHILD_VERB = "__child";
