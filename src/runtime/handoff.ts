// What the runtime, as host root, opens or reads for a child stage beyond its plan: detached
// copies of bind sources (and idmapped ones), the seccomp agent's connection, a new time
// namespace's offsets, a joined user namespace's maps; and, for a container without a mount
// namespace of its own, the removal of its rootfs mounts from the runtime's namespace.
import { readFileSync } from "node:fs";
import { UserError } from "../common/errors.ts";
import { SPEC_VERSION, type Spec } from "../config/types.ts";
import * as log from "../log.ts";
import type { ChildSeccomp } from "../seccomp/index.ts";
import * as sys from "../sys/calls.ts";
import { CLONE_NEWTIME, MNT_DETACH } from "../sys/constants.ts";
import { MAX_FDS_PER_MESSAGE, unixConnect } from "../sys/socket.ts";
import type { ChildConfig } from "./child-config.ts";
import type { UserNamespace } from "./launch.ts";
import type { NamespaceSetup } from "./namespaces.ts";
import { closeFd } from "./oci-io.ts";

/** A joined user namespace's maps, as the kernel shows them for a process in it (`pid`). */
export function readJoinedMaps(userns: UserNamespace, pid: number): UserNamespace {
  const parse = (file: string) =>
    readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => {
        const [containerID, hostID, size] = l.trim().split(/\s+/).map(Number);
        return { containerID: containerID!, hostID: hostID!, size: size! };
      });
  userns.uidMappings = parse(`/proc/${pid}/uid_map`);
  userns.gidMappings = parse(`/proc/${pid}/gid_map`);
  return userns;
}

/**
 * A container without a mount namespace of its own: its rootfs bind (and everything under it)
 * is in the runtime's mount namespace. Removed when it is still the top mount at the rootfs
 * (`below`: the mount that was there before the container), so nothing stays on the host.
 */
export function unmountHostRootfs(rootfs: string, below: string): void {
  try {
    if (String(sys.mountIdOf(rootfs)) !== below) sys.umount2(rootfs, MNT_DETACH);
  } catch (e) {
    log.warn(`the container's rootfs mounts at ${rootfs}: ${(e as Error).message}`);
  }
}

/**
 * A user-namespaced child stage is an unprivileged host uid: a bind source it can't reach
 * (a 0700 directory on the way) would fail. Opened here as host root (open_tree makes a
 * detached copy of each source, `all`) and sent with the config; the plan's ops name their fd.
 * Idmapped binds (any container) are opened here too, and idmapped before they go (idmap.ts).
 */
export function openMountSources(ops: ChildConfig["ops"], all: boolean): number[] {
  const fds: number[] = [];
  const userns = new Map<string, number>();
  try {
    for (const op of ops) {
      if (op.op !== "mount" || !op.bind || (!all && !op.idmap)) continue;
      if (fds.length === MAX_FDS_PER_MESSAGE)
        throw new UserError(`more than ${MAX_FDS_PER_MESSAGE} bind mounts opened by the runtime`);
      op.sourceFd = fds.length;
      if (!op.idmap) {
        fds.push(sys.openTreeClone(op.source, op.recursive));
        continue;
      }
      const { idmappedTree, userNamespaceWithMaps } = require("./idmap.ts") as typeof import("./idmap.ts");
      const key = JSON.stringify([op.idmap.uidMappings, op.idmap.gidMappings]);
      let nsFd = userns.get(key);
      if (nsFd === undefined) {
        nsFd = userNamespaceWithMaps(op.idmap.uidMappings, op.idmap.gidMappings);
        userns.set(key, nsFd);
      }
      fds.push(idmappedTree(op.source, op.recursive, op.idmap.recursive, nsFd));
    }
  } catch (e) {
    for (const fd of fds) closeFd(fd);
    throw e;
  } finally {
    for (const fd of userns.values()) closeFd(fd);
  }
  return fds;
}

/** /proc/self/timens_offsets text for a new time namespace's linux.timeOffsets. */
export function timeOffsetsText(spec: Spec, nsPlan: NamespaceSetup): string | undefined {
  const offsets = spec.linux?.timeOffsets;
  if (!offsets || !(nsPlan.childFlags & CLONE_NEWTIME)) return undefined;
  return Object.entries(offsets)
    .map(([clock, o]) => `${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}\n`)
    .join("");
}

/**
 * SCMP_ACT_NOTIFY: a connection to linux.seccomp.listenerPath, made here as the runtime (the child
 * stage may not reach the path, or be allowed to), and the container process state the listener
 * gets with the notify fd (runtime-spec ContainerProcessState, runc's fields). `state`: the
 * container's OCI state, when it has one.
 */
export function connectListener(
  spec: Spec,
  id: string,
  pid: number,
  state: object | undefined,
): { fd: number; state: string } | undefined {
  const s = spec.linux?.seccomp;
  if (!s?.listenerPath || !s.syscalls?.some((c) => c.action === "SCMP_ACT_NOTIFY")) return undefined;
  let fd: number;
  try {
    fd = unixConnect(s.listenerPath);
  } catch (e) {
    throw new UserError(`linux.seccomp.listenerPath: ${(e as Error).message}`);
  }
  const oci = state ?? { ociVersion: SPEC_VERSION, id, pid, bundle: "", annotations: {} };
  return {
    fd,
    state: JSON.stringify({
      ociVersion: SPEC_VERSION,
      fds: ["seccompFd"],
      pid,
      ...(s.listenerMetadata ? { metadata: s.listenerMetadata } : {}),
      state: { ...oci, status: "creating", pid },
    }),
  };
}

/** The compiled filter with the listener's fd (its index among the config's fds) and state. */
export const withListener = (
  c: ChildSeccomp | undefined,
  listener: { index: number; state: string } | undefined,
): ChildSeccomp | undefined => (c && listener ? { ...c, listener: { fd: listener.index, state: listener.state } } : c);
