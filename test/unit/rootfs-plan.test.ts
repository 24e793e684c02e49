import { describe, expect, test } from "bun:test";
import { mkdtempSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { describeOp, planRootfs } from "../../src/runtime/rootfs-plan.ts";
import { parseMountOptions } from "../../src/runtime/mount-options.ts";
import { resolveInRoot } from "../../src/common/resolve-in-root.ts";
import { defaultSpec } from "../../src/config/defaults.ts";
import * as C from "../../src/sys/constants.ts";

describe("mount options", () => {
  test("flags, propagation and data are separated", () => {
    const o = parseMountOptions(["nosuid", "noexec", "ro", "mode=755", "size=65536k", "rprivate", "rbind"]);
    expect(o.flags).toBe(C.MS_NOSUID | C.MS_NOEXEC | C.MS_RDONLY);
    expect(o.propagation).toBe(C.MS_PRIVATE | C.MS_REC);
    expect(o.data).toBe("mode=755,size=65536k");
    expect(o.bind && o.recursive).toBe(true);
  });
  test("later options win", () => {
    expect(parseMountOptions(["ro", "rw"]).flags & C.MS_RDONLY).toBe(0);
  });
});

describe("rootfs plan", () => {
  test("default spec: private, bind root, mounts, devices, links, pivot, then read-only and masked paths", () => {
    const ops = planRootfs(defaultSpec());
    const kinds = ops.map((o) => o.op);
    expect(kinds.slice(0, 2)).toEqual(["propagation", "bindRoot"]);
    const pivot = kinds.indexOf("pivot");
    expect(pivot).toBeGreaterThan(kinds.lastIndexOf("mknod"));
    expect(kinds.indexOf("readonly")).toBeGreaterThan(pivot);
    expect(kinds.indexOf("mask")).toBeGreaterThan(pivot);
    expect(kinds.at(-1)).toBe("readonlyRoot");
    const devs = ops.filter((o) => o.op === "mknod").map((o) => (o as { dest: string }).dest);
    expect(devs).toEqual(["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"]);
    expect(ops.map(describeOp)).toContain("symlink /dev/ptmx -> pts/ptmx");
  });

  test("--no-pivot uses chroot; a user namespace binds devices instead of mknod", () => {
    const ops = planRootfs(defaultSpec(), { noPivot: true, userns: true });
    expect(ops.some((o) => o.op === "chroot")).toBe(true);
    expect(ops.some((o) => o.op === "pivot")).toBe(false);
    expect(ops.some((o) => o.op === "mknod")).toBe(false);
    expect(ops.filter((o) => o.op === "bindDevice").length).toBe(6);
  });

  test("rootfsPropagation is honoured", () => {
    const spec = defaultSpec();
    spec.linux!.rootfsPropagation = "rslave";
    expect(planRootfs(spec)[0]).toEqual({ op: "propagation", flags: C.MS_SLAVE | C.MS_REC });
  });

  test("no /dev tmpfs, no device nodes", () => {
    const spec = defaultSpec();
    spec.mounts = spec.mounts!.filter((m) => m.destination !== "/dev");
    expect(planRootfs(spec).some((o) => o.op === "mknod")).toBe(false);
  });
});

describe("the cgroup mount", () => {
  const leaves = [
    { name: "memory", dir: "/sys/fs/cgroup/memory/mini-x" },
    { name: "cpu,cpuacct", dir: "/sys/fs/cgroup/cpu,cpuacct/mini-x" },
    { name: "unified", dir: "/sys/fs/cgroup/unified/mini-x" },
  ];
  test("v1: a tmpfs, each leaf bound read-only below it, co-mounted names linked, the tmpfs then read-only", () => {
    const ops = planRootfs(defaultSpec(), { cgroups: { v2: false, leaves } }).map(describeOp);
    const at = ops.indexOf("mount tmpfs on /sys/fs/cgroup (mode=755)");
    expect(ops.slice(at, at + 7)).toEqual([
      "mount tmpfs on /sys/fs/cgroup (mode=755)",
      "bind /sys/fs/cgroup/memory/mini-x on /sys/fs/cgroup/memory (ro)",
      "bind /sys/fs/cgroup/cpu,cpuacct/mini-x on /sys/fs/cgroup/cpu,cpuacct (ro)",
      "symlink /sys/fs/cgroup/cpu -> cpu,cpuacct",
      "symlink /sys/fs/cgroup/cpuacct -> cpu,cpuacct",
      "bind /sys/fs/cgroup/unified/mini-x on /sys/fs/cgroup/unified (ro)",
      "remount /sys/fs/cgroup read-only",
    ]);
  });
  test("v2: cgroup2 in the container's cgroup namespace; --privileged (no ro): writable", () => {
    expect(planRootfs(defaultSpec(), { cgroups: { v2: true, leaves: [] } }).map(describeOp)).toContain(
      "mount cgroup2 on /sys/fs/cgroup",
    );
    const spec = defaultSpec();
    const cg = spec.mounts!.find((m) => m.type === "cgroup")!;
    cg.options = cg.options!.filter((o) => o !== "ro");
    const ops = planRootfs(spec, { cgroups: { v2: false, leaves } }).map(describeOp);
    expect(ops).toContain("bind /sys/fs/cgroup/memory/mini-x on /sys/fs/cgroup/memory");
    expect(ops).not.toContain("remount /sys/fs/cgroup read-only");
  });
});

describe("resolveInRoot", () => {
  test("symlinks and .. stay inside the root", () => {
    const root = mkdtempSync(`${tmpdir()}/mini-root-`);
    try {
      mkdirSync(`${root}/real/sub`, { recursive: true });
      symlinkSync("/etc", `${root}/abs`);
      symlinkSync("../../../..", `${root}/real/up`);
      symlinkSync("real/sub", `${root}/rel`);
      expect(resolveInRoot(root, "/abs/passwd")).toBe(`${root}/etc/passwd`);
      expect(resolveInRoot(root, "/real/up/x")).toBe(`${root}/x`);
      expect(resolveInRoot(root, "/../../etc")).toBe(`${root}/etc`);
      expect(resolveInRoot(root, "/rel/y")).toBe(`${root}/real/sub/y`);
      symlinkSync("loop", `${root}/loop`);
      expect(() => resolveInRoot(root, "/loop")).toThrow("ELOOP");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
