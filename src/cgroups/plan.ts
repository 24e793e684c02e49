// planCgroups: spec resources + host layout → CgroupPlan (pure when readFile/exists/host are given).
//
// Hybrid-aware: each controller is used where the host mounts it. On a v1 (legacy or hybrid)
// host a setting whose controller no v1 hierarchy carries goes to the cgroup2 hierarchy when that
// offers the controller (hugetlb on a hybrid host); a setting no hierarchy can take is an error
// naming it, never dropped.

import { existsSync, readFileSync } from "node:fs";
import { posix } from "node:path";
import type { Resources } from "../config/types.ts";
import { UserError } from "../common/errors.ts";
import { detectMode, findHierarchies, type Hierarchy } from "./detect.ts";
import { checkIdsOnline, readHostFacts } from "./host.ts";
import { checkCgroupsPath, leafDir, missingDirs, nearestExisting } from "./paths.ts";
import {
  DEFAULT_ROOT,
  type CgroupLeaf,
  type CgroupPlan,
  type CgroupWrite,
  type HostFacts,
  type PlanInput,
} from "./types.ts";
import { askedControllers, joinsV1, v1Writes } from "./v1/controllers.ts";
import { availableV2, checkV2Supported, subtreeWrites, v2Writes } from "./v2/controllers.ts";
import { deviceProgram, encode } from "./v2/devices.ts";
import { deviceTransition, emulateRules, parseDevicesList } from "./v1/devices-update.ts";

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** The host facts given, the others read from /sys and uname when first asked for (most plans need none). */
function hostFacts(given: Partial<HostFacts> | undefined): HostFacts {
  let read: HostFacts | undefined;
  const host = () => (read ??= readHostFacts());
  return {
    get onlineCpus() {
      return given?.onlineCpus ?? host().onlineCpus;
    },
    get onlineMems() {
      return given?.onlineMems ?? host().onlineMems;
    },
    get hugePageSizes() {
      return given?.hugePageSizes ?? host().hugePageSizes;
    },
    get kernelRelease() {
      return given?.kernelRelease ?? host().kernelRelease;
    },
  };
}

/** Values the kernel would reject anyway (or that this host can't have), caught before anything is created. */
export function checkResources(r: Resources | undefined, host?: Partial<HostFacts>): void {
  if (!r) return;
  const bad = (what: string, v: number | string, rule: string) => {
    throw new UserError(`invalid ${what} ${v}: ${rule}`);
  };
  const m = r.memory;
  if (m?.limit !== undefined && m.limit < -1) bad("memory limit", m.limit, "use a byte count, or -1 for unlimited");
  if (m?.swap !== undefined && m.swap < -1) bad("memory+swap limit", m.swap, "use a byte count, or -1 for unlimited");
  if (m?.limit && m.limit > 0 && m.swap && m.swap > 0 && m.swap < m.limit) {
    throw new UserError("minimum memoryswap limit should be larger than memory limit");
  }
  if (m?.reservation !== undefined && m.reservation < -1)
    bad("memory reservation", m.reservation, "use a byte count, or -1 for none");
  if (m?.swappiness !== undefined && m.swappiness > 100) bad("memory swappiness", m.swappiness, "use 0 to 100");
  const c = r.cpu;
  if (c?.period && (c.period < 1000 || c.period > 1000000))
    bad("cpu period", c.period, "use 1000 to 1000000 microseconds");
  if (c?.quota && c.quota !== -1 && c.quota < 1000)
    bad("cpu quota", c.quota, "use at least 1000 microseconds, or -1 for unlimited");
  if (c?.shares !== undefined && c.shares < 0) bad("cpu shares", c.shares, "use a positive number");
  if (c?.realtimeRuntime !== undefined && c.realtimePeriod !== undefined && c.realtimeRuntime > c.realtimePeriod)
    bad("cpu real-time runtime", c.realtimeRuntime, `it must not exceed the real-time period (${c.realtimePeriod})`);
  const facts = hostFacts(host);
  if (c?.cpus) checkIdsOnline(c.cpus, facts.onlineCpus.trim(), "cpuset cpus");
  if (c?.mems) checkIdsOnline(c.mems, facts.onlineMems.trim(), "cpuset mems");
  const b = r.blockIO;
  const weight = (what: string, w: number | undefined) => {
    if (w !== undefined && w !== 0 && (w < 10 || w > 1000)) bad(what, w, "use 10 to 1000 (0 leaves it unset)");
  };
  weight("blkio weight", b?.weight);
  weight("blkio leaf weight", b?.leafWeight);
  for (const d of b?.weightDevice ?? []) {
    weight(`blkio weight of device ${d.major}:${d.minor}`, d.weight);
    weight(`blkio leaf weight of device ${d.major}:${d.minor}`, d.leafWeight);
  }
  for (const k of [
    "throttleReadBpsDevice",
    "throttleWriteBpsDevice",
    "throttleReadIOPSDevice",
    "throttleWriteIOPSDevice",
  ] as const)
    for (const d of b?.[k] ?? []) if (d.rate < 0) bad(`blkio ${k} rate of ${d.major}:${d.minor}`, d.rate, "use >= 0");
  if (r.hugepageLimits?.length) {
    const sizes = facts.hugePageSizes;
    for (const h of r.hugepageLimits) {
      if (!sizes.includes(h.pageSize))
        bad(
          "huge page size",
          h.pageSize,
          sizes.length ? `this host has ${sizes.join(", ")}` : "this host has no huge pages",
        );
      if (h.limit < 0) bad(`hugetlb ${h.pageSize} limit`, h.limit, "use a byte count");
    }
  }
  const n = r.network;
  if (n?.classID !== undefined && (n.classID < 0 || n.classID > 0xffffffff))
    bad("net_cls class id", n.classID, "use 0 to 4294967295");
  for (const p of n?.priorities ?? [])
    if (!/^[^\s/]{1,15}$/.test(p.name)) bad("net_prio interface", JSON.stringify(p.name), "use an interface name");
}

/** Where each asked-for v1 controller lives: its v1 hierarchy, or the cgroup2 one (`onUnified`). */
function placeV1(
  r: Resources | undefined,
  all: Hierarchy[],
  root: string,
  readFile: (p: string) => string | undefined,
  joinUnified: boolean,
): { hierarchies: Hierarchy[]; onUnified: Set<string> } {
  const v1 = all.filter((h) => !h.unified);
  const unified = all.find((h) => h.unified);
  const offered = unified ? availableV2(unified.mountpoint, readFile) : [];
  const onUnified = new Set<string>();
  for (const { controller, settings } of askedControllers(r)) {
    if (v1.some((h) => h.controllers.includes(controller.name))) continue;
    const v2 = controller.v2;
    if (unified && v2 && (v2 === "devices" || offered.includes(v2))) {
      onUnified.add(v2);
      continue;
    }
    const where = unified
      ? `no cgroup v1 hierarchy under ${root} has it, and ${unified.mountpoint}/cgroup.controllers does not offer ${v2 ?? "it"}`
      : `no cgroup v1 hierarchy under ${root} has it`;
    throw new UserError(
      `${settings.join(", ")}: the ${controller.name} cgroup controller is not mounted on this host (${where})`,
    );
  }
  const hierarchies = v1.filter((h) => joinsV1(h.controllers, r));
  // OCI containers are always in the hybrid host's cgroup2 hierarchy (runc's): their processes,
  // exec'd ones too, are found there by what reads it (systemd, eBPF programs, cgroup2 tools).
  if (unified && (joinUnified || onUnified.size)) hierarchies.push(unified);
  return { hierarchies, onUnified };
}

export function planCgroups(opts: PlanInput): CgroupPlan {
  const readFile = opts.readFile ?? readIfExists;
  const exists = opts.exists ?? existsSync;
  const r = opts.resources;
  const host = hostFacts(opts.host);
  checkResources(r, host);
  if (opts.mode === "v1" && r?.unified && Object.keys(r.unified).length) {
    throw new UserError("linux.resources.unified needs cgroup v2, and this host uses cgroup v1");
  }
  if (opts.mode === "v2") checkV2Supported(r);
  const root = posix.normalize(opts.root).replace(/(.)\/+$/, "$1");
  const path = checkCgroupsPath(opts.cgroupsPath || opts.name);
  const all = findHierarchies(opts.mode, root, opts.mountinfo, opts.selfCgroup);
  const { hierarchies, onUnified } =
    opts.mode === "v2"
      ? { hierarchies: all, onUnified: new Set<string>() }
      : placeV1(r, all, root, readFile, !!opts.joinUnified);
  if (hierarchies.length === 0) throw new UserError(`no cgroup hierarchies are mounted under ${root}`);

  const plan: CgroupPlan = { mode: opts.mode, root, dirs: [], writes: [], procs: [], leaves: [], warnings: [] };
  const created = new Set<string>();
  const placed: { leaf: CgroupLeaf; existing: string }[] = [];
  for (const h of hierarchies) {
    // A cgroup2 leaf goes beside the caller's cgroup (no-internal-process rule), on a hybrid host too.
    const dir = leafDir(h.unified ? "v2" : opts.mode, h, path);
    const leaf: CgroupLeaf = {
      hierarchy: h.key,
      controllers: h.unified && opts.mode === "v1" ? [...onUnified] : h.controllers,
      mountpoint: h.mountpoint,
      dir,
      unified: h.unified,
    };
    const existing = nearestExisting(h.mountpoint, dir, exists);
    for (const d of missingDirs(h.mountpoint, dir, exists)) {
      plan.dirs.push(d);
      created.add(d);
    }
    plan.leaves.push(leaf);
    plan.procs.push(`${dir}/cgroup.procs`);
    placed.push({ leaf, existing });
  }
  plan.writes = leafWrites(plan, placed, r, { created, readFile, exists, host, onUnified });
  const devicesOn = plan.leaves.find((l) => l.unified && (opts.mode === "v2" || onUnified.has("devices")));
  if (devicesOn && r?.devices?.length)
    plan.devices = { dir: devicesOn.dir, insns: Buffer.from(encode(deviceProgram(r.devices))).toString("base64") };
  return plan;
}

interface WriteContext {
  created: Set<string>;
  readFile: (path: string) => string | undefined;
  exists: (path: string) => boolean;
  host: HostFacts;
  onUnified: Set<string>;
}

/** The writes for leaves already placed: delegation and limits (v2), each hierarchy's files (v1). */
function leafWrites(
  plan: CgroupPlan,
  placed: { leaf: CgroupLeaf; existing: string }[],
  r: Resources | undefined,
  ctx: WriteContext,
): CgroupWrite[] {
  const writes: CgroupWrite[] = [];
  for (const { leaf, existing } of placed) {
    if (leaf.unified) {
      const only = plan.mode === "v2" ? undefined : ctx.onUnified;
      writes.push(
        ...subtreeWrites(leaf.dir, r, { root: leaf.mountpoint, created: ctx.created, readFile: ctx.readFile, only }),
      );
      writes.push(...v2Writes(leaf.dir, r, only));
    } else {
      writes.push(
        ...v1Writes(leaf, r, {
          created: ctx.created,
          readFile: ctx.readFile,
          exists: ctx.exists,
          existing,
          warnings: plan.warnings,
          kernelRelease: ctx.host.kernelRelease,
        }),
      );
    }
  }
  return writes;
}

/**
 * A plan that changes the limits of a container's existing cgroups (OCI and docker `update`):
 * the same leaves, the writes computed for `resources`, nothing to create. Independent of which
 * cgroup the updating process is in.
 */
export function planUpdate(
  recorded: CgroupPlan,
  resources: Resources,
  opts: {
    readFile?: (p: string) => string | undefined;
    exists?: (p: string) => boolean;
    host?: Partial<HostFacts>;
  } = {},
): CgroupPlan {
  const host = hostFacts(opts.host);
  checkResources(resources, host);
  if (recorded.mode === "v2") checkV2Supported(resources);
  const readFile = opts.readFile ?? readIfExists;
  const exists = opts.exists ?? existsSync;
  const plan: CgroupPlan = { ...recorded, dirs: [], writes: [], warnings: [], devices: undefined };
  const onUnified = new Set(recorded.leaves.find((l) => l.unified)?.controllers ?? []);
  for (const { controller, settings } of recorded.mode === "v1" ? askedControllers(resources) : []) {
    if (controller.name === "devices") continue;
    const onV1 = recorded.leaves.some((l) => !l.unified && l.controllers.includes(controller.name));
    if (!onV1 && !(controller.v2 && onUnified.has(controller.v2)))
      throw new UserError(
        `${settings.join(", ")}: the container has no ${controller.name} cgroup (it was created without it)`,
        1,
      );
  }
  const placed = recorded.leaves.map((leaf) => ({ leaf, existing: leaf.dir }));
  plan.writes = leafWrites(plan, placed, resources, { created: new Set(), readFile, exists, host, onUnified });
  if (resources.devices) {
    const leaf = recorded.leaves.find((l) => !l.unified && l.controllers.includes("devices"));
    if (!leaf)
      throw new UserError(
        "linux.resources.devices: updating device rules needs a v1 devices hierarchy (a cgroup v2 device program is set at create)",
        1,
      );
    const current = parseDevicesList(readFile(posix.join(leaf.dir, "devices.list")) ?? "");
    plan.deviceUpdate = deviceTransition(leaf.dir, current, emulateRules(resources.devices));
  }
  return plan;
}

export interface HostPlanOptions {
  name: string;
  cgroupsPath?: string;
  resources?: Resources;
  root?: string;
  joinUnified?: boolean;
}

/** planCgroups with this host's mode, mountinfo and /proc/self/cgroup, read now. */
export function planCgroupsOnHost(o: HostPlanOptions): CgroupPlan {
  const root = o.root ?? DEFAULT_ROOT;
  const mountinfo = readFileSync("/proc/self/mountinfo", "utf8");
  return planCgroups({
    name: o.name,
    cgroupsPath: o.cgroupsPath,
    resources: o.resources,
    root,
    mode: detectMode(root, mountinfo),
    mountinfo,
    selfCgroup: readFileSync("/proc/self/cgroup", "utf8"),
    joinUnified: o.joinUnified,
  });
}
