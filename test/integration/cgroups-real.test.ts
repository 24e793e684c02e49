// Against this host's real /sys/fs/cgroup (root needed). Every cgroup made here is removed in
// afterAll, and only processes this file started are killed, by PID.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { posix } from "node:path";
import {
  applyCgroups,
  cgroupPids,
  detectMode,
  memoryLimit,
  oomKilled,
  planCgroupsOnHost,
  removeCgroups,
  setFrozen,
  type CgroupPlan,
} from "../../src/cgroups/index.ts";
import { UserError } from "../../src/common/errors.ts";

const isRoot = process.getuid?.() === 0 && existsSync("/sys/fs/cgroup");
const suite = isRoot ? describe : describe.skip;
const plans: CgroupPlan[] = [];
const children: number[] = [];
const uniq = () => `mini-it-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

function track(p: CgroupPlan): CgroupPlan {
  plans.push(p);
  return p;
}
function spawn(cmd: string[]) {
  const child = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  children.push(child.pid);
  return child;
}
const read = (p: string) => readFileSync(p, "utf8").trim();
const file = (p: CgroupPlan, controller: string, name: string) =>
  posix.join(p.leaves.find((l) => l.controllers.includes(controller))!.dir, name);

/** The cgroup paths /proc/<pid>/cgroup should show for a process in every leaf. */
function expectedLines(p: CgroupPlan): string[] {
  return p.leaves.map((l) => `${l.hierarchy}:${l.dir.slice(l.mountpoint.length)}`);
}
function procLines(pid: number): string[] {
  return read(`/proc/${pid}/cgroup`)
    .split("\n")
    .map((l) => l.slice(l.indexOf(":") + 1));
}

afterAll(() => {
  for (const pid of children) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  for (const p of plans) {
    try {
      removeCgroups(p);
    } catch (e) {
      console.error(e);
    }
  }
  for (const p of plans) for (const d of p.dirs) expect(existsSync(d)).toBe(false);
});

suite("real cgroups on this host", () => {
  test("plan, apply, join, check, remove", async () => {
    const mode = detectMode();
    const p = track(
      planCgroupsOnHost({
        name: uniq(),
        resources: {
          pids: { limit: 64 },
          memory: { limit: 64 << 20, swap: 128 << 20 },
          cpu: { quota: 50000, period: 100000, shares: 512 },
        },
      }),
    );
    expect(p.mode).toBe(mode);
    applyCgroups(p);
    for (const d of p.dirs) expect(existsSync(d)).toBe(true);
    if (mode === "v1") {
      expect(read(file(p, "pids", "pids.max"))).toBe("64");
      expect(read(file(p, "memory", "memory.limit_in_bytes"))).toBe(String(64 << 20));
      expect(read(file(p, "cpu", "cpu.cfs_quota_us"))).toBe("50000");
      expect(read(file(p, "cpu", "cpu.cfs_period_us"))).toBe("100000");
      expect(read(file(p, "cpu", "cpu.shares"))).toBe("512");
      const cs = p.leaves.find((l) => l.controllers.includes("cpuset"));
      if (cs) expect(read(posix.join(cs.dir, "cpuset.cpus"))).toBe(read(posix.join(cs.dir, "..", "cpuset.cpus")));
      // nested under our own memory cgroup
      const own = read("/proc/self/cgroup")
        .split("\n")
        .find((l) => /^\d+:memory:/.test(l))!
        .split(":")[2]!;
      expect(file(p, "memory", "")).toStartWith(`${posix.join("/sys/fs/cgroup/memory", own)}/`);
    } else {
      expect(read(posix.join(p.leaves[0]!.dir, "cpu.max"))).toBe("50000 100000");
      expect(read(posix.join(p.leaves[0]!.dir, "pids.max"))).toBe("64");
    }
    expect(memoryLimit(p)).toBe(64 << 20);

    const sleep = spawn(["sleep", "30"]);
    for (const procs of p.procs) writeFileSync(procs, String(sleep.pid));
    expect(procLines(sleep.pid)).toEqual(expect.arrayContaining(expectedLines(p)));
    expect(cgroupPids(p)).toEqual([sleep.pid]);

    removeCgroups(p); // kills the sleep, removes every dir
    expect(await sleep.exited).toBe(137);
    expect(sleep.signalCode).toBe("SIGKILL");
    for (const d of p.dirs) expect(existsSync(d)).toBe(false);
    removeCgroups(p); // twice is fine
  });

  test('writing "0" to cgroup.procs moves the writing process', async () => {
    const p = track(planCgroupsOnHost({ name: uniq(), resources: { pids: { limit: 10 } } }));
    applyCgroups(p);
    const sh = spawn([
      "sh",
      "-c",
      'for f in "$@"; do echo 0 > "$f" || exit 1; done; cat /proc/$$/cgroup',
      "sh",
      ...p.procs,
    ]);
    const out = await new Response(sh.stdout).text();
    expect(await sh.exited).toBe(0);
    const lines = out
      .trim()
      .split("\n")
      .map((l) => l.slice(l.indexOf(":") + 1));
    expect(lines).toEqual(expect.arrayContaining(expectedLines(p)));
    removeCgroups(p);
    for (const d of p.dirs) expect(existsSync(d)).toBe(false);
  });

  test("a memory hog is OOM-killed and oomKilled() says so", async () => {
    const p = track(planCgroupsOnHost({ name: uniq(), resources: { memory: { limit: 16 << 20, swap: 16 << 20 } } }));
    applyCgroups(p);
    expect(oomKilled(p)).toBe(false);
    // tail keeps everything it reads from /dev/zero while it waits for a newline
    const hog = spawn([
      "sh",
      "-c",
      'for f in "$@"; do echo 0 > "$f" || exit 1; done; exec tail /dev/zero',
      "sh",
      ...p.procs,
    ]);
    expect(await hog.exited).toBe(137);
    expect(oomKilled(p)).toBe(true);
    removeCgroups(p);
    for (const d of p.dirs) expect(existsSync(d)).toBe(false);
  }, 20000);

  test("a value the kernel rejects: UserError naming file and errno, nothing left behind", () => {
    const p = track(planCgroupsOnHost({ name: uniq(), resources: { pids: { limit: 10 } } }));
    const pids = p.writes.find((w) => w.path.endsWith("pids.max"))!;
    pids.value = "lots"; // bypass planning checks to see the kernel's answer
    let err: unknown;
    try {
      applyCgroups(p);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain(`write ${pids.path}: EINVAL`);
    for (const d of p.dirs) expect(existsSync(d)).toBe(false);
  });

  test("the cgroup of a container with a child cgroup and a live process is removed", async () => {
    const p = track(planCgroupsOnHost({ name: uniq(), cgroupsPath: `/mini-it-parent-${process.pid}/c1` }));
    applyCgroups(p);
    const inner = posix.join(p.leaves[0]!.dir, "inner");
    mkdirSync(inner);
    const sleep = spawn(["sleep", "30"]);
    writeFileSync(posix.join(inner, "cgroup.procs"), String(sleep.pid));
    removeCgroups(p);
    expect(await sleep.exited).toBe(137);
    for (const d of p.dirs) expect(existsSync(d)).toBe(false);
  });

  test("freeze/thaw, and removal of a frozen cgroup", async () => {
    const p = track(planCgroupsOnHost({ name: uniq() }));
    applyCgroups(p);
    const sleep = spawn(["sleep", "30"]);
    for (const procs of p.procs) writeFileSync(procs, String(sleep.pid));
    expect(setFrozen(p, true)).toBe(true);
    if (p.mode === "v1") expect(read(file(p, "freezer", "freezer.state"))).toBe("FROZEN");
    expect(setFrozen(p, false)).toBe(true);
    expect(setFrozen(p, true)).toBe(true);
    removeCgroups(p); // thaws so SIGKILL lands
    expect(await sleep.exited).toBe(137);
    for (const d of p.dirs) expect(existsSync(d)).toBe(false);
  });
});
