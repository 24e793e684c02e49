// The resource controls on this host's real cgroups (root): the v2 device program attached to a
// cgroup2 directory of the hybrid hierarchy, hugetlb on that hierarchy, real-time bandwidth,
// TCP buffer limits, and settings this host can't apply refused with nothing left. Every cgroup
// made here is removed, and only processes started here are killed, by PID.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { posix } from "node:path";
import {
  applyCgroups,
  attachDeviceProgram,
  planCgroupsOnHost,
  removeCgroups,
  type CgroupPlan,
} from "../../src/cgroups/index.ts";
import { deviceProgram, encode } from "../../src/cgroups/v2/devices.ts";
import type { Resources } from "../../src/config/types.ts";

const UNIFIED = "/sys/fs/cgroup/unified";
const hybrid = existsSync(`${UNIFIED}/cgroup.procs`);
const plans: CgroupPlan[] = [];
const dirs: string[] = [];
const uniq = () => `mini-it-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const read = (p: string) => readFileSync(p, "utf8").trim();
const controllers = (dir: string) => (existsSync(dir) ? read(`${dir}/cgroup.controllers`).split(/\s+/) : []);
const v1Mounted = (c: string) =>
  readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((l) => / - cgroup /.test(l) && l.split(" - ")[1]!.split(" ")[2]!.split(",").includes(c));

/** Whether the cgroup2 root delegates hugetlb now: the runtime enables it; this file puts it back as it found it. */
const hugetlbDelegated = () => hybrid && read(`${UNIFIED}/cgroup.subtree_control`).split(/\s+/).includes("hugetlb");
const hugetlbBefore = hugetlbDelegated();

afterAll(() => {
  for (const p of plans) {
    try {
      removeCgroups(p);
    } catch (e) {
      console.error(e);
    }
  }
  for (const d of dirs.reverse()) {
    try {
      rmdirSync(d);
    } catch {}
  }
  if (!hugetlbBefore && hugetlbDelegated()) {
    try {
      writeFileSync(`${UNIFIED}/cgroup.subtree_control`, "-hugetlb");
    } catch {
      // another user's cgroup uses it now: theirs to keep
    }
  }
});

function plan(resources: Resources): CgroupPlan {
  const p = planCgroupsOnHost({ name: uniq(), resources });
  plans.push(p);
  return p;
}

/** Runs `script` in a shell that first moves itself into `dir`. */
async function inCgroup(dir: string, script: string): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn(["sh", "-c", `echo $$ > ${dir}/cgroup.procs && ${script}`], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, out: out + err };
}

describe.if(hybrid)("the v2 device program (bpf(2) through bun:ffi) on the hybrid hierarchy", () => {
  test("attached to a new cgroup2 directory: /dev/null opens, a device no rule allows does not", async () => {
    const dir = posix.join(UNIFIED, uniq());
    mkdirSync(dir);
    dirs.push(dir);
    // before: the shell may open /dev/loop-control (root, no program)
    expect((await inCgroup(dir, ": < /dev/loop-control && echo opened")).out).toContain("opened");
    attachDeviceProgram({
      dir,
      insns: Buffer.from(encode(deviceProgram([{ allow: false, access: "rwm" }]))).toString("base64"),
    });
    const r = await inCgroup(dir, "echo x > /dev/null && echo null-ok; : < /dev/loop-control && echo opened");
    expect(r.out).toContain("null-ok");
    expect(r.out).toContain("Operation not permitted");
    expect(r.out).not.toContain("opened");
    // mknod is allowed (the always-allowed "c *:* m"); opening what it made is not
    const node = `/tmp/${uniq()}`;
    const m = await inCgroup(
      dir,
      `mknod ${node} c 10 237 && echo made; (: < ${node}) 2>/dev/null || echo refused; rm -f ${node}`,
    );
    expect(m.out).toContain("made");
    expect(m.out).toContain("refused");
  });

  test("a program the verifier refuses: a SyscallError naming bpf and BPF_PROG_LOAD", () => {
    const dir = posix.join(UNIFIED, uniq());
    mkdirSync(dir);
    dirs.push(dir);
    const bad = new Uint8Array(8); // one `r0 += r0`-like zero instruction, no exit
    expect(() => attachDeviceProgram({ dir, insns: Buffer.from(bad).toString("base64") })).toThrow(
      /^bpf BPF_PROG_LOAD cgroup device program \(1 instructions\): E/,
    );
  });
});

describe.if(hybrid && controllers(UNIFIED).includes("hugetlb") && !v1Mounted("hugetlb"))(
  "hugetlb where the host has it only on the cgroup2 hierarchy",
  () => {
    test("a leaf there with the limit; removed after", () => {
      const p = plan({ hugepageLimits: [{ pageSize: "2MB", limit: 8 << 20 }] });
      applyCgroups(p);
      const u = p.leaves.find((l) => l.unified)!;
      expect(u.dir.startsWith(`${UNIFIED}/`)).toBe(true);
      expect(read(`${u.dir}/hugetlb.2MB.max`)).toBe(String(8 << 20));
      removeCgroups(p);
      for (const l of p.leaves) expect(existsSync(l.dir)).toBe(false);
    });
  },
);

describe("v1 controls on real files", () => {
  test("real-time bandwidth, TCP buffer limit, soft limit, swappiness, OOM killer off", () => {
    const p = plan({
      cpu: { realtimePeriod: 1000000, realtimeRuntime: 10000 },
      memory: { limit: 64 << 20, reservation: 32 << 20, kernelTCP: 16 << 20, swappiness: 20, disableOOMKiller: true },
    });
    applyCgroups(p);
    const f = (c: string, n: string) => read(posix.join(p.leaves.find((l) => l.controllers.includes(c))!.dir, n));
    expect(f("cpu", "cpu.rt_runtime_us")).toBe("10000");
    expect(f("memory", "memory.kmem.tcp.limit_in_bytes")).toBe(String(16 << 20));
    expect(f("memory", "memory.soft_limit_in_bytes")).toBe(String(32 << 20));
    expect(f("memory", "memory.swappiness")).toBe("20");
    expect(f("memory", "memory.oom_control")).toContain("oom_kill_disable 1");
    removeCgroups(p);
  });

  test("a blkio weight goes to BFQ's file; a leaf weight (CFQ only) is refused naming its file, no cgroup left", () => {
    const p = plan({ blockIO: { weight: 300 } });
    applyCgroups(p);
    const dir = p.leaves.find((l) => l.controllers.includes("blkio"))!.dir;
    const file = existsSync(`${dir}/blkio.bfq.weight`) ? "blkio.bfq.weight" : "blkio.weight";
    expect(read(`${dir}/${file}`)).toBe("300");
    removeCgroups(p);
    const q = plan({ blockIO: { leafWeight: 300 } });
    if (existsSync(posix.join(dir, "..", "blkio.leaf_weight"))) return; // a CFQ kernel has it
    expect(() => applyCgroups(q)).toThrow(
      /^cannot apply linux\.resources\.blockIO\.leafWeight: \/sys\/fs\/cgroup\/blkio\/.*\/blkio\.leaf_weight does not exist on this host$/,
    );
    for (const d of q.dirs) expect(existsSync(d)).toBe(false);
  });

  test("kernel memory is refused on this kernel before anything exists", () => {
    expect(() => plan({ memory: { kernel: 64 << 20 } })).toThrow("dropped kernel memory limits");
  });

  test.if(!v1Mounted("net_cls"))("net_cls where it is not mounted: refused naming the setting", () => {
    expect(() => plan({ network: { classID: 0x10001 } })).toThrow(
      "linux.resources.network.classID: the net_cls cgroup controller is not mounted on this host",
    );
  });
});
