// --userns: root inside is an unprivileged uid outside.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, readlinkSync } from "node:fs";
import { ensureBuilt, MINI, mini, readUntil, sh } from "../helpers/mini.ts";
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

describe("--userns", () => {
  test("root inside, uid 100000 outside; its own user namespace", async () => {
    const proc = Bun.spawn(
      [
        MINI,
        "run",
        "-i",
        "--userns",
        rootfs,
        "sh",
        "-c",
        "id -u; readlink /proc/self/ns/user; echo ready; read x || true",
      ],
      { stdin: "pipe", stdout: "pipe" },
    );
    const { seen: out } = await readUntil(proc.stdout, "ready");
    const pid = Number(readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, "utf8").trim().split(" ")[0]);
    const uidMap = readFileSync(`/proc/${pid}/uid_map`, "utf8").trim().split(/\s+/).map(Number);
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    proc.stdin.end();
    expect(await proc.exited).toBe(0);
    const [uid, userNs] = out.trim().split("\n");
    expect(uid).toBe("0");
    expect(userNs).not.toBe(readlinkSync("/proc/self/ns/user"));
    expect(uidMap).toEqual([0, 100000, 65536]);
    expect(status).toMatch(/Uid:\s+100000\s/);
  });

  test("explicit maps, PID 1, exit codes, devices bound from the host", async () => {
    const r = await sh(rootfs, "echo $$; cat /proc/self/uid_map; head -c 3 /dev/zero | wc -c; exit 4", [
      "--uidmap",
      "0:200000:1000",
      "--gidmap",
      "0:200000:1000",
    ]);
    expect(r.code).toBe(4);
    const [pid, map, zeros] = r.stdout.trim().split("\n");
    expect(pid).toBe("1");
    expect(map.trim().split(/\s+/)).toEqual(["0", "200000", "1000"]);
    expect(zeros.trim()).toBe("3");
  });

  test("the unprivileged root can't write the host-owned rootfs", async () => {
    const r = await sh(rootfs, "touch /etc/x 2>&1; echo done", ["--userns"]);
    expect(r.stdout).toContain("Permission denied");
  });

  test("a bind source behind a 0700 directory: mounted as host root sees it (read-only when asked)", async () => {
    const { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
    const hidden = mkdtempSync("/tmp/mini-hidden-");
    mkdirSync(`${hidden}/d`);
    writeFileSync(`${hidden}/d/file`, "host data\n");
    chmodSync(hidden, 0o700);
    const own = makeRootfs(); // owned by the mapped root, so mini may make /data in it
    Bun.spawnSync(["chown", "-R", "100000:100000", own]);
    chownSync(own, 100000, 100000);
    try {
      const r = await sh(own, "cat /data/file; touch /data/x 2>&1 | grep -c Read-only", [
        "--userns",
        "-v",
        `${hidden}/d:/data:ro`,
      ]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("host data\n1\n");
    } finally {
      rmSync(hidden, { recursive: true, force: true });
    }
  });

  test("limits and not-found still work", async () => {
    expect((await mini(["run", "--userns", "--pids-limit", "10", rootfs, "no-such"])).code).toBe(127);
  });
});

test("nothing is left behind", async () => {
  expect(await leftBehind(before)).toEqual(NOTHING);
});
