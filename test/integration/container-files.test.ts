// Files mini reads from a container's root as host root (the user database for -u, HOME, the
// /etc mount points): read inside that root by the kernel even while the container swaps them for
// symlinks to host paths, and only when they are regular files of bounded size (a FIFO or
// /dev/zero at /etc/passwd must not hang or exhaust mini).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { leftBehind, NOTHING, type Snapshot, snapshot } from "../helpers/leaks.ts";
import { ensureBuilt, mini } from "../helpers/mini.ts";
import { installProbe } from "../helpers/probe.ts";
import { cleanupRootfses, makeRootfs } from "../helpers/rootfs.ts";

let before: Snapshot;
let hostDir: string;

beforeAll(() => {
  ensureBuilt();
  hostDir = mkdtempSync(join(tmpdir(), "mini-hostfile-"));
  // A host file shaped like a passwd entry: if it ever reaches a container, HOME says so.
  writeFileSync(join(hostDir, "passwd"), "probeuser:x:1234:1234::/HOST-FILE-LEAKED:/bin/sh\n");
  before = snapshot();
});
afterAll(() => {
  cleanupRootfses();
  rmSync(hostDir, { recursive: true, force: true });
});

describe("reading a container's files", () => {
  test("exec -u: a container swapping /etc/passwd with a symlink to a host path never gets the host file", async () => {
    const rootfs = makeRootfs();
    installProbe(rootfs);
    writeFileSync(
      join(rootfs, "etc/passwd"),
      "root:x:0:0:root:/root:/bin/sh\nprobeuser:x:1234:1234::/home/probe:/bin/sh\n",
    );
    symlinkSync(join(hostDir, "passwd"), join(rootfs, "etc/passwd.link"));
    const name = `swap-${process.pid}`;
    expect(
      (await mini(["run", "-d", "--name", name, rootfs, "/probe", "swap", "/etc/passwd", "/etc/passwd.link"])).code,
    ).toBe(0);
    try {
      const homes = new Set<string>();
      for (let i = 0; i < 40; i++) {
        const r = await mini(["exec", "-u", "probeuser", name, "sh", "-c", "echo $HOME"]);
        homes.add(r.code === 0 ? r.stdout.trim() : `exit ${r.code}: ${r.stderr.trim()}`);
      }
      expect([...homes].some((h) => h.includes("HOST-FILE-LEAKED"))).toBe(false);
      expect(homes.has("/home/probe")).toBe(true);
    } finally {
      await mini(["rm", "-f", name]);
    }
  });

  test("run -u: /etc/passwd as a symlink to an absolute host path is resolved inside the rootfs", async () => {
    const rootfs = makeRootfs();
    unlinkSync(join(rootfs, "etc/passwd"));
    symlinkSync(join(hostDir, "passwd"), join(rootfs, "etc/passwd"));
    const r = await mini(["run", "-u", "probeuser", rootfs, "sh", "-c", "echo $HOME"]);
    expect(r.stdout).not.toContain("HOST-FILE-LEAKED");
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("unable to find user probeuser");
  });

  test("a char device (1:5, /dev/zero) or a FIFO as /etc/passwd: exit 125 at once, one line", async () => {
    for (const kind of ["char", "fifo"] as const) {
      const rootfs = makeRootfs();
      unlinkSync(join(rootfs, "etc/passwd"));
      const mk =
        kind === "char"
          ? spawnSync("mknod", [join(rootfs, "etc/passwd"), "c", "1", "5"])
          : spawnSync("mkfifo", [join(rootfs, "etc/passwd")]);
      expect(mk.status).toBe(0);
      const t0 = performance.now();
      const r = await mini(["run", "-u", "nobody", rootfs, "id"], { timeoutMs: 20_000 });
      expect(performance.now() - t0).toBeLessThan(10_000);
      expect(r.code).toBe(125);
      expect(r.stderr.trim()).toBe("mini: /etc/passwd is not a regular file");
      // Without -u too: HOME comes from passwd.
      expect((await mini(["run", rootfs, "true"], { timeoutMs: 20_000 })).stderr).toContain("not a regular file");
    }
  });

  test("exec -u into a container whose /etc/passwd became a FIFO: a clear error, no hang", async () => {
    const rootfs = makeRootfs();
    const name = `fifo-${process.pid}`;
    expect(
      (await mini(["run", "-d", "--name", name, rootfs, "sh", "-c", "rm /etc/passwd; mkfifo /etc/passwd; sleep 30"]))
        .code,
    ).toBe(0);
    try {
      await Bun.sleep(300);
      const r = await mini(["exec", "-u", "nobody", name, "id"], { timeoutMs: 20_000 });
      expect(r.code).toBe(125);
      expect(r.stderr).toContain("/etc/passwd is not a regular file");
    } finally {
      await mini(["rm", "-f", name]);
    }
  });

  test("nothing is left behind", async () => {
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});
