// What docker's inspect shows under HostConfig for the flags the OCI spec doesn't say back
// plainly (the namespace modes, --privileged, --device as given, ...): recorded with the container.
import type { IsolationFlags } from "../config/isolation-flags.ts";
import type { ResourceFlags } from "../config/resource-flags.ts";
import { parseBytes } from "../config/units.ts";

export function hostConfigOf(f: {
  isolation?: IsolationFlags;
  resourceFlags?: ResourceFlags;
  securityOpt?: string[];
}): Record<string, unknown> {
  const i = f.isolation ?? {};
  const r = f.resourceFlags ?? {};
  return {
    Privileged: !!i.privileged,
    PidMode: i.pid ?? "",
    IpcMode: i.ipc || "private",
    UTSMode: i.uts ?? "",
    CgroupnsMode: i.cgroupns || "private",
    CgroupParent: i.cgroupParent ?? "",
    ShmSize: i.shmSize !== undefined && i.ipc !== "host" ? parseBytes(i.shmSize) : 64 * 1024 * 1024,
    GroupAdd: i.groupAdd?.length ? i.groupAdd : null,
    Sysctls: i.sysctl?.length
      ? Object.fromEntries(i.sysctl.map((s) => [s.slice(0, s.indexOf("=")), s.slice(s.indexOf("=") + 1)]))
      : null,
    Ulimits: i.ulimit?.length
      ? i.ulimit.map((u) => {
          const [name, v] = u.split("=") as [string, string];
          const [soft, hard = soft] = v.split(":");
          return {
            Name: name,
            Soft: Number(soft === "unlimited" ? -1 : soft),
            Hard: Number(hard === "unlimited" ? -1 : hard),
          };
        })
      : null,
    Devices: (r.device ?? []).map((d) => {
      const [host, ctr, perms] = d.split(":");
      const isPerms = ctr !== undefined && /^[rwm]+$/.test(ctr) && perms === undefined;
      return {
        PathOnHost: host,
        PathInContainer: isPerms ? host : ctr || host,
        CgroupPermissions: (isPerms ? ctr : perms) || "rwm",
      };
    }),
    DeviceCgroupRules: r.deviceCgroupRule?.length ? r.deviceCgroupRule : null,
    SecurityOpt: f.securityOpt?.length ? f.securityOpt : null,
  };
}
