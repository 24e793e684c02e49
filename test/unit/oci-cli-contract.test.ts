// runc 1.3's CLI contract in pure pieces: exec --cgroup paths, ps filtering, events durations and
// statistics, help layout, the features document, and v1 device-rule transitions for update.
import { describe, expect, test } from "bun:test";
import { blkioEntries, ioStatEntries, keyValues } from "../../src/cgroups/runc-stats.ts";
import type { CgroupPlan } from "../../src/cgroups/types.ts";
import { deviceTransition, emulateRules, parseDevicesList } from "../../src/cgroups/v1/devices-update.ts";
import { ociHelp } from "../../src/cli/oci/help.ts";
import { parseDuration } from "../../src/oci/events.ts";
import { subCgroupProcs } from "../../src/oci/exec-cgroups.ts";
import { features } from "../../src/oci/features.ts";
import { filterPs } from "../../src/oci/ps.ts";
import { MOUNT_OPTIONS } from "../../src/runtime/mount-options.ts";

const v1Plan: CgroupPlan = {
  mode: "v1",
  root: "/sys/fs/cgroup",
  dirs: [],
  writes: [],
  warnings: [],
  procs: ["/sys/fs/cgroup/memory/c/cgroup.procs", "/sys/fs/cgroup/cpu,cpuacct/c/cgroup.procs"],
  leaves: [
    {
      hierarchy: "memory",
      controllers: ["memory"],
      mountpoint: "/sys/fs/cgroup/memory",
      dir: "/sys/fs/cgroup/memory/c",
      unified: false,
    },
    {
      hierarchy: "cpu,cpuacct",
      controllers: ["cpu", "cpuacct"],
      mountpoint: "/sys/fs/cgroup/cpu,cpuacct",
      dir: "/sys/fs/cgroup/cpu,cpuacct/c",
      unified: false,
    },
  ],
};

describe("exec --cgroup", () => {
  test("no --cgroup: the container's own cgroups", () => {
    expect(subCgroupProcs(v1Plan, [])).toEqual(v1Plan.procs);
  });
  test("controller:path per hierarchy, the others kept; one bare path for all", () => {
    expect(subCgroupProcs(v1Plan, ["cpu:sub/a"])).toEqual([
      "/sys/fs/cgroup/memory/c/cgroup.procs",
      "/sys/fs/cgroup/cpu,cpuacct/c/sub/a/cgroup.procs",
    ]);
    expect(subCgroupProcs(v1Plan, ["s"])).toEqual([
      "/sys/fs/cgroup/memory/c/s/cgroup.procs",
      "/sys/fs/cgroup/cpu,cpuacct/c/s/cgroup.procs",
    ]);
  });
  test("runc's argument errors, exit 255", () => {
    expect(() => subCgroupProcs(v1Plan, ["a", "b"])).toThrow("missing <controller>: prefix");
    expect(() => subCgroupProcs(v1Plan, [":x"])).toThrow("empty <controller> prefix");
    expect(() => subCgroupProcs(v1Plan, ["cpu:x", "cpu:y"])).toThrow("controller cpu specified multiple times");
    expect(() => subCgroupProcs(v1Plan, ["../up"])).toThrow("must stay below the container's cgroup");
  });
});

describe("ps and events", () => {
  test("ps: the header and the container's lines, by the PID column wherever it is", () => {
    const out = "  USER   PID CMD\nroot 1 init\nroot 42 sh\nroot 420 sleep\n";
    expect(filterPs(out, [42, 420])).toEqual(["  USER   PID CMD", "root 42 sh", "root 420 sleep"]);
    expect(() => filterPs("USER CMD\nroot x\n", [1])).toThrow("no PID column");
  });
  test("--interval takes Go durations", () => {
    expect(parseDuration("5s")).toBe(5000);
    expect(parseDuration("1m30s")).toBe(90_000);
    expect(parseDuration("250ms")).toBe(250);
    expect(() => parseDuration("5")).toThrow("Go duration");
    expect(() => parseDuration("0s")).toThrow("positive");
  });
  test("statistics parsers: key/value files, v1 blkio lines, v2 io.stat", () => {
    expect(keyValues("cache 4096\nrss 8192\nbad x\n")).toEqual({ cache: 4096, rss: 8192 });
    expect(blkioEntries("8:0 Read 10\n8:0 Write 20\nTotal 30\n")).toEqual([
      { major: 8, minor: 0, op: "Read", value: 10 },
      { major: 8, minor: 0, op: "Write", value: 20 },
    ]);
    expect(ioStatEntries("259:0 rbytes=5 wbytes=7 rios=1 wios=1\n")).toEqual([
      { major: 259, minor: 0, op: "Read", value: 5 },
      { major: 259, minor: 0, op: "Write", value: 7 },
    ]);
  });
});

describe("help in runc's layout", () => {
  test("NAME, USAGE with the operands, DESCRIPTION, OPTIONS aligned and sorted", () => {
    const h = ociHelp("create");
    expect(h).toMatch(
      /^NAME:\n {3}mini create - create a container\n\nUSAGE:\n {3}mini create \[command options\] <container-id>\n/,
    );
    expect(h).toContain("\nDESCRIPTION:\n   ");
    const opts = h
      .slice(h.indexOf("OPTIONS:\n") + 9)
      .trimEnd()
      .split("\n");
    expect(opts[0]).toMatch(/^ {3}--bundle value, -b value {2}the bundle's directory/);
    const col = opts.map((l) => l.search(/ {2}\S/));
    expect(new Set(col).size).toBe(1);
    expect(ociHelp("exec")).toContain("--ignore-paused");
    expect(ociHelp("nope")).toBe("");
  });
});

describe("features lists what is implemented", () => {
  test("runtime-spec 1.2.1, its new mount options, namespaces, seccomp, idmap", () => {
    const f = features();
    expect(f.ociVersionMax).toBe("1.2.1");
    for (const o of ["rro", "rnosuid", "rnoatime", "tmpcopyup", "idmap", "ridmap", "rbind"])
      expect(MOUNT_OPTIONS).toContain(o);
    expect(f.linux.namespaces).toContain("time");
    expect(f.linux.seccomp.actions).toContain("SCMP_ACT_NOTIFY");
    expect(f.linux.seccomp.supportedFlags).toContain("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV");
    expect(f.linux.mountExtensions.idmap.enabled).toBe(true);
    expect(f.linux.cgroup.systemd).toBe(false);
  });
});

describe("update of v1 device rules: the fewest writes", () => {
  // What create left: the kernel's devices.list of deny-all, the always-allowed devices and c 10:200 rw.
  const made = emulateRules([
    { allow: false, access: "rwm" },
    { allow: true, type: "c", major: 10, minor: 200, access: "rw" },
  ]);
  const list = [...made.exceptions].map(([k, a]) => `${k} ${["r", "w", "m"].filter((x) => a.has(x)).join("")}`);
  const current = parseDevicesList(`${list.join("\n")}\n`);
  test("an added device is one devices.allow line; a taken access one devices.deny line", () => {
    const target = emulateRules([
      { allow: false, access: "rwm" },
      { allow: true, type: "c", major: 10, minor: 200, access: "rwm" },
      { allow: true, type: "c", major: 4, minor: 0, access: "r" },
    ]);
    const w = deviceTransition("/cg", current, target).map((x) => `${x.path.split("/").pop()} ${x.value}`);
    expect(w).toContain("devices.allow c 10:200 m");
    expect(w).toContain("devices.allow c 4:0 r");
    expect(w.some((l) => l.includes(" a") && l.endsWith(" a"))).toBe(false); // the default is never reset
    expect(w.every((l) => !l.startsWith("devices.deny c 1:3"))).toBe(true); // always allowed stays
  });
  test("a device the new rules drop is denied; unchanged rules write nothing", () => {
    const same = emulateRules([
      { allow: false, access: "rwm" },
      { allow: true, type: "c", major: 10, minor: 200, access: "rw" },
    ]);
    const from = deviceTransition("/cg", current, same);
    expect(from).toEqual([]);
    const without = emulateRules([{ allow: false, access: "rwm" }]);
    expect(deviceTransition("/cg", current, without).map((x) => x.value)).toEqual(["c 10:200 rw"]);
  });
  test("allow-all (current or target): written from scratch, default first", () => {
    const all = parseDevicesList("a *:* rwm\n");
    expect(all.allowAll).toBe(true);
    const target = emulateRules([{ allow: false, access: "rwm" }]);
    const w = deviceTransition("/cg", all, target);
    expect(w[0]).toEqual({ path: "/cg/devices.deny", value: "a", setting: "linux.resources.devices" });
    expect(w.slice(1).every((x) => x.path === "/cg/devices.allow")).toBe(true);
  });
});
