// cgroup limits seen from inside and from the host, the devices cgroup, and OOM.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, existsSync } from "node:fs";
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

/** The container's cgroup directory in a v1 hierarchy, found from a process inside it. */
function cgroupOf(pid: number, controller: string): string | undefined {
  const line = readFileSync(`/proc/${pid}/cgroup`, "utf8")
    .split("\n")
    .find((l) => l.split(":")[1]?.split(",").includes(controller));
  const path = line?.split(":")[2];
  if (!path) return undefined;
  for (const mp of readdirSync("/sys/fs/cgroup")) {
    if (mp.split(",").includes(controller) && existsSync(`/sys/fs/cgroup/${mp}${path}`))
      return `/sys/fs/cgroup/${mp}${path}`;
  }
  return undefined;
}

/** Runs a container that sleeps, hands its PID 1 (host pid) to `check`, then lets it finish. */
async function whileRunning(flags: string[], check: (pid: number) => void): Promise<void> {
  const proc = Bun.spawn([MINI, "run", ...flags, rootfs, "sh", "-c", "echo ready; read x"], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
  });
  try {
    const { seen } = await readUntil(proc.stdout, "ready");
    expect(seen).toContain("ready");
    const kids = readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, "utf8").trim().split(" ").map(Number);
    check(kids[0]);
  } finally {
    proc.stdin.end();
    await proc.exited;
  }
}

describe("limits", () => {
  test("--cpus, --memory, --pids-limit, --cpu-shares land in the container's v1 cgroup files", async () => {
    await whileRunning(["-i", "--cpus", "0.5", "-m", "64m", "--pids-limit", "20", "--cpu-shares", "512"], (pid) => {
      const cpu = cgroupOf(pid, "cpu")!;
      expect(readFileSync(`${cpu}/cpu.cfs_quota_us`, "utf8").trim()).toBe("50000");
      expect(readFileSync(`${cpu}/cpu.cfs_period_us`, "utf8").trim()).toBe("100000");
      expect(readFileSync(`${cpu}/cpu.shares`, "utf8").trim()).toBe("512");
      expect(readFileSync(`${cgroupOf(pid, "memory")}/memory.limit_in_bytes`, "utf8").trim()).toBe(String(64 << 20));
      expect(readFileSync(`${cgroupOf(pid, "pids")}/pids.max`, "utf8").trim()).toBe("20");
      // Nested under this process's own memory cgroup.
      const own = readFileSync("/proc/self/cgroup", "utf8")
        .split("\n")
        .find((l) => l.includes(":memory:"))!
        .split(":")[2];
      expect(cgroupOf(pid, "memory")).toContain(own === "/" ? "/memory/" : own);
    });
  });

  test("--pids-limit 20 stops a fork loop; the host is unaffected", async () => {
    const r = await sh(
      rootfs,
      "i=0; while [ $i -lt 60 ]; do sleep 3 & i=$((i+1)); done 2>/dev/null; ps -o pid | wc -l",
      ["--pids-limit", "20"],
    );
    const count = Number(r.stdout.trim().split("\n").pop());
    expect(count).toBeLessThanOrEqual(21); // header line + at most 20 processes
    expect(r.stderr + r.stdout).not.toContain("Segmentation");
    const host = Bun.spawnSync(["true"]);
    expect(host.exitCode).toBe(0);
  });

  test("-m 32m with a memory hog exits 137 and says it ran out of memory", async () => {
    const r = await mini(["run", "-m", "32m", rootfs, "tail", "/dev/zero"]);
    expect(r.code).toBe(137);
    expect(r.stderr).toContain("out of memory");
    expect(r.stderr).toContain("32 MiB");
  });

  test("the devices cgroup refuses a block device made with mknod", async () => {
    const r = await sh(
      rootfs,
      "mknod /tmp/disk b 8 0 && head -c 1 /tmp/disk; echo rc=$?; mknod /tmp/n c 1 3 && echo x > /tmp/n && echo null-ok",
    );
    expect(r.stdout).toContain("rc=1");
    expect(r.stdout + r.stderr).toContain("Operation not permitted");
    expect(r.stdout).toContain("null-ok");
  });
});

test("nothing is left behind", async () => {
  expect(await leftBehind(before)).toEqual(NOTHING);
});
