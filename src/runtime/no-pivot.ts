// --no-pivot (runc's msMoveRoot): the rootfs is moved over "/" and chroot'ed into, so the host's
// mounts stay below in this mount namespace. A full procfs or sysfs mount among them would let the
// container mount a fresh, unmasked proc (the kernel allows it when a full one is visible): each is
// detached first, or covered with an empty tmpfs where it can't be.
import { readFileSync } from "node:fs";
import * as sys from "../sys/calls.ts";
import * as C from "../sys/constants.ts";
import { SyscallError } from "../sys/error.ts";

/** Mount points of full (root "/") proc and sysfs mounts outside `rootfs`, deepest first. */
export function hostProcMounts(mountinfo: string, rootfs: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split("\n")) {
    const f = line.split(" ");
    const sep = f.indexOf("-");
    if (sep < 0) continue;
    const root = f[3];
    const mountpoint = (f[4] ?? "").replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
    const fstype = f[sep + 1];
    if (root !== "/" || (fstype !== "proc" && fstype !== "sysfs")) continue;
    if (mountpoint === rootfs || mountpoint.startsWith(`${rootfs}/`)) continue;
    out.push(mountpoint);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Detaches (or covers) the host's full proc and sysfs mounts; then moves `rootfs` to "/" and chroots. */
export function moveRootNoPivot(rootfs: string): void {
  for (const p of hostProcMounts(readFileSync("/proc/self/mountinfo", "utf8"), rootfs)) {
    try {
      sys.mount(null, p, null, C.MS_SLAVE | C.MS_REC); // the unmount must not reach the host
    } catch (e) {
      if (e instanceof SyscallError && e.code === "ENOENT") continue; // under one already detached
      throw e;
    }
    try {
      sys.umount2(p, C.MNT_DETACH);
    } catch (e) {
      if (!(e instanceof SyscallError) || (e.code !== "EINVAL" && e.code !== "EPERM")) throw e;
      sys.mount("tmpfs", p, "tmpfs", 0, "size=0");
    }
  }
  sys.chdir(rootfs);
  sys.mount(rootfs, "/", null, C.MS_MOVE);
  sys.chroot(".");
  sys.chdir("/");
}
