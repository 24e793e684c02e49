// Escapes known from other runtimes, as tests: host fds reaching the container (CVE-2024-21626),
// mount destinations steered by symlinks, the binary being overwritable from inside (CVE-2019-5736).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { ensureBuilt, MINI, mini, sh } from "../helpers/mini.ts";
import { leftBehind, NOTHING, snapshot, type Snapshot } from "../helpers/leaks.ts";
import { cleanupRootfses, makeRootfs } from "../helpers/rootfs.ts";

let rootfs: string;
let before: Snapshot;
beforeAll(() => {
  ensureBuilt();
  rootfs = makeRootfs();
  before = snapshot();
});
afterAll(() => cleanupRootfses());

describe("escapes", () => {
  test("CVE-2024-21626: -w /proc/self/fd/N never lands outside the root", async () => {
    for (let n = 3; n <= 24; n++) {
      const r = await mini([
        "run",
        "-w",
        `/proc/self/fd/${n}`,
        rootfs,
        "sh",
        "-c",
        "pwd; ls ../../../ 2>/dev/null | grep -c work",
      ]);
      if (r.code === 0) {
        const [cwd, hostDirs] = r.stdout.trim().split("\n");
        expect(cwd.startsWith("/")).toBe(true);
        expect(hostDirs).toBe("0");
      } else expect(r.code).toBe(125);
    }
  });

  test("only fds 0-2 are open in the command", async () => {
    const r = await sh(rootfs, "ls /proc/self/fd | wc -l");
    expect(r.stdout.trim()).toBe("4"); // 0, 1, 2 and ls's own directory fd
  });

  test("an absolute symlink as a volume destination stays inside the rootfs", async () => {
    const src = mkdtempSync(`${tmpdir()}/mini-src-`);
    const target = mkdtempSync(`${tmpdir()}/mini-target-`);
    try {
      writeFileSync(`${src}/f`, "payload");
      symlinkSync(target, `${rootfs}/evil`);
      const r = await mini(["run", "-v", `${src}:/evil`, rootfs, "cat", "/evil/f"]);
      expect(r.stdout).toBe("payload");
      expect(existsSync(`${target}/f`)).toBe(false);
      expect(existsSync(`${rootfs}${target}`)).toBe(true); // created inside the rootfs instead
    } finally {
      rmSync(`${rootfs}/evil`, { force: true });
      rmSync(src, { recursive: true, force: true });
      rmSync(target, { recursive: true, force: true });
    }
  });

  test("a ../ destination can't climb out of the rootfs", async () => {
    const src = mkdtempSync(`${tmpdir()}/mini-src-`);
    try {
      const r = await mini([
        "run",
        "--tmpfs",
        "/../../../../tmp/mini-climb",
        rootfs,
        "sh",
        "-c",
        "test -d /tmp/mini-climb && echo inside",
      ]);
      expect(r.stdout).toBe("inside\n");
      expect(existsSync("/tmp/mini-climb")).toBe(false);
    } finally {
      rmSync(src, { recursive: true, force: true });
    }
  });

  test("a bunfig.toml or .env in the current directory is never loaded (a preload would run as root)", async () => {
    const dir = mkdtempSync(`${tmpdir()}/mini-cwd-`);
    try {
      writeFileSync(`${dir}/bunfig.toml`, 'preload = ["./evil.js"]\n');
      writeFileSync(`${dir}/evil.js`, `require("fs").writeFileSync(${JSON.stringify(`${dir}/ran`)}, "x");\n`);
      writeFileSync(`${dir}/.env`, `MINI_ROOT=${dir}/store\n`);
      for (const args of [["--version"], ["rmi", "nothing"], ["run", rootfs, "true"]]) {
        await mini(args, { cwd: dir });
        expect([args[0], existsSync(`${dir}/ran`), existsSync(`${dir}/store`)]).toEqual([args[0], false, false]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("CVE-2019-5736: the mini binary can't be written through /proc from inside", async () => {
    const before = statSync(MINI).mtimeMs;
    const size = statSync(MINI).size;
    // The container's PID 1 is the command, not mini: /proc/1/exe is the command itself, and no
    // mini process is visible in the container's pid namespace.
    const r = await sh(
      rootfs,
      "readlink /proc/1/exe; for p in /proc/[0-9]*; do readlink $p/exe; done | grep -c mini; echo x >> /proc/1/exe 2>&1 | head -1",
      ["--cap-add", "ALL"],
    );
    const [exe, minis] = r.stdout.trim().split("\n");
    expect(exe).toBe("/bin/busybox");
    expect(minis).toBe("0");
    expect(statSync(MINI).mtimeMs).toBe(before);
    expect(statSync(MINI).size).toBe(size);
    expect(readFileSync(MINI).subarray(0, 4).toString("latin1")).toBe("\x7fELF");
  });
});

test("nothing is left behind", async () => {
  expect(await leftBehind(before)).toEqual(NOTHING);
});
