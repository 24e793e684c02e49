// The OCI runtime-spec config (the parts mini reads). This is mini's internal contract:
// flags and images become a Spec; the runtime executes only a Spec.

/** The runtime-spec version mini implements (`mini --version`, state, features, `mini spec`). */
export { SPEC_VERSION } from "../common/version.ts";

export interface Spec {
  ociVersion: string;
  process?: Process;
  root?: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts?: Mount[];
  hooks?: Hooks;
  annotations?: Record<string, string>;
  linux?: Linux;
}

export interface Process {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: User;
  args?: string[];
  commandLine?: string;
  env?: string[];
  cwd: string;
  capabilities?: Capabilities;
  rlimits?: Rlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
  /** sched_setattr(2) for the process (runtime-spec 1.2). */
  scheduler?: Scheduler;
  /** ioprio_set(2) for the process group (runtime-spec 1.2). */
  ioPriority?: { class: string; priority: number };
  /** CPUs a runtime process runs on before (initial) and after (final) it joins the cgroups (exec). */
  execCPUAffinity?: { initial?: string; final?: string };
}

export interface Scheduler {
  policy: string;
  nice?: number;
  priority?: number;
  flags?: string[];
  runtime?: number;
  deadline?: number;
  period?: number;
}

export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  username?: string;
}

export interface Capabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface Rlimit {
  type: string;
  hard: number;
  soft: number;
}

export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  /** An idmapped mount (runtime-spec 1.2): the ids of the source as seen through the mount. */
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
}

export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface Hooks {
  prestart?: Hook[];
  createRuntime?: Hook[];
  createContainer?: Hook[];
  startContainer?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}

export interface Namespace {
  type: "pid" | "network" | "mount" | "ipc" | "uts" | "user" | "cgroup" | "time";
  path?: string;
}

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface Linux {
  namespaces?: Namespace[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  devices?: Device[];
  cgroupsPath?: string;
  resources?: Resources;
  rootfsPropagation?: string;
  seccomp?: LinuxSeccomp;
  sysctl?: Record<string, string>;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  /** personality(2) of the container's processes. */
  personality?: { domain: string; flags?: string[] };
  /** Offsets of a new time namespace's clocks ("monotonic", "boottime"). */
  timeOffsets?: Record<string, { secs?: number; nanosecs?: number }>;
}

/** linux.seccomp: checked and compiled to BPF by src/seccomp (values may be uint64 strings). */
export interface LinuxSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: LinuxSyscall[];
}

export interface LinuxSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number | string; valueTwo?: number | string; op: string }[];
}

export interface Device {
  type: string;
  path: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface DeviceRule {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

/** linux.resources.blockIO.weightDevice entry: a per-device weight (10-1000). */
export interface WeightDevice {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}

/** A per-device limit: bytes or I/O operations per second. */
export interface ThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

export interface BlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: WeightDevice[];
  throttleReadBpsDevice?: ThrottleDevice[];
  throttleWriteBpsDevice?: ThrottleDevice[];
  throttleReadIOPSDevice?: ThrottleDevice[];
  throttleWriteIOPSDevice?: ThrottleDevice[];
}

/** One huge page size ("2MB", "1GB") and the bytes of it the container may use. */
export interface HugepageLimit {
  pageSize: string;
  limit: number;
}

/** net_cls class id and net_prio priorities per interface (cgroup v1 only). */
export interface NetworkResources {
  classID?: number;
  priorities?: { name: string; priority: number }[];
}

/** linux.resources: what the cgroup code applies. Numbers are bytes, microseconds, counts. */
export interface Resources {
  devices?: DeviceRule[];
  memory?: {
    limit?: number;
    reservation?: number;
    swap?: number; // memory + swap, as in the OCI spec (docker's --memory-swap)
    kernel?: number;
    kernelTCP?: number;
    swappiness?: number;
    disableOOMKiller?: boolean;
  };
  cpu?: {
    shares?: number;
    quota?: number;
    burst?: number;
    period?: number;
    realtimeRuntime?: number;
    realtimePeriod?: number;
    cpus?: string;
    mems?: string;
    idle?: number;
  };
  pids?: { limit: number };
  blockIO?: BlockIO;
  hugepageLimits?: HugepageLimit[];
  network?: NetworkResources;
  unified?: Record<string, string>;
}
