// docker's resource, device and isolation flags → the OCI config, without a host: device lookups,
// rlimits and capabilities are injected.
import { describe, expect, test } from "bun:test";
import {
  devNumbers,
  type HostDevice,
  hostDevices,
  parseDeviceCgroupRule,
  parseDeviceFlag,
  type StatDevice,
} from "../../src/config/device-flags.ts";
import { specFromFlags } from "../../src/config/from-flags.ts";
import {
  applyNamespaceModes,
  hasSysResource,
  ignoredSecurityOpt,
  parseOomScoreAdj,
  parseSysctls,
  parseUlimits,
  shmMount,
} from "../../src/config/isolation-flags.ts";
import { applyResourceFlags, hugePageSize } from "../../src/config/resource-flags.ts";
import type { Namespace } from "../../src/config/types.ts";
import { updatedResources } from "../../src/config/update-flags.ts";
import { defaultMounts } from "../../src/config/defaults.ts";
import { UserError } from "../../src/common/errors.ts";
import { hasSwapAccounting } from "../../src/cgroups/index.ts";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dev = (type: "c" | "b", major: number, minor: number): HostDevice => ({
  type,
  major,
  minor,
  mode: 0o20660,
  uid: 0,
  gid: 6,
});
const FAKE_DEV: Record<string, HostDevice | "dir"> = {
  "/dev/null": dev("c", 1, 3),
  "/dev/sda": dev("b", 8, 0),
  "/dev/loop3": dev("b", 7, 3),
  "/dev/snd": "dir",
  "/dev/snd/pcm0": dev("c", 116, 2),
  "/dev/snd/timer": dev("c", 116, 33),
};
const stat: StatDevice = (p) => FAKE_DEV[p];
const list = (d: string) =>
  Object.keys(FAKE_DEV)
    .filter((p) => p.startsWith(`${d}/`) && !p.slice(d.length + 1).includes("/"))
    .map((p) => p.slice(d.length + 1));

describe("devices", () => {
  test("dev_t numbers as glibc's major()/minor() split them", () => {
    expect(devNumbers(0x0103)).toEqual({ major: 1, minor: 3 });
    expect(devNumbers(0x0800)).toEqual({ major: 8, minor: 0 });
    expect(devNumbers(0x1230fe45)).toEqual({ major: 254, minor: 0x12345 }); // makedev(254, 0x12345)
  });

  test("--device HOST[:CTR][:PERMS]: docker's parsing, the host's numbers, an allow rule", () => {
    expect(parseDeviceFlag("/dev/null:/dev/mynull", stat)).toEqual({
      devices: [{ type: "c", path: "/dev/mynull", major: 1, minor: 3, fileMode: 0o660, uid: 0, gid: 6 }],
      rules: [{ allow: true, type: "c", major: 1, minor: 3, access: "rwm" }],
    });
    expect(parseDeviceFlag("/dev/sda:r", stat).rules[0]).toEqual({
      allow: true,
      type: "b",
      major: 8,
      minor: 0,
      access: "r",
    });
    expect(parseDeviceFlag("/dev/sda:r", stat).devices[0]!.path).toBe("/dev/sda");
    expect(parseDeviceFlag("/dev/sda:/dev/xvda:rw", stat).devices[0]!.path).toBe("/dev/xvda");
    const dir = parseDeviceFlag("/dev/snd:/dev/sound", stat, list);
    expect(dir.devices.map((d) => d.path)).toEqual(["/dev/sound/pcm0", "/dev/sound/timer"]);
    expect(() => parseDeviceFlag("/dev/nope", stat)).toThrow("is not a device node on this host");
    expect(() => parseDeviceFlag("/dev/null:/x:rwx", stat)).toThrow("permissions");
    expect(() => parseDeviceFlag("dev/null", stat)).toThrow("absolute");
  });

  test("--device-cgroup-rule", () => {
    expect(parseDeviceCgroupRule("c 1:3 rwm")).toEqual({ allow: true, type: "c", major: 1, minor: 3, access: "rwm" });
    expect(parseDeviceCgroupRule("b *:* r")).toEqual({ allow: true, type: "b", access: "r" });
    expect(() => parseDeviceCgroupRule("c 1:3")).toThrow(UserError);
    expect(() => parseDeviceCgroupRule("c 1:3 rr")).toThrow(UserError);
  });

  test("--privileged's host devices: every node of /dev but per-container ones (pts, ptmx, console)", () => {
    const fake: Record<string, HostDevice | "dir"> = {
      "/dev/null": dev("c", 1, 3),
      "/dev/ptmx": dev("c", 5, 2),
      "/dev/console": dev("c", 5, 1),
      "/dev/pts": "dir",
      "/dev/pts/0": dev("c", 136, 0),
      "/dev/net": "dir",
      "/dev/net/tun": dev("c", 10, 200),
    };
    const l = (d: string) =>
      Object.keys(fake)
        .filter((p) => p.startsWith(`${d}/`) && !p.slice(d.length + 1).includes("/"))
        .map((p) => p.slice(d.length + 1));
    expect(hostDevices((p) => fake[p], l).map((d) => d.path)).toEqual(["/dev/net/tun", "/dev/null"]);
  });
});

describe("resource flags", () => {
  test("cpu, memory, block I/O, huge pages, devices", () => {
    const { resources, devices } = applyResourceFlags(
      { memory: { limit: 64 << 20 } },
      {
        cpuPeriod: "50000",
        cpuQuota: "25000",
        cpuRtPeriod: "1000000",
        cpuRtRuntime: "950",
        cpusetCpus: "0-1",
        cpusetMems: "0",
        memoryReservation: "32m",
        memorySwappiness: "10",
        oomKillDisable: true,
        blkioWeight: "300",
        blkioWeightDevice: ["/dev/sda:200"],
        deviceReadBps: ["/dev/sda:1mb"],
        deviceWriteIops: ["/dev/loop3:100"],
        hugetlbLimit: ["2mb:64m", "1GB:1g"],
        device: ["/dev/null:/dev/mynull"],
        deviceCgroupRule: ["c 10:200 rwm"],
      },
      stat,
    );
    expect(resources.cpu).toEqual({
      period: 50000,
      quota: 25000,
      realtimePeriod: 1000000,
      realtimeRuntime: 950,
      cpus: "0-1",
      mems: "0",
    });
    expect(resources.memory).toEqual({
      limit: 64 << 20,
      reservation: 32 << 20,
      swappiness: 10,
      disableOOMKiller: true,
    });
    expect(resources.blockIO).toEqual({
      weight: 300,
      weightDevice: [{ major: 8, minor: 0, weight: 200 }],
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1 << 20 }],
      throttleWriteIOPSDevice: [{ major: 7, minor: 3, rate: 100 }],
    });
    expect(resources.hugepageLimits).toEqual([
      { pageSize: "2MB", limit: 64 << 20 },
      { pageSize: "1GB", limit: 1 << 30 },
    ]);
    expect(devices.map((d) => d.path)).toEqual(["/dev/mynull"]);
    expect(resources.devices).toEqual([
      { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
      { allow: true, type: "c", major: 10, minor: 200, access: "rwm" },
    ]);
  });

  test("docker's checks", () => {
    const bad = (f: Parameters<typeof applyResourceFlags>[1], msg: string, base = {}) =>
      expect(() => applyResourceFlags(base, f, stat)).toThrow(msg);
    bad({ cpuPeriod: "100" }, "use 1000 to 1000000");
    bad({ cpuQuota: "500" }, "at least 1000");
    bad({ cpuQuota: "50000" }, "conflicting options", { cpu: { quota: 50000, period: 100000 } });
    bad({ memoryReservation: "1m" }, "minimum memory reservation allowed is 6MB");
    bad({ memoryReservation: "128m" }, "memory reservation limit", { memory: { limit: 64 << 20 } });
    bad({ memorySwappiness: "101" }, "use 0 to 100");
    bad({ blkioWeight: "5" }, "use 10 to 1000");
    bad({ blkioWeightDevice: ["/dev/null:300"] }, "not a block device");
    bad({ blkioWeightDevice: ["/dev/sda:5"] }, "from 10 to 1000");
    bad({ deviceReadBps: ["sda:1mb"] }, "use /dev/DEVICE:VALUE");
    bad({ hugetlbLimit: ["64m"] }, "PAGESIZE:LIMIT");
    expect(hugePageSize("2m")).toBe("2MB");
    expect(hugePageSize("64KB")).toBe("64KB");
    expect(() => hugePageSize("huge")).toThrow("2MB or 1GB");
    expect(applyResourceFlags({}, { kernelMemory: "8m" }, stat).resources.memory).toEqual({ kernel: 8 << 20 });
  });
});

describe("isolation flags", () => {
  const own = () => ({ hard: 20000n });
  test("--ulimit: NAME=SOFT[:HARD], unlimited, and a hard limit above mini's own only with CAP_SYS_RESOURCE", () => {
    expect(parseUlimits(["nofile=256"], own, () => false)).toEqual([{ type: "RLIMIT_NOFILE", soft: 256, hard: 256 }]);
    expect(parseUlimits(["nofile=100:200", "core=0"], own, () => false)).toEqual([
      { type: "RLIMIT_NOFILE", soft: 100, hard: 200 },
      { type: "RLIMIT_CORE", soft: 0, hard: 0 },
    ]);
    expect(parseUlimits(["nofile=30000"], own, () => true)[0]!.hard).toBe(30000);
    expect(() => parseUlimits(["nofile=30000"], own, () => false)).toThrow(
      'invalid --ulimit "nofile=30000": the hard limit 30000 is above mini\'s own (20000), and raising it needs CAP_SYS_RESOURCE, which mini does not have',
    );
    expect(() => parseUlimits(["nofile=unlimited"], own, () => false)).toThrow("hard limit unlimited");
    expect(() => parseUlimits(["nofile=200:100"], own, () => false)).toThrow("soft limit 200 is above");
    expect(() => parseUlimits(["files=1"], own, () => false)).toThrow("unknown limit files");
  });

  test("CAP_SYS_RESOURCE from CapEff", () => {
    expect(hasSysResource(() => "CapEff:\t000001fffeffffff\n")).toBe(false);
    expect(hasSysResource(() => "CapEff:\t000001ffffffffff\n")).toBe(true);
  });

  test("--sysctl: namespaced keys in a namespace of the container's own", () => {
    const ns: Namespace[] = [{ type: "network" }, { type: "ipc" }];
    expect(parseSysctls(["net.ipv4.ip_forward=1", "kernel/shmmax=1000"], ns)).toEqual({
      "net.ipv4.ip_forward": "1",
      "kernel.shmmax": "1000",
    });
    expect(() => parseSysctls(["kernel.core_pattern=|x"], ns)).toThrow(
      "--sysctl: kernel.core_pattern is not namespaced",
    );
    expect(() => parseSysctls(["net.ipv4.ip_forward=1"], [{ type: "ipc" }])).toThrow("needs a network namespace");
    expect(() => parseSysctls(["x"], ns)).toThrow("KEY=VALUE");
  });

  test("--shm-size and --ipc host|none shape /dev/shm", () => {
    const shm = (ipc?: string, size?: string) =>
      shmMount(defaultMounts(), ipc, size).find((m) => m.destination === "/dev/shm");
    expect(shm(undefined, "1g")!.options).toContain(`size=${1 << 30}`);
    expect(shm(undefined, "1g")!.options!.filter((o) => o.startsWith("size="))).toHaveLength(1);
    expect(shm("host")).toMatchObject({ type: "bind", source: "/dev/shm" });
    expect(shm("none")).toBeUndefined();
    expect(() => shm("host", "1m")).toThrow("conflicting options");
    expect(() => shm(undefined, "0")).toThrow("greater than 0");
  });

  test("namespace modes", () => {
    const base: Namespace[] = [
      { type: "pid" },
      { type: "ipc" },
      { type: "uts" },
      { type: "mount" },
      { type: "cgroup" },
    ];
    const join = (name: string, type: string) => `/proc/42/ns/${type}#${name}`;
    const out = applyNamespaceModes(base, { pid: "container:db", ipc: "host", uts: "host", cgroupns: "host" }, join);
    expect(out).toEqual([{ type: "mount" }, { type: "pid", path: "/proc/42/ns/pid#db" }]);
    expect(() => applyNamespaceModes(base, { pid: "sideways" })).toThrow('invalid --pid "sideways"');
    expect(() => applyNamespaceModes(base, { ipc: "container:" }, join)).toThrow("name the container");
    expect(applyNamespaceModes(base, { ipc: "shareable", cgroupns: "private" })).toEqual(base);
  });

  test("--oom-score-adj range", () => {
    expect(parseOomScoreAdj("-1000")).toBe(-1000);
    expect(() => parseOomScoreAdj("1001")).toThrow("-1000 to 1000");
  });

  test("--security-opt label/apparmor: ignored without the LSM, refused where it is enforced", () => {
    expect(ignoredSecurityOpt("label=disable", () => undefined)).toBe(true);
    expect(ignoredSecurityOpt("apparmor=docker-default", () => undefined)).toBe(true);
    expect(ignoredSecurityOpt("seccomp=x.json", () => undefined)).toBe(false);
    expect(ignoredSecurityOpt("apparmor=unconfined", () => "apparmor")).toBe(true);
    expect(() => ignoredSecurityOpt("apparmor=docker-default", () => "apparmor")).toThrow("can't apply AppArmor");
    expect(() => ignoredSecurityOpt("label=type:x", () => "selinux")).toThrow("can't apply SELinux");
  });
});

describe("the spec", () => {
  const flags = { rootfs: "/nonexistent", command: ["sh"], readFile: () => undefined };
  test("/sys/fs/cgroup read-only by default; --privileged: all caps, host devices, no seccomp/masks, rw /sys", () => {
    const plain = specFromFlags(flags);
    expect(plain.mounts!.find((m) => m.destination === "/sys/fs/cgroup")).toMatchObject({ type: "cgroup" });
    expect(plain.mounts!.find((m) => m.destination === "/sys/fs/cgroup")!.options).toContain("ro");
    expect(plain.linux!.seccomp).toBeDefined();
    const p = specFromFlags({
      ...flags,
      isolation: { privileged: true },
      hostDevices: () => [{ type: "c", path: "/dev/fuse", major: 10, minor: 229 }],
    });
    expect(p.process!.capabilities!.bounding).toContain("CAP_SYS_ADMIN");
    expect(p.process!.capabilities!.bounding).toContain("CAP_SYS_MODULE");
    expect(p.linux!.seccomp).toBeUndefined();
    expect(p.linux!.maskedPaths).toEqual([]);
    expect(p.linux!.readonlyPaths).toEqual([]);
    expect(p.linux!.devices!.map((d) => d.path)).toEqual(["/dev/fuse"]);
    expect(p.linux!.resources!.devices).toEqual([{ allow: true, access: "rwm" }]);
    for (const d of ["/sys", "/sys/fs/cgroup"])
      expect(p.mounts!.find((m) => m.destination === d)!.options).not.toContain("ro");
  });

  test("--uts host: no hostname set; --cgroup-parent: the cgroups path; --ulimit, --oom-score-adj in process", () => {
    const s = specFromFlags({
      ...flags,
      cgroupName: "mini-abc",
      isolation: { uts: "host", cgroupParent: "/batch/", oomScoreAdj: "100", ulimit: ["nproc=50"] },
    });
    expect(s.hostname).toBeUndefined();
    expect(s.linux!.namespaces!.some((n) => n.type === "uts")).toBe(false);
    expect(s.linux!.cgroupsPath).toBe("/batch/mini-abc");
    expect(s.process!.oomScoreAdj).toBe(100);
    expect(s.process!.rlimits).toEqual([{ type: "RLIMIT_NPROC", soft: 50, hard: 50 }]);
  });
});

describe("swap accounting", () => {
  test("-m alone: memory+swap twice the memory where the host accounts swap, none (with a warning) where not", () => {
    const f = { rootfs: "/nonexistent", command: ["sh"], readFile: () => undefined, memory: "64m" };
    expect(specFromFlags(f).linux!.resources!.memory).toEqual({ limit: 64 << 20, swap: 128 << 20 });
    expect(specFromFlags({ ...f, swapAccounting: false }).linux!.resources!.memory).toEqual({ limit: 64 << 20 });
    // asked for explicitly: kept (the cgroup plan refuses it, naming the missing file)
    expect(specFromFlags({ ...f, memorySwap: "256m", swapAccounting: false }).linux!.resources!.memory).toEqual({
      limit: 64 << 20,
      swap: 256 << 20,
    });
  });

  test("detected from the hierarchy: v1 memory.memsw.*, v2 memory.swap.max below the root", () => {
    const root = mkdtempSync(join(tmpdir(), "mini-swap-"));
    try {
      mkdirSync(join(root, "memory"));
      expect(hasSwapAccounting(root)).toBe(false);
      writeFileSync(join(root, "memory/memory.memsw.limit_in_bytes"), "");
      expect(hasSwapAccounting(root)).toBe(true);
      rmSync(join(root, "memory"), { recursive: true });
      writeFileSync(join(root, "cgroup.controllers"), "memory\n");
      mkdirSync(join(root, "init.scope"));
      writeFileSync(join(root, "init.scope/memory.current"), "0\n");
      expect(hasSwapAccounting(root)).toBe(false);
      writeFileSync(join(root, "init.scope/memory.swap.max"), "max\n");
      expect(hasSwapAccounting(root)).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("mini update's flags", () => {
  const cur = { memory: { limit: 64 << 20, swap: 128 << 20 }, cpu: { shares: 1024 }, pids: { limit: 10 } };
  test("merged into the current resources", () => {
    const r = updatedResources(cur, {
      memory: "96m",
      cpus: "1.5",
      cpusetCpus: "1",
      pidsLimit: "0",
      blkioWeight: "300",
    });
    expect(r.memory).toEqual({ limit: 96 << 20, swap: 128 << 20 });
    expect(r.cpu).toEqual({ shares: 1024, quota: 150000, period: 100000, cpus: "1" });
    expect(r.pids).toEqual({ limit: -1 });
    expect(r.blockIO).toEqual({ weight: 300 });
    expect(cur.memory.limit).toBe(64 << 20);
  });
  test("docker's rules", () => {
    expect(() => updatedResources(cur, {})).toThrow("one or more flags");
    expect(() => updatedResources(cur, { memory: "256m" })).toThrow("update the memoryswap at the same time");
    expect(updatedResources(cur, { memory: "256m", memorySwap: "-1" }).memory).toEqual({ limit: 256 << 20, swap: -1 });
    expect(() => updatedResources({}, { memorySwap: "1g" })).toThrow("needs a memory limit");
    expect(() => updatedResources(cur, { cpus: "1", cpuQuota: "1000" })).toThrow("conflicting options");
    expect(() => updatedResources(cur, { blkioWeight: "5" })).toThrow("use 10 to 1000");
  });
});
