// Every linux.resources control on cgroup v1, on a hybrid host's cgroup2 hierarchy and on v2,
// against fake cgroupfs trees: what is written where, and what is refused (never dropped).
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyCgroups, planCgroups, planUpdate, type CgroupPlan, type PlanInput } from "../../src/cgroups/index.ts";
import type { Resources } from "../../src/config/types.ts";
import { UserError } from "../../src/common/errors.ts";
import { controlFilesOf } from "../helpers/fake-cgroupfs.ts";

const HOST = { onlineCpus: "0-3", onlineMems: "0", hugePageSizes: ["2MB", "1GB"], kernelRelease: "6.18.44" };
let root: string;
const rel = (p: string) => p.slice(root.length);
const values = (p: CgroupPlan) => Object.fromEntries(p.writes.map((w) => [rel(w.path), w.value]));
const errorOf = (fn: () => unknown): UserError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error("no error");
};

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("v1 (this host's layout: hybrid, hugetlb only on the cgroup2 hierarchy)", () => {
  const V1 = ["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"];
  let extraMounts: string[] = [];
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "mini-cgres-"));
    for (const c of V1) mkdirSync(join(root, c));
    mkdirSync(join(root, "unified"));
    writeFileSync(join(root, "unified/cgroup.controllers"), "hugetlb\n");
    writeFileSync(join(root, "unified/cgroup.subtree_control"), "\n");
    writeFileSync(join(root, "cpuset/cpuset.cpus"), "0-3\n");
    writeFileSync(join(root, "cpuset/cpuset.mems"), "0\n");
    writeFileSync(join(root, "memory/memory.memsw.limit_in_bytes"), "9223372036854771712\n");
    extraMounts = [];
  });
  const input = (o: Partial<PlanInput> = {}): PlanInput => {
    const mounts = [...V1, ...extraMounts].map(
      (c, i) => `${40 + i} 30 0:${40 + i} / ${root}/${c} rw - cgroup cgroup rw,${c}`,
    );
    const self = [...V1, ...extraMounts].map((c, i) => `${i + 1}:${c}:/`);
    return {
      name: "mini-x",
      mode: "v1",
      root,
      mountinfo: `30 22 0:27 / ${root} rw - tmpfs tmpfs rw\n${mounts.join("\n")}\n99 30 0:99 / ${root}/unified rw - cgroup2 cgroup2 rw\n`,
      selfCgroup: `${self.join("\n")}\n0::/\n`,
      host: HOST,
      ...o,
    };
  };
  const plan = (r?: Resources, o: Partial<PlanInput> = {}) => planCgroups(input({ resources: r, ...o }));

  test("blkio weight: BFQ's file, else CFQ's; per-device weights and throttles, one line each", () => {
    const p = plan({
      blockIO: {
        weight: 300,
        weightDevice: [{ major: 8, minor: 0, weight: 200 }],
        throttleReadBpsDevice: [{ major: 7, minor: 0, rate: 1048576 }],
        throttleWriteIOPSDevice: [{ major: 7, minor: 0, rate: 100 }],
      },
    });
    const w = p.writes
      .filter((x) => x.path.includes("/blkio/"))
      .map((x) => [rel(x.path), x.value, x.fallback && rel(x.fallback.path)]);
    expect(w).toEqual([
      ["/blkio/mini-x/blkio.bfq.weight", "300", "/blkio/mini-x/blkio.weight"],
      ["/blkio/mini-x/blkio.bfq.weight_device", "8:0 200", "/blkio/mini-x/blkio.weight_device"],
      ["/blkio/mini-x/blkio.throttle.read_bps_device", "7:0 1048576", undefined],
      ["/blkio/mini-x/blkio.throttle.write_iops_device", "7:0 100", undefined],
    ]);
  });

  test("a blkio weight on a kernel with neither weight file: refused naming both files, the dirs removed", () => {
    const p = plan({ blockIO: { weight: 300 } });
    const e = errorOf(() =>
      applyCgroups(p, undefined, { exists: controlFilesOf(["blkio.weight", "blkio.bfq.weight"]) }),
    );
    expect(e.message).toBe(
      `cannot apply linux.resources.blockIO.weight (--blkio-weight): neither ${root}/blkio/mini-x/blkio.bfq.weight nor ${root}/blkio/mini-x/blkio.weight exists on this host`,
    );
    // the fallback is taken where only CFQ's file exists
    applyCgroups(plan({ blockIO: { weight: 300 } }), undefined, { exists: controlFilesOf(["blkio.bfq.weight"]) });
    expect(readFileSync(join(root, "blkio/mini-x/blkio.weight"), "utf8")).toBe("300");
  });

  test("real-time bandwidth: a new intermediate cgroup gets the runtime before the leaf", () => {
    const p = plan({ cpu: { realtimePeriod: 1000000, realtimeRuntime: 50000 } }, { cgroupsPath: "/rt/c" });
    expect(p.writes.filter((w) => w.path.includes("/cpu/")).map((w) => [rel(w.path), w.value])).toEqual([
      ["/cpu/rt/cpu.rt_runtime_us", "50000"],
      ["/cpu/rt/c/cpu.rt_period_us", "1000000"],
      ["/cpu/rt/c/cpu.rt_runtime_us", "50000"],
    ]);
    expect(() => plan({ cpu: { realtimePeriod: 1000, realtimeRuntime: 5000 } })).toThrow("must not exceed");
  });

  test("memory: soft limit, TCP buffers, swappiness, OOM killer; kernel memory refused on this kernel", () => {
    const v = values(
      plan({
        memory: { limit: 64 << 20, reservation: 32 << 20, kernelTCP: 8 << 20, swappiness: 10, disableOOMKiller: true },
      }),
    );
    expect(v["/memory/mini-x/memory.soft_limit_in_bytes"]).toBe(String(32 << 20));
    expect(v["/memory/mini-x/memory.kmem.tcp.limit_in_bytes"]).toBe(String(8 << 20));
    expect(v["/memory/mini-x/memory.swappiness"]).toBe("10");
    expect(v["/memory/mini-x/memory.oom_control"]).toBe("1");
    expect(() => plan({ memory: { kernel: 64 << 20 } })).toThrow(
      "linux.resources.memory.kernel (--kernel-memory): this kernel (6.18.44) dropped kernel memory limits",
    );
    const old = plan({ memory: { kernel: 64 << 20 } }, { host: { ...HOST, kernelRelease: "5.10.0" } });
    expect(values(old)["/memory/mini-x/memory.kmem.limit_in_bytes"]).toBe(String(64 << 20));
  });

  test("hugetlb on the cgroup2 hierarchy of a hybrid host: a leaf there, hugetlb delegated, the limit in .max", () => {
    const p = plan({ hugepageLimits: [{ pageSize: "2MB", limit: 4 << 20 }] });
    const u = p.leaves.find((l) => l.unified)!;
    expect(rel(u.dir)).toBe("/unified/mini-x");
    expect(u.controllers).toEqual(["hugetlb"]);
    expect(p.procs.map(rel)).toContain("/unified/mini-x/cgroup.procs");
    const v = values(p);
    expect(v["/unified/cgroup.subtree_control"]).toBe("+hugetlb"); // only what is asked: no cpu/memory here
    expect(v["/unified/mini-x/hugetlb.2MB.max"]).toBe(String(4 << 20));
    // without hugetlb anywhere: refused
    writeFileSync(join(root, "unified/cgroup.controllers"), "\n");
    expect(() => plan({ hugepageLimits: [{ pageSize: "2MB", limit: 4 << 20 }] })).toThrow(
      `linux.resources.hugepageLimits (--hugetlb-limit): the hugetlb cgroup controller is not mounted on this host (no cgroup v1 hierarchy under ${root} has it, and ${root}/unified/cgroup.controllers does not offer hugetlb)`,
    );
    // a page size the host lacks
    expect(() => plan({ hugepageLimits: [{ pageSize: "16KB", limit: 1 }] })).toThrow("this host has 2MB, 1GB");
  });

  test("hugetlb on a v1 hierarchy when one is mounted: limit_in_bytes there, the cgroup2 mount left alone", () => {
    extraMounts = ["hugetlb"];
    mkdirSync(join(root, "hugetlb"));
    const p = plan({ hugepageLimits: [{ pageSize: "1GB", limit: 1 << 30 }] });
    expect(p.leaves.some((l) => l.unified)).toBe(false);
    expect(values(p)["/hugetlb/mini-x/hugetlb.1GB.limit_in_bytes"]).toBe(String(1 << 30));
  });

  test("net_cls and net_prio where mounted; refused where not", () => {
    const r: Resources = { network: { classID: 0x100001, priorities: [{ name: "eth0", priority: 5 }] } };
    expect(() => plan(r)).toThrow(
      "linux.resources.network.classID: the net_cls cgroup controller is not mounted on this host",
    );
    extraMounts = ["net_cls", "net_prio"];
    for (const c of extraMounts) mkdirSync(join(root, c));
    const v = values(plan(r));
    expect(v["/net_cls/mini-x/net_cls.classid"]).toBe(String(0x100001));
    expect(v["/net_prio/mini-x/net_prio.ifpriomap"]).toBe("eth0 5");
    // not asked for: not joined
    expect(plan().leaves.some((l) => l.controllers.includes("net_cls"))).toBe(false);
  });

  test("device rules where no v1 devices hierarchy is mounted: the BPF program on the cgroup2 hierarchy", () => {
    const rules: Resources["devices"] = [{ allow: false, access: "rwm" }];
    expect(plan({ devices: rules }).devices).toBeUndefined(); // v1 devices: devices.deny/allow writes
    const noDevices = input({ resources: { devices: rules } });
    noDevices.mountinfo = noDevices.mountinfo
      .split("\n")
      .filter((l) => !l.endsWith(",devices"))
      .join("\n");
    const p = planCgroups(noDevices);
    const u = p.leaves.find((l) => l.unified)!;
    expect(rel(u.dir)).toBe("/unified/mini-x");
    expect(p.devices?.dir).toBe(u.dir);
    expect(p.writes.some((w) => w.path.startsWith(join(root, "unified")))).toBe(false); // no controller to delegate
    // and nowhere at all: refused, not dropped
    noDevices.mountinfo = noDevices.mountinfo
      .split("\n")
      .filter((l) => !l.includes("cgroup2"))
      .join("\n");
    expect(() => planCgroups(noDevices)).toThrow("the devices cgroup controller is not mounted on this host");
  });

  test("cpuset cpus and mems are checked against the host's online ones", () => {
    expect(values(plan({ cpu: { cpus: "1-2", mems: "0" } }))["/cpuset/mini-x/cpuset.cpus"]).toBe("1-2");
    expect(() => plan({ cpu: { cpus: "4" } })).toThrow(
      'invalid cpuset cpus "4": 4 is not online on this host (online: 0-3)',
    );
    expect(() => plan({ cpu: { cpus: "3-5" } })).toThrow("4,5 are not online");
    expect(() => plan({ cpu: { mems: "1" } })).toThrow('invalid cpuset mems "1"');
    expect(() => plan({ cpu: { cpus: "x" } })).toThrow("use numbers and ranges");
  });

  test("bad values: one UserError before anything exists", () => {
    expect(() => plan({ blockIO: { weight: 5 } })).toThrow("invalid blkio weight 5: use 10 to 1000");
    expect(() => plan({ blockIO: { weightDevice: [{ major: 8, minor: 0, weight: 2000 }] } })).toThrow(
      "blkio weight of device 8:0",
    );
    expect(() => plan({ network: { classID: -1 } })).toThrow("net_cls class id");
  });

  test("update: the recorded leaves, whatever cgroup the updater is in; a cgroup the container lacks is an error", () => {
    const created = plan({ memory: { limit: 64 << 20 } });
    applyCgroups(created, undefined, { exists: controlFilesOf() });
    const u = planUpdate(
      created,
      { memory: { limit: 128 << 20 }, cpu: { cpus: "2" }, pids: { limit: 9 } },
      { host: HOST },
    );
    expect(u.dirs).toEqual([]);
    const v = values(u);
    expect(v["/memory/mini-x/memory.limit_in_bytes"]).toBe(String(128 << 20));
    expect(v["/cpuset/mini-x/cpuset.cpus"]).toBe("2");
    expect(v["/pids/mini-x/pids.max"]).toBe("9");
    const e = errorOf(() =>
      planUpdate(created, { hugepageLimits: [{ pageSize: "2MB", limit: 2 << 20 }] }, { host: HOST }),
    );
    expect(e.message).toContain("the container has no hugetlb cgroup");
    expect(e.exitCode).toBe(1);
  });
});

describe("v2", () => {
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "mini-cgres2-"));
    writeFileSync(join(root, "cgroup.controllers"), "cpuset cpu io memory hugetlb pids\n");
    writeFileSync(join(root, "cgroup.subtree_control"), "\n");
  });
  const plan = (r?: Resources) =>
    planCgroups({
      name: "mini-x",
      mode: "v2",
      root,
      mountinfo: `40 22 0:37 / ${root} rw - cgroup2 cgroup2 rw\n`,
      selfCgroup: "0::/\n",
      host: HOST,
      resources: r,
    });

  test("io: weight in io.bfq.weight, else io.weight in its range; throttles in io.max per device", () => {
    const p = plan({
      blockIO: {
        weight: 500,
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }],
        throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2000 }],
        throttleReadIOPSDevice: [{ major: 7, minor: 1, rate: 10 }],
      },
    });
    const weight = p.writes.find((w) => w.path.endsWith("io.bfq.weight"))!;
    expect(weight.value).toBe("500");
    expect(weight.fallback).toEqual({ path: join(root, "mini-x/io.weight"), value: "4950" });
    expect(p.writes.filter((w) => w.path.endsWith("io.max")).map((w) => w.value)).toEqual([
      "8:0 rbps=1000 wbps=2000",
      "7:1 riops=10",
    ]);
  });

  test("hugetlb.<size>.max", () => {
    expect(values(plan({ hugepageLimits: [{ pageSize: "2MB", limit: 2 << 20 }] }))["/mini-x/hugetlb.2MB.max"]).toBe(
      String(2 << 20),
    );
  });

  test("settings cgroup v2 has no file for: refused in one line naming each", () => {
    const e = errorOf(() =>
      plan({
        memory: { swappiness: 10, disableOOMKiller: true, kernelTCP: 1 << 20 },
        cpu: { realtimeRuntime: 1000 },
        network: { classID: 1 },
        blockIO: { leafWeight: 100 },
      }),
    );
    for (const s of [
      "memory.swappiness (--memory-swappiness)",
      "memory.disableOOMKiller (--oom-kill-disable)",
      "memory.kernelTCP",
      "cpu.realtimeRuntime (--cpu-rt-runtime)",
      "network.classID",
      "blockIO.leafWeight",
    ])
      expect(e.message).toContain(s);
    expect(e.message).toEndWith("not available on cgroup v2 (this host's cgroup hierarchy has no such file)");
  });

  test("device rules: a program for the leaf, attached after the writes", () => {
    const p = plan({ devices: [{ allow: false, access: "rwm" }], pids: { limit: 5 } });
    expect(p.devices?.dir).toBe(join(root, "mini-x"));
    expect(Buffer.from(p.devices!.insns, "base64").length % 8).toBe(0);
    const order: string[] = [];
    applyCgroups(p, (m) => order.push(m.split(" ")[0]!), {
      exists: controlFilesOf(),
      attachDevices: (d) => order.push(`attach:${rel(d.dir)}`),
    });
    expect(order.indexOf("attach:/mini-x")).toBeGreaterThan(order.lastIndexOf("write"));
    expect(plan({ pids: { limit: 5 } }).devices).toBeUndefined();
  });
});
