// cgroup v1 (hybrid) planning and applying, against a fake tree in a temp dir.
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
  detectMode,
  findHierarchies,
  memoryLimit,
  oomKilled,
  parseMountinfo,
  planCgroups,
  removeCgroups,
  updateCgroups,
  type CgroupPlan,
  type ControlWriter,
  type PlanInput,
} from "../../src/cgroups/index.ts";
import type { Resources } from "../../src/config/types.ts";
import { UserError } from "../../src/common/errors.ts";
import { controlFilesOf } from "../helpers/fake-cgroupfs.ts";

const OWN_MEM = "/process_api/abc";
let root: string;

// The layout of this host: separate cpu and cpuacct, named systemd, memory cgroup nested, hybrid unified.
const HIER: [id: number, controllers: string, dir: string, own: string][] = [
  [9, "name=systemd", "systemd", "/"],
  [8, "pids", "pids", "/"],
  [4, "memory", "memory", OWN_MEM],
  [3, "cpuset", "cpuset", "/"],
  [2, "cpuacct", "cpuacct", "/"],
  [1, "cpu", "cpu", "/"],
];

function mountinfo(r: string, extra = ""): string {
  let id = 30;
  const lines = [`${id++} 22 0:27 / ${r} rw,relatime - tmpfs tmpfs rw,mode=755`];
  for (const [, c, d] of HIER) lines.push(`${id++} 30 0:${id} / ${r}/${d} rw,relatime - cgroup cgroup rw,${c}`);
  lines.push(`${id++} 30 0:${id} / ${r}/unified rw,relatime - cgroup2 cgroup2 rw`);
  return `${lines.join("\n")}\n${extra}`;
}

const selfCgroup = () => `${HIER.map(([i, c, , own]) => `${i}:${c}:${own}`).join("\n")}\n0::/\n`;

function put(path: string, value: string) {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, value);
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "mini-cg1-"));
  for (const [, , d, own] of HIER) mkdirSync(join(root, d, own), { recursive: true });
  mkdirSync(join(root, "unified"));
  put(join(root, "cpuset/cpuset.cpus"), "0-3\n");
  put(join(root, "cpuset/cpuset.mems"), "0\n");
  put(join(root, "memory", OWN_MEM, "memory.memsw.limit_in_bytes"), "9223372036854771712\n");
  put(join(root, "memory/memory.memsw.limit_in_bytes"), "9223372036854771712\n");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const HOST = { onlineCpus: "0-3", onlineMems: "0", hugePageSizes: ["2MB", "1GB"], kernelRelease: "6.18.0" };
const input = (o: Partial<PlanInput> = {}): PlanInput => ({
  name: "mini-x",
  mode: "v1",
  root,
  mountinfo: mountinfo(root),
  selfCgroup: selfCgroup(),
  host: HOST,
  ...o,
});
const files = controlFilesOf();
const apply = (p: CgroupPlan, log?: Parameters<typeof applyCgroups>[1]) => applyCgroups(p, log, { exists: files });
const plan = (resources?: Resources, o: Partial<PlanInput> = {}) => planCgroups(input({ resources, ...o }));
const rel = (p: string) => p.slice(root.length);
const values = (p: CgroupPlan) => Object.fromEntries(p.writes.map((w) => [rel(w.path), w.value]));

// cgroupfs removes a cgroup's control files with it; a fake tree needs them gone first.
function dropFiles(p: CgroupPlan) {
  for (const d of [...p.dirs, ...p.leaves.map((l) => l.dir)]) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) if (statSync(join(d, f)).isFile()) unlinkSync(join(d, f));
  }
}

describe("detect", () => {
  test("tmpfs at root is v1, cgroup2 at root is v2", () => {
    expect(detectMode(root, mountinfo(root))).toBe("v1");
    expect(detectMode(root, `1 0 0:1 / ${root} rw - cgroup2 cgroup2 rw\n`)).toBe("v2");
  });
  test("the last mount on the path wins", () => {
    expect(detectMode(root, `1 0 0:1 / ${root} rw - cgroup2 cgroup2 rw\n2 0 0:2 / ${root} rw - tmpfs tmpfs rw\n`)).toBe(
      "v1",
    );
  });
  test("not a mount point: decides by cgroup.controllers", () => {
    expect(detectMode(root, "")).toBe("v1");
    writeFileSync(join(root, "cgroup.controllers"), "cpu memory\n");
    expect(detectMode(root, "")).toBe("v2");
  });
  test("mountinfo escapes", () => {
    const [m] = parseMountinfo(`1 0 0:1 / /a\\040b rw shared:1 - cgroup cgroup rw,memory\n`);
    expect(m).toEqual({ root: "/", mountpoint: "/a b", fstype: "cgroup", superOptions: ["rw", "memory"] });
  });
  test("hierarchies: every mounted one, co-mounted controllers, own cgroup, hybrid unified", () => {
    const mi = `1 0 0:1 / ${root}/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n2 0 0:2 / ${root}/memory rw - cgroup cgroup rw,memory\n3 0 0:3 / /elsewhere/pids rw - cgroup cgroup rw,pids\n4 0 0:4 / ${root}/unified rw - cgroup2 cgroup2 rw\n`;
    const self = `5:pids:/\n4:memory:/a/b\n2:cpu,cpuacct:/\n1:hugetlb:/\n0::/u\n`;
    const hs = findHierarchies("v1", root, mi, self);
    expect(hs.map((h) => [h.key, rel(h.mountpoint), rel(h.ownDir), h.unified])).toEqual([
      ["memory", "/memory", "/memory/a/b", false],
      ["cpu,cpuacct", "/cpu,cpuacct", "/cpu,cpuacct", false],
      ["", "/unified", "/unified/u", true],
    ]);
  });
  test("a mount of a sub-cgroup maps the own path through its root", () => {
    const mi = `2 0 0:2 /a ${root}/memory rw - cgroup cgroup rw,memory\n`;
    const [h] = findHierarchies("v1", root, mi, "4:memory:/a/b/c\n");
    expect(rel(h!.ownDir)).toBe("/memory/b/c");
  });
});

describe("plan v1", () => {
  test("one leaf per used hierarchy; memory nested under the caller's memory cgroup", () => {
    const p = plan();
    expect(p.mode).toBe("v1");
    // name=systemd and the hybrid cgroup2 mount are left alone (docker-style containers).
    expect(p.leaves.map((l) => rel(l.dir))).toEqual([
      "/pids/mini-x",
      `/memory${OWN_MEM}/mini-x`,
      "/cpuset/mini-x",
      "/cpuacct/mini-x",
      "/cpu/mini-x",
    ]);
    // OCI containers (runc's): the cgroup2 mount joined too, with no controller delegated.
    const oci = plan(undefined, { joinUnified: true });
    expect(oci.leaves.at(-1)).toMatchObject({ unified: true, controllers: [] });
    expect(rel(oci.leaves.at(-1)!.dir)).toBe("/unified/mini-x");
    expect(p.procs.map(rel)).toContain(`/memory${OWN_MEM}/mini-x/cgroup.procs`);
    expect(p.dirs.map(rel)).toEqual(p.leaves.map((l) => rel(l.dir)));
  });

  test("absolute cgroupsPath: from each hierarchy root, intermediate dirs outermost first", () => {
    mkdirSync(join(root, "pids/libpod_parent"));
    const p = plan(undefined, { cgroupsPath: "/libpod_parent/libpod-1" });
    const dirs = p.dirs.map(rel);
    expect(dirs).toContain("/memory/libpod_parent");
    expect(dirs.indexOf("/memory/libpod_parent")).toBeLessThan(dirs.indexOf("/memory/libpod_parent/libpod-1"));
    expect(dirs).not.toContain("/pids/libpod_parent"); // exists: not ours
    expect(dirs).toContain("/pids/libpod_parent/libpod-1");
  });

  test("relative cgroupsPath nests under the caller's cgroup", () => {
    const p = plan(undefined, { cgroupsPath: "grp/c1" });
    expect(p.leaves.find((l) => l.hierarchy === "memory")!.dir).toBe(join(root, "memory", OWN_MEM, "grp/c1"));
    expect(p.dirs.map(rel)).toContain(`/memory${OWN_MEM}/grp`);
  });

  test("--cpus 0.5, pids, memory, shares: files and order", () => {
    const p = plan({
      cpu: { quota: 50000, period: 100000, shares: 512 },
      pids: { limit: 100 },
      memory: { limit: 64 << 20, swap: 128 << 20 },
    });
    const v = values(p);
    expect(v["/cpu/mini-x/cpu.cfs_quota_us"]).toBe("50000");
    expect(v["/cpu/mini-x/cpu.cfs_period_us"]).toBe("100000");
    expect(v["/cpu/mini-x/cpu.shares"]).toBe("512");
    expect(v["/pids/mini-x/pids.max"]).toBe("100");
    expect(v[`/memory${OWN_MEM}/mini-x/memory.limit_in_bytes`]).toBe(String(64 << 20));
    expect(v[`/memory${OWN_MEM}/mini-x/memory.memsw.limit_in_bytes`]).toBe(String(128 << 20));
    const order = p.writes.map((w) => rel(w.path).split("/").pop());
    expect(order.indexOf("cpu.cfs_period_us")).toBeLessThan(order.indexOf("cpu.cfs_quota_us"));
    expect(order.indexOf("memory.limit_in_bytes")).toBeLessThan(order.indexOf("memory.memsw.limit_in_bytes"));
    expect(p.warnings).toEqual([]);
  });

  test("unlimited swap and pids", () => {
    const v = values(plan({ memory: { limit: 64 << 20, swap: -1 }, pids: { limit: -1 } }));
    expect(v[`/memory${OWN_MEM}/mini-x/memory.memsw.limit_in_bytes`]).toBe("-1");
    expect(v["/pids/mini-x/pids.max"]).toBe("max");
  });

  test("no memsw file: a swap limit is refused, naming the setting and the file", () => {
    rmSync(join(root, "memory", OWN_MEM, "memory.memsw.limit_in_bytes"));
    expect(() => plan({ memory: { limit: 64 << 20, swap: 128 << 20 } })).toThrow(
      /linux.resources.memory.swap \(--memory-swap\): this kernel has no swap accounting \(.*memory.memsw.limit_in_bytes does not exist\)/,
    );
    expect(plan({ memory: { limit: 64 << 20 } }).writes.some((w) => w.path.endsWith("memsw.limit_in_bytes"))).toBe(
      false,
    );
  });

  test("update of an existing cgroup: memsw raised before a limit that exceeds it", () => {
    put(join(root, "memory", OWN_MEM, "mini-x/memory.memsw.limit_in_bytes"), String(64 << 20));
    const p = plan({ memory: { limit: 128 << 20, swap: 256 << 20 } });
    expect(p.dirs.map(rel)).not.toContain(`/memory${OWN_MEM}/mini-x`);
    const mem = p.writes.filter((w) => w.path.includes("/memory/")).map((w) => w.path.split("/").pop());
    expect(mem).toEqual(["memory.memsw.limit_in_bytes", "memory.limit_in_bytes"]);
  });

  test("cpuset: parent's cpus/mems copied into every new dir, requested ones at the leaf", () => {
    const p = plan({ cpu: { cpus: "1" } }, { cgroupsPath: "/a/b" });
    const cs = p.writes.filter((w) => w.path.includes("/cpuset/")).map((w) => [rel(w.path), w.value]);
    expect(cs).toEqual([
      ["/cpuset/a/cpuset.cpus", "0-3"],
      ["/cpuset/a/cpuset.mems", "0"],
      ["/cpuset/a/b/cpuset.cpus", "1"],
      ["/cpuset/a/b/cpuset.mems", "0"],
    ]);
  });

  test("cpuset: an existing intermediate with empty cpus is filled, a populated one kept", () => {
    put(join(root, "cpuset/a/cpuset.cpus"), "\n");
    put(join(root, "cpuset/a/cpuset.mems"), "0\n");
    const cs = plan({ cpu: { mems: "0" } }, { cgroupsPath: "/a/b" }).writes.filter((w) => w.path.includes("/cpuset/"));
    expect(cs.map((w) => [rel(w.path), w.value])).toEqual([
      ["/cpuset/a/cpuset.cpus", "0-3"],
      ["/cpuset/a/b/cpuset.cpus", "0-3"],
      ["/cpuset/a/b/cpuset.mems", "0"],
    ]);
  });

  test("bad input is a UserError before anything is touched", () => {
    expect(() => plan(undefined, { cgroupsPath: "/a/../b" })).toThrow(UserError);
    expect(() => plan(undefined, { cgroupsPath: "/" })).toThrow("names no cgroup");
    expect(() => plan(undefined, { cgroupsPath: "system.slice:mini:x" })).toThrow("systemd");
    expect(() => plan(undefined, { cgroupsPath: OWN_MEM })).toThrow("own process");
    expect(() => plan({ unified: { "memory.high": "1" } })).toThrow("cgroup v2");
    expect(() => plan({ cpu: { quota: 500 } })).toThrow("invalid cpu quota 500");
    expect(() => plan({ cpu: { period: 10 } })).toThrow("invalid cpu period");
    expect(() => plan({ memory: { limit: 100, swap: 50 } })).toThrow("memoryswap");
  });

  test("a controller that is not mounted: refused, naming the setting (not mounted, not asked: left alone)", () => {
    const mi = mountinfo(root)
      .split("\n")
      .filter((l) => !l.includes(",pids"))
      .join("\n");
    expect(() => plan({ pids: { limit: 5 } }, { mountinfo: mi })).toThrow(
      "linux.resources.pids.limit (--pids-limit): the pids cgroup controller is not mounted on this host",
    );
    expect(plan(undefined, { mountinfo: mi }).leaves.some((l) => l.hierarchy === "pids")).toBe(false);
  });
});

describe("apply/remove v1", () => {
  test("writes the files; remove deletes only what was created; twice is fine", () => {
    mkdirSync(join(root, "cpu/shared"));
    const p = plan(
      { cpu: { quota: 50000, period: 100000 }, pids: { limit: 10 }, memory: { limit: 64 << 20, swap: 128 << 20 } },
      { cgroupsPath: "/shared/c1" },
    );
    const logged: string[] = [];
    apply(p, (m, ms) => {
      expect(ms).toBeGreaterThanOrEqual(0);
      logged.push(m);
    });
    expect(readFileSync(join(root, "cpu/shared/c1/cpu.cfs_quota_us"), "utf8")).toBe("50000");
    expect(readFileSync(join(root, "pids/shared/c1/pids.max"), "utf8")).toBe("10");
    expect(readFileSync(join(root, "memory/shared/c1/memory.limit_in_bytes"), "utf8")).toBe(String(64 << 20));
    expect(logged[0]).toStartWith("mkdir ");
    expect(logged.some((m) => m.startsWith("write ") && m.endsWith("cpu.cfs_quota_us 50000"))).toBe(true);
    expect(memoryLimit(p)).toBe(64 << 20);

    dropFiles(p);
    removeCgroups(p);
    removeCgroups(p);
    for (const d of p.dirs) expect(existsSync(d)).toBe(false);
    expect(existsSync(join(root, "cpu/shared"))).toBe(true); // existed before: kept
  });

  test("a shared intermediate dir with another container in it is kept", () => {
    const a = plan(undefined, { cgroupsPath: "/pod/a" });
    apply(a);
    const b = plan(undefined, { cgroupsPath: "/pod/b" });
    expect(b.dirs.map(rel)).not.toContain("/pids/pod");
    apply(b);
    dropFiles(a);
    removeCgroups(a);
    expect(existsSync(join(root, "pids/pod/a"))).toBe(false);
    expect(existsSync(join(root, "pids/pod/b"))).toBe(true);
    expect(existsSync(join(root, "pids/pod"))).toBe(true);
  });

  test("a child cgroup made inside the leaf is removed with it", () => {
    const p = plan();
    apply(p);
    mkdirSync(join(root, "pids/mini-x/inner"));
    dropFiles(p);
    removeCgroups(p);
    expect(existsSync(join(root, "pids/mini-x"))).toBe(false);
  });

  test("a failing mkdir removes what was already created and names the path", () => {
    writeFileSync(join(root, "cpu/blocker"), ""); // a file where a directory must go
    const p = plan(undefined, { cgroupsPath: "/blocker/c" });
    expect(() => apply(p)).toThrow(`mkdir ${root}/cpu/blocker/c: ENOTDIR`);
    for (const d of p.dirs) if (!d.startsWith(join(root, "cpu"))) expect(existsSync(d)).toBe(false);
  });

  test("a failing write removes the created dirs", () => {
    const p = plan({ pids: { limit: 3 } });
    mkdirSync(join(root, "pids/mini-x/pids.max"), { recursive: true }); // EISDIR on write
    p.dirs = p.dirs.filter((d) => d !== join(root, "pids/mini-x"));
    expect(() => apply(p)).toThrow(`write ${root}/pids/mini-x/pids.max: EISDIR`);
    expect(existsSync(join(root, "cpu/mini-x"))).toBe(false);
    expect(existsSync(join(root, "pids/mini-x"))).toBe(true); // not ours
  });

  test("oomKilled reads oom_kill from memory.oom_control", () => {
    const p = plan();
    const f = join(root, "memory", OWN_MEM, "mini-x/memory.oom_control");
    expect(oomKilled(p)).toBe(false);
    put(f, "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
    expect(oomKilled(p)).toBe(false);
    put(f, "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
    expect(oomKilled(p)).toBe(true);
  });

  test("memoryLimit: unlimited is undefined", () => {
    const p = plan();
    put(join(root, "memory", OWN_MEM, "mini-x/memory.limit_in_bytes"), "9223372036854771712\n");
    expect(memoryLimit(p)).toBeUndefined();
  });
});

describe("update v1", () => {
  const mem = (f: string) => join(root, "memory", OWN_MEM, "mini-x", f);
  const errno = (code: string) => Object.assign(new Error(`${code}: write`), { code });
  // A fake kernel for the memory files: memory.limit_in_bytes <= memory.memsw.limit_in_bytes at every moment.
  const kernel: ControlWriter = (path, value) => {
    const n = (f: string) => BigInt(readFileSync(mem(f), "utf8").trim());
    if (path === mem("memory.limit_in_bytes") && BigInt(value) > n("memory.memsw.limit_in_bytes"))
      throw errno("EINVAL");
    if (path === mem("memory.memsw.limit_in_bytes") && BigInt(value) < n("memory.limit_in_bytes"))
      throw errno("EINVAL");
    writeFileSync(path, value);
  };
  const created = (r: Resources) => {
    const p = plan(r);
    apply(p);
    return p;
  };

  test("rewrites the limits in the existing cgroups; devices rules are left as they are", () => {
    mkdirSync(join(root, "devices"));
    const o = {
      mountinfo: mountinfo(root, `90 30 0:90 / ${root}/devices rw - cgroup cgroup rw,devices\n`),
      selfCgroup: `${selfCgroup()}10:devices:/\n`,
    };
    const devices: Resources["devices"] = [{ allow: false, access: "rwm" }];
    apply(plan({ pids: { limit: 10 }, devices }, o));
    rmSync(join(root, "devices/mini-x/devices.deny"));
    const p = plan({ pids: { limit: 20 }, cpu: { shares: 512 }, devices }, o);
    expect(p.dirs).toEqual([]);
    expect(p.writes.some((w) => w.path.endsWith("devices.deny"))).toBe(true);
    const logged: string[] = [];
    updateCgroups(p, (m) => logged.push(m), undefined, files);
    expect(readFileSync(join(root, "pids/mini-x/pids.max"), "utf8")).toBe("20");
    expect(readFileSync(join(root, "cpu/mini-x/cpu.shares"), "utf8")).toBe("512");
    expect(existsSync(join(root, "devices/mini-x/devices.deny"))).toBe(false);
    expect(logged.map((m) => rel(m.slice("write ".length)))).toEqual([
      "/pids/mini-x/pids.max 20",
      "/cpu/mini-x/cpu.shares 512",
    ]);
  });

  test("a write the kernel refuses in one order goes through in a second pass", () => {
    created({ memory: { limit: 32 << 20, swap: 64 << 20 } });
    // Planned while memsw was unlimited (limit first), applied after it came down to 64M.
    writeFileSync(mem("memory.memsw.limit_in_bytes"), "9223372036854771712");
    const p = plan({ memory: { limit: 128 << 20, swap: 256 << 20 } });
    writeFileSync(mem("memory.memsw.limit_in_bytes"), String(64 << 20));
    expect(p.writes.map((w) => w.path)).toEqual([mem("memory.limit_in_bytes"), mem("memory.memsw.limit_in_bytes")]);
    const logged: string[] = [];
    updateCgroups(p, (m) => logged.push(m), kernel, files);
    expect(logged).toEqual([
      `write ${mem("memory.limit_in_bytes")} ${128 << 20}`, // refused: above memsw
      `write ${mem("memory.memsw.limit_in_bytes")} ${256 << 20}`,
      `write ${mem("memory.limit_in_bytes")} ${128 << 20}`,
    ]);
    expect(readFileSync(mem("memory.limit_in_bytes"), "utf8")).toBe(String(128 << 20));
    expect(readFileSync(mem("memory.memsw.limit_in_bytes"), "utf8")).toBe(String(256 << 20));
  });

  test("planned against the current memsw, a growing limit needs one pass", () => {
    created({ memory: { limit: 32 << 20, swap: 64 << 20 } });
    const p = plan({ memory: { limit: 128 << 20, swap: 256 << 20 } });
    const logged: string[] = [];
    updateCgroups(p, (m) => logged.push(m), kernel, files);
    expect(logged.map((m) => m.split("/").pop())).toEqual([
      `memory.memsw.limit_in_bytes ${256 << 20}`,
      `memory.limit_in_bytes ${128 << 20}`,
    ]);
  });

  test("refused twice: a UserError naming the file, exit 1", () => {
    created({ memory: { limit: 32 << 20, swap: 64 << 20 } });
    const p = plan({ memory: { limit: 128 << 20 } }); // no memsw write: the limit stays above memsw
    let err: unknown;
    try {
      updateCgroups(p, undefined, kernel, files);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe(
      `update ${mem("memory.limit_in_bytes")} = ${128 << 20} (linux.resources.memory.limit (-m)): EINVAL`,
    );
    expect((err as UserError).exitCode).toBe(1);
    expect(readFileSync(mem("memory.limit_in_bytes"), "utf8")).toBe(String(32 << 20));
  });
});

describe("devices v1", () => {
  test("rules become devices.deny/allow lines in order", () => {
    const { v1DeviceWrites, deviceRuleLine } = require("../../src/cgroups/v1/devices.ts");
    const { DEFAULT_DEVICE_RULES } = require("../../src/config/defaults.ts");
    const w = v1DeviceWrites("/d", DEFAULT_DEVICE_RULES);
    expect(w[0]).toEqual({ path: "/d/devices.deny", value: "a" });
    expect(w[1]).toEqual({ path: "/d/devices.allow", value: "c *:* m" });
    expect(w.map((x: { value: string }) => x.value)).toContain("c 1:3 rwm");
    expect(w.at(-1)).toEqual({ path: "/d/devices.allow", value: "c 136:* rwm" });
    expect(deviceRuleLine({ allow: true, type: "b", major: 8, minor: 0, access: "r" })).toBe("b 8:0 r");
  });
});
