// Test helper: private, writable copies of the default busybox rootfs.
//
//   import { makeRootfs, removeRootfs, cleanupRootfses } from "../helpers/rootfs";
//   afterAll(cleanupRootfses);
//   const rootfs = makeRootfs(); // fresh copy under $TMPDIR, yours to write into
//
// The source tree is images/out/busybox, built with images/busybox.sh when
// missing. Copies are independent (`cp -a`, about 2 MB), so a test that writes
// into its rootfs never affects another.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repoRoot = resolve(import.meta.dir, "../..");
export const BUSYBOX_ROOTFS = join(repoRoot, "images/out/busybox");
const BUILD_SCRIPT = join(repoRoot, "images/busybox.sh");
const PREFIX = "mini-rootfs-";

const created = new Set<string>();

function isBuilt(dir: string): boolean {
  return existsSync(join(dir, "bin/busybox")) && existsSync(join(dir, "etc/os-release"));
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  if (r.status !== 0) {
    const why = r.error ? String(r.error) : (r.stderr || r.stdout || "").trim().split("\n").slice(-5).join("\n");
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status ?? r.signal}): ${why}`);
  }
}

/** Path of the shared default rootfs (built if missing). Treat it as read-only. */
export function busyboxRootfs(): string {
  if (!isBuilt(BUSYBOX_ROOTFS)) {
    try {
      run(BUILD_SCRIPT, [BUSYBOX_ROOTFS]);
    } catch (e) {
      // Another test process may have built it at the same moment.
      if (!isBuilt(BUSYBOX_ROOTFS)) throw e;
    }
  }
  return BUSYBOX_ROOTFS;
}

/** A fresh, independent, writable copy of the busybox rootfs. */
export function makeRootfs(): string {
  const src = busyboxRootfs();
  const dir = mkdtempSync(join(tmpdir(), PREFIX));
  created.add(dir);
  // mkdtemp makes it 0700; a container's "/" must be traversable by any uid.
  chmodSync(dir, 0o755);
  run("cp", ["-a", `${src}/.`, dir]);
  return dir;
}

/** Mount points at or below dir, deepest first (from /proc/self/mountinfo). */
function mountsUnder(dir: string): string[] {
  let info = "";
  try {
    info = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return [];
  }
  const unescapeOctal = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  return info
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((m): m is string => !!m)
    .map(unescapeOctal)
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * Remove a rootfs made by makeRootfs. Mounts a test left inside it are
 * detached first, and `rm --one-file-system` never crosses into a mount, so a
 * leftover bind mount of a host directory can't get its contents deleted.
 */
export function removeRootfs(path: string): void {
  const dir = resolve(path);
  if (!created.has(dir) && !(dir.startsWith(join(tmpdir(), PREFIX)) && dir !== join(tmpdir(), PREFIX))) {
    throw new Error(`removeRootfs: ${dir} was not made by makeRootfs`);
  }
  created.delete(dir);
  if (!existsSync(dir)) return;
  for (const m of mountsUnder(dir)) spawnSync("umount", ["-l", m], { stdio: "ignore" });
  run("rm", ["-rf", "--one-file-system", dir]);
}

/** Remove every rootfs this process made and has not removed yet (for afterAll). */
export function cleanupRootfses(): void {
  const errors: string[] = [];
  for (const dir of [...created]) {
    try {
      removeRootfs(dir);
    } catch (e) {
      errors.push(String(e));
    }
  }
  if (errors.length) throw new Error(`cleanupRootfses:\n${errors.join("\n")}`);
}

// Last resort if a test file forgot afterAll(cleanupRootfses).
process.once("exit", () => {
  try {
    cleanupRootfses();
  } catch {
    // exiting anyway
  }
});
