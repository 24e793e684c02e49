// Resolve a container path inside the rootfs as the container would see it: symlinks (absolute
// or relative) and ".." never leave the rootfs. This keeps mount destinations from being steered
// onto the host by a symlink in the image.
import { lstatSync, readlinkSync } from "node:fs";
import { SyscallError } from "../sys/error.ts";
import { ELOOP } from "../sys/errno.ts";

export function resolveInRoot(root: string, path: string): string {
  const base = root.replace(/\/+$/, "");
  let pending = path.split("/").filter(Boolean);
  const done: string[] = [];
  let links = 0;
  while (pending.length) {
    const part = pending.shift()!;
    if (part === ".") continue;
    if (part === "..") {
      done.pop();
      continue;
    }
    const candidate = `${base}/${[...done, part].join("/")}`;
    let isLink = false;
    try {
      isLink = lstatSync(candidate).isSymbolicLink();
    } catch {
      /* missing: keep literally */
    }
    if (!isLink) {
      done.push(part);
      continue;
    }
    if (++links > 255) throw new SyscallError("resolve", `${path} in ${root}`, ELOOP);
    const target = readlinkSync(candidate);
    const parts = target.split("/").filter(Boolean);
    if (target.startsWith("/")) done.length = 0;
    pending = [...parts, ...pending];
  }
  return `${base}/${done.join("/")}`.replace(/\/$/, "") || "/";
}
