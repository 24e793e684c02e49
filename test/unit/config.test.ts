import { describe, expect, test } from "bun:test";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { parseConfig } from "../../src/config/bundle.ts";
import { defaultSpec } from "../../src/config/defaults.ts";
import { parseIdMap, parseTmpfs, parseVolume, specFromFlags } from "../../src/config/from-flags.ts";
import { containerHosts, containerResolvConf } from "../../src/runtime/etc-files.ts";
import { planNamespaces } from "../../src/runtime/namespaces.ts";
import * as C from "../../src/sys/constants.ts";

function rootfs(): string {
  const r = mkdtempSync(`${tmpdir()}/mini-spec-`);
  mkdirSync(`${r}/etc`);
  writeFileSync(`${r}/etc/passwd`, "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n");
  writeFileSync(`${r}/etc/group`, "root:x:0:\nwheel:x:10:user\nuser:x:1000:\n");
  return r;
}

describe("spec from flags", () => {
  test("a plain run", () => {
    const r = rootfs();
    try {
      const s = specFromFlags({ rootfs: r, command: ["sh", "-c", "x"] });
      expect(s.process!.args).toEqual(["sh", "-c", "x"]);
      expect(s.process!.user).toMatchObject({ uid: 0, gid: 0 });
      expect(s.process!.env).toContain("HOME=/root");
      expect(s.hostname).toBe("mini");
      expect(s.linux!.namespaces!.map((n) => n.type).sort()).toEqual([
        "cgroup",
        "ipc",
        "mount",
        "network",
        "pid",
        "uts",
      ]);
      expect(s.linux!.resources!.devices![0]).toEqual({ allow: false, access: "rwm" });
      expect(s.linux!.maskedPaths).toContain("/proc/kcore");
      expect(s.linux!.readonlyPaths).toContain("/proc/sys");
    } finally {
      rmSync(r, { recursive: true });
    }
  });

  test("limits become linux.resources", () => {
    const r = rootfs();
    try {
      const s = specFromFlags({
        rootfs: r,
        command: ["true"],
        memory: "32m",
        cpus: "0.5",
        pidsLimit: "20",
        cpuShares: "512",
      });
      expect({ ...s.linux!.resources, devices: undefined }).toEqual({
        devices: undefined,
        memory: { limit: 32 << 20, swap: 64 << 20 },
        cpu: { quota: 50000, period: 100000, shares: 512 },
        pids: { limit: 20 },
      });
    } finally {
      rmSync(r, { recursive: true });
    }
  });

  test("user, env, workdir, network host, userns maps", () => {
    const r = rootfs();
    try {
      const s = specFromFlags({
        rootfs: r,
        command: ["id"],
        user: "user",
        env: ["A=1"],
        workdir: "/w",
        network: "host",
        userns: true,
        tty: true,
      });
      expect(s.process!.user).toMatchObject({ uid: 1000, gid: 1000 });
      expect(s.process!.env).toContain("A=1");
      expect(s.process!.env).toContain("TERM=xterm");
      expect(s.process!.cwd).toBe("/w");
      expect(s.linux!.namespaces!.some((n) => n.type === "network")).toBe(false);
      expect(s.linux!.uidMappings).toEqual([{ containerID: 0, hostID: 100000, size: 65536 }]);
      expect(s.mounts!.find((m) => m.destination === "/sys")!.type).toBe("bind");
    } finally {
      rmSync(r, { recursive: true });
    }
  });

  test("bad flags are one-line errors", () => {
    const r = rootfs();
    try {
      expect(() => specFromFlags({ rootfs: r, command: [] })).toThrow("no command");
      expect(() => specFromFlags({ rootfs: r, command: ["x"], network: "container:web" })).toThrow("--network");
      expect(() => specFromFlags({ rootfs: r, command: ["x"], workdir: "rel" })).toThrow("absolute");
      expect(() => specFromFlags({ rootfs: r, command: ["x"], pidsLimit: "many" })).toThrow("not an integer");
      expect(() => specFromFlags({ rootfs: r, command: ["x"], securityOpt: ["seccomp=x"] })).toThrow("--security-opt");
    } finally {
      rmSync(r, { recursive: true });
    }
  });

  test("volumes, tmpfs, id maps", () => {
    expect(parseVolume("/a:/b:ro")).toEqual({
      destination: "/b",
      type: "bind",
      source: "/a",
      options: ["rbind", "ro"],
    });
    expect(() => parseVolume("rel:/b")).toThrow("absolute");
    expect(() => parseVolume("/a")).toThrow("HOST:CONTAINER");
    expect(parseTmpfs("/t:size=1m").options).toContain("size=1m");
    expect(parseIdMap("0:1000:1", "--uidmap")).toEqual({ containerID: 0, hostID: 1000, size: 1 });
    expect(() => parseIdMap("0:x:1", "--uidmap")).toThrow("--uidmap");
  });
});

describe("config.json validation", () => {
  test("the default spec is valid", () => {
    expect(parseConfig(JSON.stringify(defaultSpec())).ociVersion).toBe("1.2.1");
  });
  test("errors name the field", () => {
    const bad = (mut: (s: any) => void) => {
      const s: any = defaultSpec();
      mut(s);
      return () => parseConfig(JSON.stringify(s));
    };
    expect(() => parseConfig("{ nope")).toThrow("invalid JSON");
    expect(bad((s) => (s.process.args = ["sh", 3]))).toThrow("process.args[1]: expected a string");
    expect(bad((s) => (s.process.cwd = "rel"))).toThrow("process.cwd");
    expect(bad((s) => (s.linux.namespaces = [{ type: "bogus" }]))).toThrow("linux.namespaces[0].type");
    // runc: an unknown capability is warned about and ignored (loadBundle drops it), not an error.
    expect(bad((s) => (s.process.capabilities.bounding = ["CAP_NOPE"]))).not.toThrow();
    expect(bad((s) => (s.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: "x", hard: 1 }]))).toThrow(
      "process.rlimits[0].soft",
    );
    expect(bad((s) => delete s.root)).toThrow("root: is required");
    expect(bad((s) => (s.mounts = [{ destination: "" }]))).toThrow("mounts[0].destination");
  });
  test("integers are checked as their Go type: no wrapping, no doubles", () => {
    const bad = (mut: (s: any) => void) => {
      const s: any = defaultSpec();
      mut(s);
      return () => parseConfig(JSON.stringify(s));
    };
    expect(bad((s) => (s.process.user.uid = 1e300))).toThrow("process.user.uid: 1e+300 is out of range for uint32");
    expect(bad((s) => (s.process.user.uid = 4294967301))).toThrow(
      "process.user.uid: 4294967301 is out of range for uint32",
    );
    expect(bad((s) => (s.process.user.gid = -1))).toThrow("process.user.gid: -1 is out of range for uint32");
    expect(bad((s) => (s.process.user.uid = 1.5))).toThrow("process.user.uid: expected an integer (uint32)");
    expect(bad((s) => (s.process.oomScoreAdj = 2 ** 31))).toThrow("process.oomScoreAdj");
    expect(bad((s) => (s.linux.uidMappings = [{ containerID: 0, hostID: 2 ** 32, size: 1 }]))).toThrow(
      "linux.uidMappings[0].hostID",
    );
    expect(bad((s) => (s.linux.resources = { memory: { limit: 1e300 } }))).toThrow("linux.resources.memory.limit");
    expect(bad((s) => (s.hooks = { prestart: [{ path: "/bin/true", timeout: 0 }] }))).toThrow(
      "hooks.prestart[0].timeout",
    );
    // RLIM_INFINITY, as JSON.parse rounds it, is a uint64; 4294967295 a uint32.
    expect(
      bad((s) => (s.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 2 ** 64 - 1, hard: 2 ** 64 - 1 }])),
    ).not.toThrow();
    expect(bad((s) => (s.process.user.uid = 4294967295))).not.toThrow();
  });
  test("unknown capabilities are dropped; ones the host can't grant are named", () => {
    const { dropUnknownCaps, ungrantableCaps } =
      require("../../src/config/capabilities.ts") as typeof import("../../src/config/capabilities.ts");
    const caps: Record<string, string[]> = {
      bounding: ["CAP_CHOWN", "CAP_NOPE"],
      effective: ["CAP_FUTURE", "CAP_KILL"],
    };
    expect(dropUnknownCaps(caps).sort()).toEqual(["CAP_FUTURE", "CAP_NOPE"]);
    expect(caps).toEqual({ bounding: ["CAP_CHOWN"], effective: ["CAP_KILL"] });
    const all = (1n << 41n) - 1n;
    const noSysResource = all & ~(1n << 24n);
    expect(ungrantableCaps({ bounding: ["CAP_SYS_RESOURCE", "CAP_KILL"] }, noSysResource)).toEqual([
      "CAP_SYS_RESOURCE",
    ]);
    expect(ungrantableCaps({ bounding: ["CAP_SYS_RESOURCE"] }, all)).toEqual([]);
  });
  test("unknown fields are ignored", () => {
    const s: any = defaultSpec();
    s.somethingNew = { x: 1 };
    expect(() => parseConfig(JSON.stringify(s))).not.toThrow();
  });
});

describe("namespaces", () => {
  test("pid/net/uts/ipc in the parent, mount and cgroup in the child, paths are joined", () => {
    const n = planNamespaces([
      { type: "pid" },
      { type: "network", path: "/run/netns/x" },
      { type: "mount" },
      { type: "cgroup" },
      { type: "uts" },
    ]);
    expect(n.unshareFlags).toBe(C.CLONE_NEWPID | C.CLONE_NEWUTS);
    expect(n.childFlags).toBe(C.CLONE_NEWNS | C.CLONE_NEWCGROUP);
    expect(n.join).toEqual([{ type: "network", path: "/run/netns/x", flag: C.CLONE_NEWNET }]);
    expect(() => planNamespaces([{ type: "pid" }, { type: "pid" }])).toThrow('"pid" is listed twice');
  });
  test("mount and cgroup by path are joined by the child stage; no mount namespace: the runtime's", () => {
    const n = planNamespaces([
      { type: "pid" },
      { type: "mount", path: "/proc/9/ns/mnt" },
      { type: "cgroup", path: "/proc/9/ns/cgroup" },
    ]);
    expect(n.childFlags).toBe(0);
    expect(n.childJoin).toEqual([
      { type: "mount", path: "/proc/9/ns/mnt", flag: C.CLONE_NEWNS },
      { type: "cgroup", path: "/proc/9/ns/cgroup", flag: C.CLONE_NEWCGROUP },
    ]);
    const host = planNamespaces([{ type: "pid" }], 42);
    expect(host.hostMounts).toBe(true);
    expect(host.childJoin).toEqual([{ type: "mount", path: "/proc/42/ns/mnt", flag: C.CLONE_NEWNS }]);
    const joined = planNamespaces([
      { type: "mount" },
      { type: "user", path: "/proc/9/ns/user" },
      { type: "time", path: "/proc/9/ns/time" },
      { type: "network", path: "" },
    ]);
    expect(joined).toMatchObject({ userPath: "/proc/9/ns/user", timePath: "/proc/9/ns/time" });
    expect(joined.unshareFlags).toBe(C.CLONE_NEWNET); // an empty path is no path
    expect(planNamespaces([{ type: "mount" }, { type: "time" }]).childFlags).toBe(C.CLONE_NEWNS | C.CLONE_NEWTIME);
  });
});

describe("etc files", () => {
  test("hosts names the container; resolv.conf drops loopback nameservers", () => {
    expect(containerHosts("box", false, "")).toContain("127.0.1.1\tbox");
    expect(containerResolvConf("nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch x\n", false)).toBe(
      "nameserver 10.0.0.2\nsearch x\n",
    );
    expect(containerResolvConf("nameserver 127.0.0.53\n", true)).toBe("nameserver 127.0.0.53\n");
  });
});

describe("sysctl policy", () => {
  const { checkSysctls, sysctlNamespace } =
    require("../../src/config/sysctl.ts") as typeof import("../../src/config/sysctl.ts");
  const own: any[] = [{ type: "ipc" }, { type: "network" }, { type: "mount" }];
  const never = () => false;
  test("namespaced keys", () => {
    expect(sysctlNamespace("kernel.shmmax")).toBe("ipc");
    expect(sysctlNamespace("fs.mqueue.queues_max")).toBe("ipc");
    expect(sysctlNamespace("net.ipv4.ip_forward")).toBe("network");
    expect(sysctlNamespace("kernel.core_pattern")).toBeUndefined();
    expect(sysctlNamespace("fs.lease-break-time")).toBeUndefined();
  });
  test("allowed only in a namespace of the container's own; anything else names the key", () => {
    expect(() => checkSysctls({ "kernel.shmmax": "1", "net.ipv4.ip_forward": "1" }, own, never)).not.toThrow();
    expect(() => checkSysctls({ "fs.lease-break-time": "46" }, own, never)).toThrow(
      "linux.sysctl: fs.lease-break-time is not namespaced",
    );
    expect(() => checkSysctls({ "kernel.core_pattern": "|/x" }, own, never)).toThrow("kernel.core_pattern");
    expect(() => checkSysctls({ "net.ipv4.ping_group_range": "0 0" }, [{ type: "ipc" }] as any[], never)).toThrow(
      "needs a network namespace",
    );
    expect(() => checkSysctls({ "fs.mqueue.queues_max": "100" }, [{ type: "network" }] as any[], never)).toThrow(
      "needs an ipc namespace",
    );
    expect(() => checkSysctls({ "kernel.hostname": "x" }, own, never)).toThrow("kernel.hostname is not allowed");
    // Joined by path, but the path is the host's own namespace.
    const byPath: any[] = [{ type: "network", path: "/proc/1/ns/net" }];
    expect(() => checkSysctls({ "net.ipv4.ip_forward": "1" }, byPath, () => true)).toThrow("needs a network namespace");
  });
});
