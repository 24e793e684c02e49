// Paths of the rootfs with rules of their own: masked paths (a read-only tmpfs over a directory,
// shared by every masked directory as runc 1.3 does; /dev/null over a file) and the destination
// of a proc or sysfs mount (an ordinary directory, never a symlink the rootfs planted).
import { lstatSync, statSync } from "node:fs";
import { UserError } from "../common/errors.ts";
import { resolveInRoot } from "../common/resolve-in-root.ts";
import * as sys from "../sys/calls.ts";
import * as C from "../sys/constants.ts";
import type { RootfsOp } from "./rootfs-plan.ts";

/**
 * proc and sysfs only on an ordinary directory (runc): a /proc that is a symlink in the rootfs
 * would have the kernel's proc mounted wherever it points.
 */
export function checkProcDestination(rootfs: string, op: Extract<RootfsOp, { op: "mount" }>): void {
  if (op.bind || (op.fstype !== "proc" && op.fstype !== "sysfs")) return;
  const cut = op.dest.replace(/\/+$/, "").lastIndexOf("/");
  const parent = resolveInRoot(rootfs, op.dest.slice(0, cut) || "/");
  let st: import("node:fs").Stats;
  try {
    st = lstatSync(`${parent}/${op.dest.slice(cut + 1)}`);
  } catch {
    return; // made below
  }
  if (!st.isDirectory())
    throw new UserError(
      `mounts: ${op.dest}: ${op.fstype} must be mounted on an ordinary directory (it is ${st.isSymbolicLink() ? "a symlink" : "not a directory"} in the rootfs)`,
    );
}

/** The first masked directory's read-only tmpfs: the others are binds of it (one tmpfs, runc 1.3). */
let maskTmpfs: string | undefined;

export function mask(path: string): void {
  let dir: boolean;
  try {
    dir = statSync(path).isDirectory();
  } catch {
    return;
  }
  if (!dir) return sys.mount("/dev/null", path, null, C.MS_BIND);
  if (maskTmpfs) {
    try {
      sys.mount(maskTmpfs, path, null, C.MS_BIND);
      // A bind keeps the source's read-only flag; checked rather than assumed.
      if (!(sys.mountFlagsOf(path) & C.MS_RDONLY))
        sys.mount(null, path, null, C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY | sys.mountFlagsOf(path));
      return;
    } catch {
      /* fall back to a tmpfs of its own */
    }
  }
  sys.mount("tmpfs", path, "tmpfs", C.MS_RDONLY, "size=0,nr_inodes=1");
  maskTmpfs ??= path;
}
