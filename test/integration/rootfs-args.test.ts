// What `mini run TARGET` takes as a root filesystem: never the host's / or a system directory
// (a typo'd ../../../../etc), a bare word is always an image; and a run that fails during setup
// leaves the rootfs as it found it (the mount points it created are removed again).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { leftBehind, NOTHING, type Snapshot, snapshot } from "../helpers/leaks.ts";
import { ensureBuilt, mini } from "../helpers/mini.ts";
import { cleanupRootfses, makeRootfs } from "../helpers/rootfs.ts";

let before: Snapshot;
let cwd: string;

beforeAll(() => {
  ensureBuilt();
  cwd = mkdtempSync(join(tmpdir(), "mini-cwd-"));
  before = snapshot();
});
afterAll(() => {
  cleanupRootfses();
  rmSync(cwd, { recursive: true, force: true });
});

describe("ROOTFS arguments", () => {
  test("a typo'd path to the host's /etc, or /, is refused before anything is created", async () => {
    const etcBefore = readdirSync("/etc").sort();
    const up = relative(cwd, "/etc"); // ../../etc
    const r = await mini(["run", up, "true"], { cwd });
    expect(r.code).toBe(125);
    expect(r.stderr.trim()).toBe(
      `mini: rootfs ${up} is the host's /etc: give a container root filesystem (a copy, or an image)`,
    );
    expect(readdirSync("/etc").sort()).toEqual(etcBefore);
    for (const dir of ["/", "/usr", "/var"]) {
      const s = await mini(["run", dir, "true"]);
      expect(s.code).toBe(125);
      expect(s.stderr).toContain(`is the host's ${dir}`);
    }
  });

  test("a bare word is an image even when a directory of that name is in the current directory", async () => {
    const dir = join(cwd, "busybox");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "marker"), "x");
    const r = await mini(
      ["run", "--pull", "never", "busybox", "sh", "-c", "test -e /marker && echo dir || echo image"],
      { cwd },
    );
    expect(r.stdout).toBe("image\n");
    // As a path it is a rootfs (this one is empty: its command can't run).
    const p = await mini(["run", "./busybox", "/bin/true"], { cwd });
    expect(p.code).toBe(127);
  });
});

describe("a failed setup leaves the rootfs as it was", () => {
  test("before pivot_root: a missing volume source", async () => {
    const rootfs = makeRootfs();
    for (const d of ["proc", "sys", "dev"]) rmSync(join(rootfs, d), { recursive: true });
    const r = await mini(["run", "-v", "/no/such/source:/data", rootfs, "true"]);
    expect(r.code).toBe(125);
    for (const d of ["proc", "sys", "dev", "data"]) expect(`${d}: ${existsSync(join(rootfs, d))}`).toBe(`${d}: false`);
  });

  test("after pivot_root: a command that doesn't exist", async () => {
    const rootfs = makeRootfs();
    for (const d of ["proc", "sys", "dev"]) rmSync(join(rootfs, d), { recursive: true });
    rmSync(join(rootfs, "etc/hostname"), { force: true });
    const r = await mini(["run", rootfs, "/no/such/command"]);
    expect(r.code).toBe(127);
    for (const d of ["proc", "sys", "dev", "etc/hostname"])
      expect(`${d}: ${existsSync(join(rootfs, d))}`).toBe(`${d}: false`);
  });

  test("nothing is left behind", async () => {
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});
