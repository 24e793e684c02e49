// docker's resource flags on this host's real cgroups, through dist/mini as a user runs it: the
// limits the container sees in its own /sys/fs/cgroup (what the JVM, Go and Node read), cpuset,
// block I/O throttling of a loop device, hugetlb on the cgroup2 hierarchy, `mini update` of a
// running container, `mini stats`, and bad values refused with one line and nothing left.
// Private stores; every container is removed by id, the loop device detached, the hugetlb
// delegation put back as it was.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { ensureBuilt, mini, run, type Result } from "../helpers/mini.ts";
import { leftBehind, NOTHING, snapshot, type Snapshot } from "../helpers/leaks.ts";
import { cleanupRootfses, makeRootfs } from "../helpers/rootfs.ts";
import { type PrivateStore, privateStore } from "../helpers/private-store.ts";

let rootfs: string;
let before: Snapshot;
let dirs: string;
let env: Record<string, string>;
let store: PrivateStore;
const UNIFIED = "/sys/fs/cgroup/unified";
const delegated = () =>
  existsSync(`${UNIFIED}/cgroup.subtree_control`) &&
  readFileSync(`${UNIFIED}/cgroup.subtree_control`, "utf8").split(/\s+/).includes("hugetlb");
let hugetlbBefore = false;

beforeAll(() => {
  ensureBuilt();
  rootfs = makeRootfs();
  store = privateStore("resources");
  dirs = store.dir;
  env = store.env;
  hugetlbBefore = delegated();
  before = snapshot();
});

afterEach(async () => {
  const ids = (await m(["ps", "-aq"])).stdout.split("\n").filter(Boolean);
  if (ids.length) await m(["rm", "-f", ...ids]);
});

afterAll(() => {
  cleanupRootfses();
  store.remove();
  if (!hugetlbBefore && delegated()) {
    try {
      writeFileSync(`${UNIFIED}/cgroup.subtree_control`, "-hugetlb");
    } catch {
      // another user's cgroup uses it now
    }
  }
});

const m = (args: string[], timeoutMs = 60_000): Promise<Result> => mini(args, { env, timeoutMs });
const sh = (script: string, flags: string[] = []) => m(["run", ...flags, rootfs, "sh", "-c", script]);

/** run -d; the id it printed. */
async function runD(script: string, flags: string[] = []): Promise<string> {
  const r = await m(["run", "-d", ...flags, rootfs, "sh", "-c", script]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout.trim();
}

describe("limits visible inside the container", () => {
  test("-m and --cpus: the JVM's files in /sys/fs/cgroup (read-only), the container's own cgroup as /", async () => {
    const r = await sh(
      "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us; " +
        "grep -c ':/$' /proc/self/cgroup; " +
        "echo 1 > /sys/fs/cgroup/memory/memory.limit_in_bytes || echo ro-files; touch /sys/fs/cgroup/x || echo ro-dir",
      ["-m", "64m", "--cpus", "0.5"],
    );
    const lines = r.stdout.trim().split("\n");
    expect(lines.slice(0, 3)).toEqual([String(64 << 20), "50000", "100000"]);
    expect(Number(lines[3])).toBe(readFileSync("/proc/self/cgroup", "utf8").trim().split("\n").length);
    expect(r.stdout).toContain("ro-files");
    expect(r.stdout).toContain("ro-dir");
    expect(r.code).toBe(0);
  });

  test("--cpuset-cpus 0: nproc is 1 and every thread runs on cpu 0 only", async () => {
    // busy threads: a pipeline of two shells; their affinity and last CPU from /proc
    const r = await sh(
      "nproc; (i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done) & " +
        "for t in /proc/[0-9]*/task/*; do grep Cpus_allowed_list $t/status; done | sort -u; " +
        "for t in /proc/[0-9]*/task/*/stat; do cut -d' ' -f39 $t; done | sort -u; wait",
      ["--cpuset-cpus", "0"],
    );
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual(["1", "Cpus_allowed_list:\t0", "0"]);
  });

  test("memory reservation, swappiness, OOM killer off, real-time runtime: in their files", async () => {
    const r = await sh(
      "cd /sys/fs/cgroup; cat memory/memory.soft_limit_in_bytes memory/memory.swappiness cpu/cpu.rt_runtime_us; grep oom_kill_disable memory/memory.oom_control",
      [
        "-m",
        "64m",
        "--memory-reservation",
        "32m",
        "--memory-swappiness",
        "10",
        "--oom-kill-disable",
        "--cpu-rt-runtime",
        "20000",
      ],
    );
    expect(r.stdout.trim().split("\n")).toEqual([String(32 << 20), "10", "20000", "oom_kill_disable 1"]);
  });

  test("--hugetlb-limit on the cgroup2 hierarchy (hugetlb is there on this host): its leaf shown as /sys/fs/cgroup/unified", async () => {
    const offered = existsSync(`${UNIFIED}/cgroup.controllers`)
      ? readFileSync(`${UNIFIED}/cgroup.controllers`, "utf8").includes("hugetlb")
      : false;
    if (!offered) return; // no hybrid hugetlb on this host
    const r = await sh("cat /sys/fs/cgroup/unified/hugetlb.2MB.max", ["--hugetlb-limit", "2MB:4m"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe(String(4 << 20));
  });
});

describe("block I/O", () => {
  let loop = "";
  let image = "";
  beforeAll(async () => {
    image = `${dirs}/disk.img`;
    writeFileSync(image, "");
    await run(["truncate", "-s", "16M", image]);
    loop = (await run(["losetup", "-f", "--show", image])).stdout.trim();
  });
  afterAll(async () => {
    if (loop) await run(["losetup", "-d", loop]);
  });

  test("--device-write-bps throttles a dd to a loop device (3 MiB at 1 MiB/s: seconds, not milliseconds)", async () => {
    expect(loop).toMatch(/^\/dev\/loop\d+$/);
    const t0 = performance.now();
    const r = await sh(
      "dd if=/dev/zero of=/dev/xdisk bs=64k count=48 oflag=direct 2>/dev/null; cat /sys/fs/cgroup/blkio/blkio.throttle.write_bps_device /sys/fs/cgroup/blkio/blkio.throttle.io_service_bytes",
      ["--device", `${loop}:/dev/xdisk`, "--device-write-bps", `${loop}:1mb`],
    );
    const elapsed = performance.now() - t0;
    expect(r.code).toBe(0);
    const [maj, min] = readFileSync(`/sys/class/block/${loop.slice(5)}/dev`, "utf8")
      .trim()
      .split(":");
    expect(r.stdout).toContain(`${maj}:${min} 1048576`);
    expect(r.stdout).toContain(`${maj}:${min} Write 3145728`);
    // the throttle can only make it slower: a lower bound, whatever the machine's load
    expect(elapsed).toBeGreaterThan(1500);
  });

  test("mini stats shows BLOCK I/O (and no NET I/O without a network)", async () => {
    const id = await runD(
      "dd if=/dev/zero of=/dev/xdisk bs=64k count=16 oflag=direct 2>/dev/null; echo done; sleep 1000",
      ["--device", `${loop}:/dev/xdisk`],
    );
    let st: Result | undefined;
    for (let i = 0; i < 50; i++) {
      st = await m(["stats", "--no-stream", id]);
      if (/1MiB\s+\d+$/.test(st.stdout.trim())) break;
      await Bun.sleep(100);
    }
    const [head, row] = st!.stdout.trim().split("\n");
    expect(head).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
    expect(row).toMatch(/\s--\s+0B \/ 1MiB\s+\d+$/);
    await m(["rm", "-f", id]);
  });

  test("--blkio-weight goes to the weight file this kernel has (BFQ's here)", async () => {
    const r = await sh(
      "cat /sys/fs/cgroup/blkio/blkio.bfq.weight 2>/dev/null || cat /sys/fs/cgroup/blkio/blkio.weight",
      ["--blkio-weight", "300"],
    );
    expect(r.stdout.trim()).toBe("300");
  });
});

describe("mini update of a running container", () => {
  test("memory, swap, cpus, shares, cpuset, pids, blkio weight: in its cgroups at once and in inspect", async () => {
    const id = await runD("sleep 1000", ["-m", "64m", "--name", "upd"]);
    const u = await m([
      "update",
      "-m",
      "128m",
      "--memory-swap",
      "256m",
      "--cpus",
      "1.5",
      "--cpu-shares",
      "512",
      "--cpuset-cpus",
      "1",
      "--pids-limit",
      "30",
      "--blkio-weight",
      "200",
      "upd",
    ]);
    expect(u.stderr).toBe("");
    expect(u.stdout.trim()).toBe("upd");
    const inside = await m([
      "exec",
      "upd",
      "sh",
      "-c",
      "cd /sys/fs/cgroup; cat memory/memory.limit_in_bytes memory/memory.memsw.limit_in_bytes cpu/cpu.cfs_quota_us cpu/cpu.shares cpuset/cpuset.cpus pids/pids.max; cat blkio/blkio.bfq.weight 2>/dev/null || cat blkio/blkio.weight",
    ]);
    expect(inside.stdout.trim().split("\n")).toEqual([
      String(128 << 20),
      String(256 << 20),
      "150000",
      "512",
      "1",
      "30",
      "200",
    ]);
    const [info] = JSON.parse((await m(["inspect", id])).stdout);
    expect(info.HostConfig).toMatchObject({
      Memory: 128 << 20,
      MemorySwap: 256 << 20,
      NanoCpus: 1.5e9,
      CpuShares: 512,
      CpusetCpus: "1",
      PidsLimit: 30,
      BlkioWeight: 200,
    });
    // docker's rule: a memory limit above the recorded memory+swap needs --memory-swap too
    const bad = await m(["update", "-m", "512m", "upd"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toContain("update the memoryswap at the same time");
    const cpus = await m(["update", "--cpuset-cpus", "7", "upd"]);
    expect(cpus.code).toBe(1);
    expect(cpus.stderr).toContain("not online on this host");
    await m(["rm", "-f", id]);
  });
});

describe("bad values: one line, exit 125, nothing left behind", () => {
  const cases: [string[], string][] = [
    [["--kernel-memory", "64m"], "dropped kernel memory limits"],
    [["--cpuset-cpus", "99"], "99 is not online on this host"],
    [["--cpuset-mems", "0-9"], "not online on this host"],
    [["--blkio-weight", "5"], "use 10 to 1000"],
    [["--blkio-weight-device", "/dev/null:300"], "is not a block device"],
    [["--device-read-bps", "/dev/nope:1mb"], "is not a block device"],
    [["--memory-swappiness", "101"], "use 0 to 100"],
    [["--cpu-period", "10"], "use 1000 to 1000000"],
    [["--cpus", "0.5", "--cpu-quota", "50000"], "conflicting options"],
    [["--cpu-rt-period", "1000", "--cpu-rt-runtime", "5000"], "must not exceed"],
    [["--hugetlb-limit", "3MB:4m"], "this host has"],
    [["--device", "/nonexistent"], "is not a device node"],
    [["--device-cgroup-rule", "x 1:2 rwm"], "use TYPE MAJOR:MINOR PERMISSIONS"],
    [["-m", "32m", "--memory-reservation", "64m"], "memory reservation limit"],
  ];
  for (const [flags, msg] of cases)
    test(flags.join(" "), async () => {
      const r = await sh("echo ran", flags);
      expect(r.code).toBe(125);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(msg);
    });
});

describe("a bundle asking for what this host can't apply: the OCI create error, nothing left", () => {
  const bundleWith = async (resources: object): Promise<string> => {
    const b = mkdtempSync(`${dirs}/bundle-`);
    const spec = JSON.parse((await m(["spec"])).stdout);
    spec.root = { path: rootfs };
    spec.process.terminal = false;
    spec.process.args = ["true"];
    spec.linux.resources = { ...spec.linux.resources, ...resources };
    writeFileSync(`${b}/config.json`, JSON.stringify(spec));
    return b;
  };
  const cases: [object, RegExp][] = [
    [
      { blockIO: { leafWeight: 300 } },
      /^mini: cannot apply linux\.resources\.blockIO\.leafWeight: \/sys\/fs\/cgroup\/blkio\/.*\/blkio\.leaf_weight does not exist on this host$/,
    ],
    [
      { memory: { kernel: 64 << 20 } },
      /^mini: linux\.resources\.memory\.kernel \(--kernel-memory\): this kernel \(.*\) dropped kernel memory limits/,
    ],
    [
      { network: { classID: 0x100001 } },
      /^mini: linux\.resources\.network\.classID: the net_cls cgroup controller is not mounted on this host/,
    ],
  ];
  for (const [resources, msg] of cases)
    test(JSON.stringify(resources), async () => {
      if (JSON.stringify(resources).includes("leafWeight") && existsSync("/sys/fs/cgroup/blkio/blkio.leaf_weight"))
        return;
      if (JSON.stringify(resources).includes("classID") && existsSync("/sys/fs/cgroup/net_cls")) return;
      const b = await bundleWith(resources);
      const root = `${dirs}/oci`;
      const r = await m(["--root", root, "create", "--bundle", b, "c1"], 30_000);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(msg);
      expect((await m(["--root", root, "list", "-q"])).stdout.trim()).toBe("");
      const run = await m(["run", "--bundle", b]);
      expect(run.code).toBe(125);
      expect(run.stderr.trim()).toMatch(msg);
    });
});

test("nothing is left behind", async () => {
  expect(await leftBehind(before)).toEqual(NOTHING);
});
