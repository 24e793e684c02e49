// Docker's seccomp profile format (what `docker run --security-opt seccomp=FILE` reads, e.g. moby's
// profiles/seccomp/default.json) → the OCI linux.seccomp object, resolved for one container the
// way docker does it: `archMap` picks the native arch and its sub-arches; a syscall entry applies
// only if its `includes` hold (all caps in the bounding set, the native arch listed, kernel ≥
// minKernel) and no `excludes` hold (any cap in the bounding set, the arch listed, kernel ≥ minKernel).
// A profile without these fields is already OCI and passes through unchanged.
import { release } from "node:os";
import { UserError } from "../common/errors.ts";
import type { LinuxSeccomp, LinuxSyscall } from "./types.ts";

interface Filter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}
type Json = Record<string, unknown>;

/** process.arch → docker's arch name (runtime.GOARCH style) and the matching archMap key. */
const DOCKER_ARCH: Record<string, [string, string]> = {
  x64: ["amd64", "SCMP_ARCH_X86_64"],
  arm64: ["arm64", "SCMP_ARCH_AARCH64"],
};

export interface ContainerFacts {
  /** process.arch style. */
  arch: string;
  /** The container's bounding capabilities (CAP_…). */
  bounding: readonly string[];
  /** Kernel release, e.g. "6.18.44" (default: this machine's). */
  kernel?: string;
}

export function isDockerProfile(p: unknown): boolean {
  if (typeof p !== "object" || p === null) return false;
  const o = p as Json;
  if ("archMap" in o) return true;
  return (
    Array.isArray(o.syscalls) &&
    o.syscalls.some((s) => typeof s === "object" && s !== null && ("includes" in s || "excludes" in s || "name" in s))
  );
}

/** "4.8" → [4, 8, 0]; undefined when it isn't a version. */
function version(v: string): number[] | undefined {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)] : undefined;
}

function atLeast(kernel: number[], min: string, path: string): boolean {
  const want = version(min);
  if (!want) throw new UserError(`${path}: invalid kernel version ${JSON.stringify(min)}`);
  for (let i = 0; i < 3; i++) if (kernel[i] !== want[i]) return kernel[i] > want[i];
  return true;
}

/** Converts a docker-format profile for this container; `where` prefixes error messages. */
export function fromDockerProfile(p: Json, facts: ContainerFacts, where = "seccomp profile"): LinuxSeccomp {
  const [dockerArch, scmpArch] = DOCKER_ARCH[facts.arch] ?? [facts.arch, ""];
  const kernel = version(facts.kernel ?? release()) ?? [0, 0, 0];
  const has = (list: unknown, s: string) => Array.isArray(list) && list.includes(s);
  if (Array.isArray(p.architectures) && p.architectures.length && Array.isArray(p.archMap) && p.archMap.length) {
    throw new UserError(`${where}: use either architectures or archMap, not both`);
  }
  const { archMap, syscalls, ...rest } = p;
  const out: Json = { ...rest };
  if (Array.isArray(archMap)) {
    const entry = archMap.find((a) => (a as Json)?.architecture === scmpArch) as Json | undefined;
    out.architectures = entry
      ? [scmpArch, ...(Array.isArray(entry.subArchitectures) ? entry.subArchitectures : [])]
      : [];
  }
  const kept: LinuxSyscall[] = [];
  (Array.isArray(syscalls) ? syscalls : []).forEach((s: Json, i) => {
    const path = `${where}: syscalls[${i}]`;
    const inc = (s.includes ?? {}) as Filter,
      exc = (s.excludes ?? {}) as Filter;
    if (has(exc.arches, dockerArch)) return;
    if ((exc.caps ?? []).some((c) => facts.bounding.includes(c))) return;
    if (exc.minKernel && atLeast(kernel, exc.minKernel, `${path}.excludes.minKernel`)) return;
    if (inc.arches?.length && !has(inc.arches, dockerArch)) return;
    if ((inc.caps ?? []).some((c) => !facts.bounding.includes(c))) return;
    if (inc.minKernel && !atLeast(kernel, inc.minKernel, `${path}.includes.minKernel`)) return;
    if (s.name !== undefined && s.names !== undefined)
      throw new UserError(`${path}: use either name or names, not both`);
    const { name, includes: _i, excludes: _e, comment: _c, ...call } = s;
    kept.push({ ...call, names: name !== undefined ? [name] : call.names } as LinuxSyscall);
  });
  out.syscalls = kept;
  return out as unknown as LinuxSeccomp;
}
