// Host facts a plan checks requests against: online CPUs and memory nodes, huge page sizes, the
// kernel's release. Read when a container is planned (CPUs go on- and offline while a host runs).

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { posix } from "node:path";
import { release } from "node:os";
import { UserError } from "../common/errors.ts";
import { detectMode } from "./detect.ts";
import { DEFAULT_ROOT, type HostFacts } from "./types.ts";

function read(path: string, fallback: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return fallback;
  }
}

/** "hugepages-2048kB" → "2MB", as the hugetlb controller names its files. */
export function hugePageName(kb: number): string {
  if (kb >= 1 << 20 && kb % (1 << 20) === 0) return `${kb >> 20}GB`;
  if (kb >= 1 << 10 && kb % (1 << 10) === 0) return `${kb >> 10}MB`;
  return `${kb}KB`;
}

export function readHostFacts(): HostFacts {
  let sizes: string[] = [];
  try {
    sizes = readdirSync("/sys/kernel/mm/hugepages")
      .map((n) => /^hugepages-(\d+)kB$/.exec(n))
      .filter((m) => m !== null)
      .map((m) => hugePageName(Number(m![1])));
  } catch {
    // no huge page support
  }
  return {
    onlineCpus: read("/sys/devices/system/cpu/online", "0"),
    onlineMems: read("/sys/devices/system/node/online", "0"),
    hugePageSizes: sizes,
    kernelRelease: release(),
  };
}

/** "0-3,7" → [0,1,2,3,7]; a UserError naming `what` when it is not a CPU/node list. */
export function parseIdList(text: string, what: string): number[] {
  const out = new Set<number>();
  const s = text.trim();
  if (!s) throw new UserError(`invalid ${what} "${text}": empty`);
  for (const part of s.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new UserError(`invalid ${what} "${text}": use numbers and ranges like 0-2,4`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b - a > 65536) throw new UserError(`invalid ${what} "${text}": bad range ${part}`);
    for (let i = a; i <= b; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}

/** Throws unless every id of `requested` is in `online`. */
export function checkIdsOnline(requested: string, online: string, what: string): void {
  const have = new Set(parseIdList(online, `host ${what}`));
  const missing = parseIdList(requested, what).filter((n) => !have.has(n));
  if (missing.length)
    throw new UserError(
      `invalid ${what} "${requested}": ${missing.join(",")} ${missing.length > 1 ? "are" : "is"} not online on this host (online: ${online})`,
    );
}

/** Kernel release "6.18.44-fc" → [6, 18]. */
export function kernelVersion(rel: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

/**
 * Whether the kernel accounts swap per cgroup (v1 memory.memsw.*, v2 memory.swap.max), so that a
 * memory+swap limit can be set. docker's -m alone asks for swap = 2 × memory only where it can.
 */
export function hasSwapAccounting(root: string = DEFAULT_ROOT): boolean {
  if (detectMode(root) === "v1") return existsSync(posix.join(root, "memory/memory.memsw.limit_in_bytes"));
  // v2: the root cgroup has no memory files; any cgroup below it shows whether swap is accounted.
  try {
    for (const d of readdirSync(root, { withFileTypes: true }))
      if (d.isDirectory() && existsSync(posix.join(root, d.name, "memory.current")))
        return existsSync(posix.join(root, d.name, "memory.swap.max"));
  } catch {
    // unreadable: assume not
  }
  return false;
}
