// The default container config: what docker and runc give a container when nothing else is said.
import { DEFAULT_CAPS } from "./capabilities.ts";
import { DEFAULT_PATH } from "./env.ts";
import { type DeviceRule, type Mount, SPEC_VERSION, type Spec } from "./types.ts";

export const DEFAULT_MASKED_PATHS = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];

export const DEFAULT_READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/**
 * The devices cgroup: deny everything, then allow mknod of any node (opening one is what matters)
 * and read/write of the standard devices and ptys, as docker and runc do.
 */
export const DEFAULT_DEVICE_RULES: DeviceRule[] = [{ allow: false, access: "rwm" }];

/**
 * Allowed whatever a config's own device rules say (runc's AllowedDevices): mknod of any node
 * (opening one is what matters), the standard devices, the console and ptys. A container with
 * "deny all" alone could not even set up its /dev.
 */
export const ALWAYS_ALLOWED_DEVICES: DeviceRule[] = [
  { allow: true, type: "c", access: "m" },
  { allow: true, type: "b", access: "m" },
  ...[
    [1, 3],
    [1, 5],
    [1, 7],
    [1, 8],
    [1, 9],
    [5, 0],
    [5, 1],
    [5, 2],
  ].map(([major, minor]) => ({ allow: true, type: "c", major, minor, access: "rwm" })),
  { allow: true, type: "c", major: 136, access: "rwm" },
];
DEFAULT_DEVICE_RULES.push(...ALWAYS_ALLOWED_DEVICES);

export function defaultMounts(): Mount[] {
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "shm",
      options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    // The container's own cgroups, read-only (v1: its directory of each hierarchy; v2: cgroup2 in
    // its cgroup namespace): the JVM, Go and Node size themselves from these files.
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
    },
  ];
}

/** `mini spec`: a runnable config.json for a bundle whose rootfs is ./rootfs (like `runc spec`). */
export function defaultSpec(): Spec {
  const caps = [...DEFAULT_CAPS];
  return {
    ociVersion: SPEC_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ["sh"],
      env: [`PATH=${DEFAULT_PATH}`, "TERM=xterm"],
      cwd: "/",
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "mini",
    mounts: defaultMounts(),
    linux: {
      resources: { devices: DEFAULT_DEVICE_RULES },
      namespaces: [
        { type: "pid" },
        { type: "network" },
        { type: "ipc" },
        { type: "uts" },
        { type: "mount" },
        { type: "cgroup" },
      ],
      maskedPaths: DEFAULT_MASKED_PATHS,
      readonlyPaths: DEFAULT_READONLY_PATHS,
    },
  };
}
