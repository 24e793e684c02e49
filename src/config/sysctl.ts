// Which sysctls a container may set: only those the kernel scopes to a namespace, and only when
// the container has that namespace of its own. Anything else would be written into the host's
// /proc/sys (kernel.core_pattern: code execution on the host). docker's and runc's rules:
//   ipc   kernel.msgmax, kernel.msgmnb, kernel.msgmni, kernel.sem, kernel.shmall, kernel.shmmax,
//         kernel.shmmni, kernel.shm_rmid_forced, fs.mqueue.*
//   net   net.*
// kernel.hostname and kernel.domainname (uts) are refused: the config's hostname and domainname
// fields set them.
import { UserError } from "../common/errors.ts";
import type { Namespace } from "./types.ts";

const IPC_KEYS = new Set([
  "kernel.msgmax",
  "kernel.msgmnb",
  "kernel.msgmni",
  "kernel.sem",
  "kernel.shmall",
  "kernel.shmmax",
  "kernel.shmmni",
  "kernel.shm_rmid_forced",
]);

/** The namespace type a sysctl key is scoped to, or undefined for a host-wide one. */
export function sysctlNamespace(key: string): "ipc" | "network" | undefined {
  if (IPC_KEYS.has(key) || key.startsWith("fs.mqueue.")) return "ipc";
  if (key.startsWith("net.")) return "network";
  return undefined;
}

/**
 * Throws for the first key the container may not set. `sharesHost(ns)` tells whether a namespace
 * given by path is in fact the host's own (the caller compares /proc/1/ns files).
 */
export function checkSysctls(
  sysctl: Record<string, string> | undefined,
  namespaces: Namespace[] | undefined,
  sharesHost: (ns: Namespace) => boolean,
  field = "linux.sysctl",
): void {
  for (const key of Object.keys(sysctl ?? {})) {
    if (key === "kernel.hostname" || key === "kernel.domainname")
      throw new UserError(`${field}: ${key} is not allowed: set the hostname and domainname fields instead`);
    const type = sysctlNamespace(key);
    if (!type) throw new UserError(`${field}: ${key} is not namespaced: it would change the host's value`);
    const ns = namespaces?.find((n) => n.type === type);
    if (!ns || (ns.path && sharesHost(ns)))
      throw new UserError(
        `${field}: ${key} needs ${type === "ipc" ? "an" : "a"} ${type} namespace of the container's own (it would change the host's)`,
      );
  }
}
