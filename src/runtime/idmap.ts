// Idmapped mounts (runtime-spec 1.2's mounts[].uidMappings/gidMappings, "idmap"/"ridmap"): the
// parent, as host root, clones the bind's source tree (open_tree) and sets MOUNT_ATTR_IDMAP on the
// detached copy with a user namespace holding the mount's maps; the child stage attaches it with
// move_mount. Such a user namespace is made by a helper cloned into a new one (a multithreaded Bun
// process can't unshare one): its maps are written, its namespace opened, and it exits.
import { writeFileSync } from "node:fs";
import type { IdMapping } from "../config/types.ts";
import * as sys from "../sys/calls.ts";
import { cloneExec } from "../sys/clone.ts";
import * as C from "../sys/constants.ts";

const mapText = (m: IdMapping[]) => m.map((x) => `${x.containerID} ${x.hostID} ${x.size}\n`).join("");

/** An fd of a new user namespace with these maps (close-on-exec); nothing lives in it. */
export function userNamespaceWithMaps(uidMappings: IdMapping[], gidMappings: IdMapping[]): number {
  const [syncR, syncW] = sys.pipe();
  let pid: number;
  try {
    // The helper waits on the pipe; let go, it fails to exec "/" and exits (it holds the pipe's
    // write end too, so it would never see EOF).
    pid = cloneExec({
      flags: C.CLONE_NEWUSER,
      syncFd: syncR,
      fds: [],
      controllingTty: false,
      path: "/",
      argv: ["mini-idmap"],
      env: [],
    });
  } finally {
    sys.close(syncR);
  }
  try {
    writeFileSync(`/proc/${pid}/uid_map`, mapText(uidMappings));
    writeFileSync(`/proc/${pid}/gid_map`, mapText(gidMappings));
    return sys.open(`/proc/${pid}/ns/user`, C.O_RDONLY);
  } finally {
    sys.writeAll(syncW, Buffer.from("x"), "the idmap helper's pipe");
    sys.close(syncW);
    sys.waitpidBlocking(pid);
  }
}

/**
 * A detached copy of `source` (its whole tree with `recursive`), idmapped with `usernsFd` (the
 * whole tree with `idmapRecursive`): an fd for move_mount.
 */
export function idmappedTree(source: string, recursive: boolean, idmapRecursive: boolean, usernsFd: number): number {
  const fd = sys.openTreeClone(source, recursive);
  try {
    sys.mountSetattr(
      fd,
      "",
      C.AT_EMPTY_PATH | (idmapRecursive ? C.AT_RECURSIVE : 0),
      { set: C.MOUNT_ATTR_IDMAP, clr: 0, usernsFd },
      `${source} (MOUNT_ATTR_IDMAP)`,
    );
    return fd;
  } catch (e) {
    sys.close(fd);
    throw e;
  }
}
