// A fake cgroupfs in a temp dir: in a real one every cgroup directory comes with its control
// files, so a control file "exists" whenever its directory does, unless a test says the kernel
// lacks it. Pass as `exists` to applyCgroups / updateCgroups.
import { existsSync, statSync } from "node:fs";
import { basename, dirname } from "node:path";

export function controlFilesOf(lacking: string[] = []): (path: string) => boolean {
  return (path) => {
    if (lacking.includes(basename(path))) return false;
    try {
      return statSync(dirname(path)).isDirectory();
    } catch {
      return existsSync(path);
    }
  };
}
