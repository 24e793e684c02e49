// cgroup v2 (unified) planning and applying, against a fake tree in a temp dir.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  applyCgroups,
  cpuMax,
  detectMode,
  memoryLimit,
  oomKilled,
  planCgroups,
  removeCgroups,
  sharesToWeight,
  swapToV2,
  updateCgroups,
  planUpdate,
  type CgroupPlan,
  type PlanInput,
} from "../../src/cgroups/index.ts";
import type { Resources } from "../../src/config/types.ts";
import { UserError } from "../../src/common/errors.ts";
import { controlFilesOf } from "../helpers/fake-cgroupfs.ts";

let root: string;
const ALL = "cpuset cpu io memory hugetlb pids rdma misc";

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "mini-cg2-"));
  writeFileSync(join(root, "cgroup.controllers"), `${ALL}\n`);
  writeFileSync(join(root, "cgroup.subtree_control"), "\n");
  mkdirSync(join(root, "user.slice/session-1"), { recursive: true });
  writeFileSync(join(root, "user.slice/cgroup.subtree_control"), "memory pids\n");
  writeFileSync(join(root, "user.slice/session-1/cgroup.procs"), "100\n");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const input = (o: Partial<PlanInput> = {}): PlanInput => ({
  name: "mini-x",
  mode: "v2",
  root,
  mountinfo: `40 22 0:37 / ${root} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n`,
  selfCgroup: "0::/user.slice/session-1\n",
  host: { onlineCpus: "0-3", onlineMems: "0", hugePageSizes: ["2MB", "1GB"], kernelRelease: "6.18.0" },
  ...o,
});
const apply = (p: CgroupPlan, log?: Parameters<typeof applyCgroups>[1], lacking: string[] = []) =>
  applyCgroups(p, log, { exists: controlFilesOf(lacking), attachDevices: () => {} });
const plan = (resources?: Resources, o: Partial<PlanInput> = {}) => planCgroups(input({ resources, ...o }));
const rel = (p: string) => p.slice(root.length) || "/";
const values = (p: CgroupPlan) => Object.fromEntries(p.writes.map((w) => [rel(w.path), w.value]));
function dropFiles(p: CgroupPlan) {
  for (const d of p.dirs) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) if (statSync(join(d, f)).isFile()) unlinkSync(join(d, f));
  }
}

describe("conversions", () => {
  test("shares → weight as runc", () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(262144)).toBe(10000);
    expect(sharesToWeight(0)).toBe(0);
  });
  test("swap total → memory.swap.max", () => {
    expect(swapToV2(128, 64)).toBe("64");
    expect(swapToV2(64, 64)).toBe("0");
    expect(swapToV2(-1, 64)).toBe("max");
    expect(swapToV2(undefined, -1)).toBe("max");
    expect(swapToV2(undefined, 64)).toBeUndefined();
    expect(() => swapToV2(128, undefined)).toThrow(UserError);
  });
  test("cpu.max", () => {
    expect(cpuMax(50000, 100000)).toBe("50000 100000");
    expect(cpuMax(50000, undefined)).toBe("50000 100000");
    expect(cpuMax(-1, 200000)).toBe("max 200000");
    expect(cpuMax(undefined, undefined)).toBeUndefined();
  });
});

describe("plan v2", () => {
  test("detected from cgroup2 at the root", () => expect(detectMode(root, input().mountinfo)).toBe("v2"));

  test("relative name: beside the caller's cgroup (no-internal-process rule), one leaf", () => {
    const p = plan();
    expect(p.leaves.map((l) => rel(l.dir))).toEqual(["/user.slice/mini-x"]);
    expect(p.procs.map(rel)).toEqual(["/user.slice/mini-x/cgroup.procs"]);
    expect(p.dirs.map(rel)).toEqual(["/user.slice/mini-x"]);
  });

  test("caller at the root: under the root", () => {
    expect(plan(undefined, { selfCgroup: "0::/\n" }).leaves[0]!.dir).toBe(join(root, "mini-x"));
  });

  test("--cpus 0.5 and friends", () => {
    const v = values(
      plan({
        cpu: { quota: 50000, period: 100000, shares: 1024 },
        memory: { limit: 64 << 20, swap: 128 << 20 },
        pids: { limit: 0 },
      }),
    );
    expect(v["/user.slice/mini-x/cpu.max"]).toBe("50000 100000");
    expect(v["/user.slice/mini-x/cpu.weight"]).toBe("39");
    expect(v["/user.slice/mini-x/memory.max"]).toBe(String(64 << 20));
    expect(v["/user.slice/mini-x/memory.swap.max"]).toBe(String(64 << 20));
    expect(v["/user.slice/mini-x/pids.max"]).toBe("max");
  });

  test("subtree_control: every ancestor from the root to the leaf's parent, only what is missing", () => {
    const p = plan({ pids: { limit: 5 } }, { cgroupsPath: "/user.slice/pod/c1" });
    const sc = p.writes.filter((w) => w.path.endsWith("cgroup.subtree_control")).map((w) => [rel(w.path), w.value]);
    expect(sc).toEqual([
      ["/cgroup.subtree_control", "+cpu +memory +pids +io +cpuset"],
      ["/user.slice/cgroup.subtree_control", "+cpu +io +cpuset"],
      ["/user.slice/pod/cgroup.subtree_control", "+cpu +memory +pids +io +cpuset"],
    ]);
    expect(p.dirs.map(rel)).toEqual(["/user.slice/pod", "/user.slice/pod/c1"]);
    // delegation before the leaf's files
    const i = p.writes.findIndex((w) => w.path.endsWith("pids.max"));
    expect(i).toBeGreaterThan(p.writes.findIndex((w) => w.path.endsWith("pod/cgroup.subtree_control")));
  });

  test("cpuset and unified keys enable their controllers", () => {
    const p = plan(
      { cpu: { cpus: "0-1", mems: "0" }, unified: { "io.weight": "default 100" } },
      { selfCgroup: "0::/\n" },
    );
    expect(values(p)["/cgroup.subtree_control"]).toBe("+cpu +memory +pids +io +cpuset");
    expect(values(p)["/mini-x/cpuset.cpus"]).toBe("0-1");
    expect(values(p)["/mini-x/io.weight"]).toBe("default 100");
  });

  test("controllers the root lacks: only the required ones are an error", () => {
    writeFileSync(join(root, "cgroup.controllers"), "memory pids\n");
    expect(values(plan({ pids: { limit: 5 } }))["/cgroup.subtree_control"]).toBe("+memory +pids");
    expect(() => plan({ cpu: { quota: 50000, period: 100000 } })).toThrow("controller cpu is not available");
  });

  test("bad unified keys", () => {
    expect(() => plan({ unified: { "../x": "1" } })).toThrow(UserError);
    expect(() => plan({ unified: { "cgroup.procs": "1" } })).toThrow(UserError);
  });

  test("cgroupsPath that holds the caller", () => {
    expect(() => plan(undefined, { cgroupsPath: "/user.slice" })).toThrow("own process");
  });
});

describe("apply/remove v2", () => {
  test("files written, unlimited swap skipped where there is no swap file, cleanup only of created dirs", () => {
    const p = plan(
      { cpu: { quota: 50000, period: 100000 }, memory: { limit: -1 }, pids: { limit: 20 } },
      { cgroupsPath: "/user.slice/pod/c1" },
    );
    const logged: string[] = [];
    apply(p, (m) => logged.push(m), ["memory.swap.max"]);
    expect(readFileSync(join(root, "user.slice/pod/c1/cpu.max"), "utf8")).toBe("50000 100000");
    expect(readFileSync(join(root, "user.slice/pod/c1/pids.max"), "utf8")).toBe("20");
    expect(readFileSync(join(root, "user.slice/cgroup.subtree_control"), "utf8")).toBe("+cpu +io +cpuset"); // a real kernel merges
    expect(readFileSync(join(root, "user.slice/pod/cgroup.subtree_control"), "utf8")).toBe(
      "+cpu +memory +pids +io +cpuset",
    );
    expect(existsSync(join(root, "user.slice/pod/c1/memory.swap.max"))).toBe(false);
    expect(logged.some((m) => m.startsWith("skip ") && m.includes("memory.swap.max"))).toBe(true);

    dropFiles(p);
    removeCgroups(p);
    removeCgroups(p);
    expect(existsSync(join(root, "user.slice/pod"))).toBe(false);
    expect(existsSync(join(root, "user.slice/session-1"))).toBe(true);
  });

  test("a swap limit asked for where there is no memory.swap.max: refused, naming it", () => {
    const p = plan({ memory: { limit: 64 << 20, swap: 128 << 20 } }, { cgroupsPath: "/user.slice/pod/c1" });
    expect(() => apply(p, undefined, ["memory.swap.max"])).toThrow(
      /^cannot apply linux.resources.memory.swap \(--memory-swap\): .*\/user.slice\/pod\/c1\/memory.swap.max does not exist on this host$/,
    );
  });

  test("memory.swap.max written where the file exists", () => {
    const p = plan({ memory: { limit: 64 << 20, swap: -1 } });
    apply(p);
    expect(readFileSync(join(p.leaves[0]!.dir, "memory.swap.max"), "utf8")).toBe("max");
    expect(memoryLimit(p)).toBe(64 << 20);
  });

  test("oomKilled and memoryLimit from memory.events / memory.max", () => {
    const p = plan();
    mkdirSync(p.leaves[0]!.dir);
    writeFileSync(join(p.leaves[0]!.dir, "memory.events"), "low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n");
    expect(oomKilled(p)).toBe(false);
    writeFileSync(
      join(p.leaves[0]!.dir, "memory.events"),
      "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n",
    );
    expect(oomKilled(p)).toBe(true);
    writeFileSync(join(p.leaves[0]!.dir, "memory.max"), "max\n");
    expect(memoryLimit(p)).toBeUndefined();
  });
});

describe("update v2", () => {
  test("leaf limits only: no delegation writes; an optional file missing is skipped, an asked one is an error", () => {
    const first = plan({ pids: { limit: 5 } }, { cgroupsPath: "/user.slice/pod/c1" });
    apply(first);
    writeFileSync(join(root, "cgroup.subtree_control"), "\n"); // as if delegation were undone meanwhile
    const p = planUpdate(first, { pids: { limit: 7 }, memory: { limit: -1 } }, { host: input().host });
    expect(p.dirs).toEqual([]);
    const logged: string[] = [];
    const files = controlFilesOf(["memory.swap.max"]);
    updateCgroups(p, (m) => logged.push(m), writeFileSync, files);
    expect(readFileSync(join(root, "user.slice/pod/c1/pids.max"), "utf8")).toBe("7");
    expect(readFileSync(join(root, "user.slice/pod/c1/memory.max"), "utf8")).toBe("max");
    expect(readFileSync(join(root, "cgroup.subtree_control"), "utf8")).toBe("\n");
    expect(logged.filter((m) => m.includes("memory.swap.max"))).toEqual([
      `skip ${join(root, "user.slice/pod/c1/memory.swap.max")} (not present on this kernel)`,
    ]);
    const asked = planUpdate(first, { memory: { limit: 64 << 20, swap: 128 << 20 } }, { host: input().host });
    let err: unknown;
    try {
      updateCgroups(asked, undefined, writeFileSync, files);
    } catch (e) {
      err = e;
    }
    expect((err as UserError).exitCode).toBe(1);
    expect((err as UserError).message).toContain("linux.resources.memory.swap (--memory-swap)");
  });
});
