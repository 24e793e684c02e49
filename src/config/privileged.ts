// --privileged, docker's escape hatch: every capability, every host device (created in the
// container's /dev and allowed in the devices cgroup), no seccomp filter, no masked or read-only
// paths, /sys and /sys/fs/cgroup writable. The container's root is then the host's root in all
// but its namespaces: use it only for what needs it (mounting, devices, nested containers).
import type { Device, Spec } from "./types.ts";

/** The spec made privileged. `hostDevices` are the host's /dev nodes (config/device-flags.ts). */
export function makePrivileged(spec: Spec, hostDevices: Device[]): Spec {
  const linux = { ...spec.linux };
  const have = new Set((linux.devices ?? []).map((d) => d.path));
  linux.devices = [...(linux.devices ?? []), ...hostDevices.filter((d) => !have.has(d.path))];
  // "a" (all devices, all access) resets the devices cgroup: nothing before it matters.
  linux.resources = { ...linux.resources, devices: [{ allow: true, access: "rwm" }] };
  linux.maskedPaths = [];
  linux.readonlyPaths = [];
  delete linux.seccomp;
  const mounts = (spec.mounts ?? []).map((m) =>
    (m.type === "sysfs" || m.type === "cgroup" || m.destination === "/sys") && m.options?.includes("ro")
      ? { ...m, options: m.options.filter((o) => o !== "ro") }
      : m,
  );
  return { ...spec, mounts, linux };
}
