// The runtime-spec 1.2 fields at the spec level: how each is validated (every rejection names its
// field), normalized as runc reads it, and planned into numbers and rootfs steps.
import { describe, expect, test } from "bun:test";
import { normalizeSpec, parseConfig } from "../../src/config/bundle.ts";
import { defaultSpec } from "../../src/config/defaults.ts";
import type { Spec } from "../../src/config/types.ts";
import { parseMountOptions } from "../../src/runtime/mount-options.ts";
import { hostProcMounts } from "../../src/runtime/no-pivot.ts";
import { planProcessAttrs, processAttrArgs } from "../../src/runtime/process-attrs.ts";
import { describeOp, planRootfs, type RootfsOp } from "../../src/runtime/rootfs-plan.ts";
import * as C from "../../src/sys/constants.ts";

/** parseConfig of the default spec changed by `edit`. */
const config = (edit: (s: any) => void): Spec => {
  const s: any = defaultSpec();
  edit(s);
  return parseConfig(JSON.stringify(s));
};

describe("process: scheduler, ioPriority, execCPUAffinity", () => {
  test("valid values pass and plan into sched_setattr / ioprio_set numbers", () => {
    const s = config((c) => {
      c.process.scheduler = { policy: "SCHED_FIFO", priority: 10, flags: ["SCHED_FLAG_RESET_ON_FORK"] };
      c.process.ioPriority = { class: "IOPRIO_CLASS_BE", priority: 4 };
      c.process.execCPUAffinity = { initial: "0", final: "0-1,3" };
      c.linux.personality = { domain: "LINUX32" };
    });
    const a = planProcessAttrs(s);
    expect(a).toEqual({
      personality: C.PER_LINUX32,
      scheduler: { policy: 1, flags: 1, nice: 0, priority: 10, runtime: 0, deadline: 0, period: 0 },
      ioprio: (2 << 13) | 4,
    });
    expect(processAttrArgs(a)).toEqual(["--personality", "8", "--sched", "1,1,0,10,0,0,0", "--ioprio", "16388"]);
    expect(planProcessAttrs(config((c) => (c.linux.resources.cpu = { cpus: "0" })))).toEqual({ cpuset: true });
  });

  const bad: [string, (c: any) => void, string][] = [
    ["an unknown policy", (c) => (c.process.scheduler = { policy: "SCHED_X" }), "process.scheduler.policy"],
    ["no policy", (c) => (c.process.scheduler = { nice: 1 }), "process.scheduler.policy: is required"],
    [
      "nice out of range",
      (c) => (c.process.scheduler = { policy: "SCHED_OTHER", nice: 20 }),
      "process.scheduler.nice: 20 is out of range for SCHED_OTHER",
    ],
    [
      "a priority outside FIFO/RR",
      (c) => (c.process.scheduler = { policy: "SCHED_BATCH", priority: 1 }),
      "process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a priority",
    ],
    [
      "a runtime outside DEADLINE",
      (c) => (c.process.scheduler = { policy: "SCHED_RR", runtime: 10 }),
      "process.scheduler.runtime: only SCHED_DEADLINE takes a runtime",
    ],
    [
      "an unknown flag",
      (c) => (c.process.scheduler = { policy: "SCHED_OTHER", flags: ["SCHED_FLAG_X"] }),
      "process.scheduler.flags[0]",
    ],
    [
      "an I/O class",
      (c) => (c.process.ioPriority = { class: "IOPRIO_CLASS_X", priority: 0 }),
      "process.ioPriority.class",
    ],
    [
      "an I/O priority",
      (c) => (c.process.ioPriority = { class: "IOPRIO_CLASS_RT", priority: 8 }),
      "process.ioPriority.priority: 8 is out of range",
    ],
    [
      "a CPU list",
      (c) => (c.process.execCPUAffinity = { initial: "3-1" }),
      'process.execCPUAffinity.initial: "3-1" is not a CPU list',
    ],
    ["a personality", (c) => (c.linux.personality = { domain: "LINUX64" }), "linux.personality.domain"],
  ];
  for (const [what, edit, msg] of bad)
    test(`refused, naming the field: ${what}`, () => {
      expect(() => config(edit)).toThrow(msg);
    });
});

describe("user, namespaces, time offsets", () => {
  test("process.user uid and gid are optional (0), as runc reads them", () => {
    const s = config((c) => (c.process.user = { uid: 7 }));
    normalizeSpec(s);
    expect(s.process!.user).toEqual({ uid: 7, gid: 0 });
    const none = config((c) => delete c.process.user);
    normalizeSpec(none);
    expect(none.process!.user).toEqual({ uid: 0, gid: 0 });
  });
  test("an empty namespace path is no path; a relative one is refused", () => {
    expect(() => config((c) => (c.linux.namespaces = [{ type: "network", path: "" }]))).not.toThrow();
    expect(() => config((c) => (c.linux.namespaces = [{ type: "network", path: "x" }]))).toThrow(
      "linux.namespaces[0].path",
    );
  });
  test("time offsets: monotonic and boottime, with a time namespace of the container's own", () => {
    const ok = (c: any) => {
      c.linux.namespaces.push({ type: "time" });
      c.linux.timeOffsets = { monotonic: { secs: 10, nanosecs: 5 }, boottime: { secs: -3 } };
    };
    expect(() => config(ok)).not.toThrow();
    expect(() => config((c) => (c.linux.timeOffsets = { boottime: { secs: 1 } }))).toThrow(
      'linux.timeOffsets: needs a "time" namespace',
    );
    expect(() =>
      config((c) => {
        ok(c);
        c.linux.namespaces.at(-1).path = "/proc/1/ns/time";
      }),
    ).toThrow("can't be set for a time namespace joined by path");
    expect(() => config((c) => (c.linux.timeOffsets = { realtime: { secs: 1 } }))).toThrow(
      "linux.timeOffsets.realtime",
    );
  });
});

describe("mounts", () => {
  test("a relative destination is relative to / (runc's deprecated reading)", () => {
    const s = config((c) => c.mounts.push({ destination: "data", type: "tmpfs", source: "tmpfs" }));
    normalizeSpec(s);
    expect(s.mounts!.at(-1)!.destination).toBe("/data");
  });
  test("recursive attributes, tmpcopyup, idmap: parsed, never passed to mount(2) as data", () => {
    const o = parseMountOptions(["rbind", "rro", "rnosuid", "rnoatime", "rexec", "tmpcopyup", "ridmap"]);
    expect(o.recAttrSet).toBe(C.MOUNT_ATTR_RDONLY | C.MOUNT_ATTR_NOSUID | C.MOUNT_ATTR_NOATIME);
    expect(o.recAttrClr).toBe(C.MOUNT_ATTR_NOEXEC | C.MOUNT_ATTR__ATIME);
    expect(o).toMatchObject({ copyUp: true, idmap: "ridmap", data: "", bind: true, recursive: true });
    // relatime is "clear the access-time field, set nothing"
    expect(parseMountOptions(["rrelatime"])).toMatchObject({ recAttrSet: 0, recAttrClr: C.MOUNT_ATTR__ATIME });
  });
  test("idmapped mounts: both maps or neither, a bind, maps or the container's user namespace", () => {
    const map = [{ containerID: 0, hostID: 1000, size: 10 }];
    const idm = (m: object) => (c: any) => c.mounts.push({ destination: "/x", source: "/tmp", ...m });
    expect(() => config(idm({ options: ["bind", "idmap"], uidMappings: map, gidMappings: map }))).not.toThrow();
    expect(() => config(idm({ options: ["bind"], uidMappings: map }))).toThrow("mounts[7].gidMappings: is required");
    expect(() => config(idm({ type: "tmpfs", options: ["idmap"], uidMappings: map, gidMappings: map }))).toThrow(
      "mounts[7]: an idmapped mount must be a bind mount",
    );
    expect(() => config(idm({ options: ["bind", "idmap"] }))).toThrow(
      "mounts[7].options: idmap needs uidMappings and gidMappings, or a user namespace",
    );
    const withUserns = config((c) => {
      idm({ options: ["rbind", "idmap"] })(c);
      c.linux.namespaces.push({ type: "user" });
      c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    });
    const op = planRootfs(withUserns).find((o) => o.op === "mount" && o.dest === "/x") as Extract<
      RootfsOp,
      { op: "mount" }
    >;
    expect(op.idmap).toEqual({
      uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      recursive: false, // "idmap" on an rbind: the top mount only; "ridmap" for the tree
    });
    expect(describeOp(op)).toBe("bind /tmp on /x [idmap]");
  });
  test("a read-only tmpfs (/dev too) is mounted writable and turned read-only after the console", () => {
    const s = config((c) => {
      c.mounts.find((m: any) => m.destination === "/dev").options.push("ro");
      c.mounts.push({ destination: "/t", type: "tmpfs", source: "tmpfs", options: ["ro", "tmpcopyup", "mode=1777"] });
    });
    const ops = planRootfs(s);
    const dev = ops.find((o) => o.op === "mount" && o.dest === "/dev") as Extract<RootfsOp, { op: "mount" }>;
    expect(dev.flags & C.MS_RDONLY).toBe(0);
    const t = ops.find((o) => o.op === "mount" && o.dest === "/t") as Extract<RootfsOp, { op: "mount" }>;
    expect(t).toMatchObject({ copyUp: true, data: "mode=1777" });
    const kinds = ops.map(describeOp);
    const fin = kinds.indexOf("rootfs mounted (console next)");
    expect(fin).toBeGreaterThan(kinds.indexOf("pivot_root"));
    expect(kinds.slice(fin + 1)).toEqual(["remount /dev read-only", "remount /t read-only", "remount / read-only"]);
    // every node and link of /dev is made before it turns read-only
    expect(kinds.indexOf("symlink /dev/ptmx -> pts/ptmx")).toBeLessThan(fin);
  });
  test("no mount namespace: the host's / untouched, the rootfs bind private, chroot", () => {
    const ops = planRootfs(defaultSpec(), { hostMounts: true });
    expect(ops.some((o) => o.op === "propagation")).toBe(false);
    expect(ops.slice(0, 2).map((o) => o.op)).toEqual(["bindRoot", "privateRoot"]);
    expect(ops.some((o) => o.op === "chrootOnly")).toBe(true);
    expect(ops.some((o) => o.op === "pivot" || o.op === "chroot")).toBe(false);
  });
});

describe("--no-pivot: the host's full proc and sysfs mounts are found", () => {
  test("only full (root /) proc/sysfs mounts outside the rootfs, deepest first", () => {
    const mi = [
      "22 1 0:21 / /proc rw,nosuid - proc proc rw",
      "23 1 0:22 / /sys rw - sysfs sysfs rw",
      "24 22 0:21 /sys /proc/sys ro - proc proc rw",
      "25 1 0:23 / /dev rw - devtmpfs udev rw",
      "26 1 0:21 / /srv/rootfs/proc rw - proc proc rw",
      "27 1 0:24 / /mnt/a\\040b rw - proc proc rw",
    ].join("\n");
    expect(hostProcMounts(mi, "/srv/rootfs")).toEqual(["/mnt/a b", "/proc", "/sys"]);
  });
});
