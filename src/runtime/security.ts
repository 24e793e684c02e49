// The child stage's last steps before execve: umask, rlimits, no_new_privs, capabilities, user.
//
// Order (runc's finalizeNamespace order; the reasons are kernel rules):
//   1. umask, rlimits     raising a hard limit needs CAP_SYS_RESOURCE, so before any drop.
//   2. no_new_privs       only affects execve; set early like runc, before a seccomp filter.
//   3. bounding set drop  PR_CAPBSET_DROP needs CAP_SETPCAP in the effective set, which the
//                         uid change below clears: so it must come first.
//   4. setgroups, setresgid, then setresuid between PR_SET_KEEPCAPS 1/0: a change of all uids
//      from 0 to non-zero clears permitted and effective unless keepcaps is set (it then clears
//      only effective); setgroups/setresgid need CAP_SETGID, so they precede setresuid.
//   5. capset(effective, permitted, inheritable): may only lower permitted; effective ⊆ permitted.
//   6. ambient raise: each cap must already be in permitted and inheritable, so after capset.
// Capability state is per thread: capset, PR_CAPBSET_DROP, keepcaps and no_new_privs change the
// calling thread only (glibc broadcasts setresuid/setresgid/setgroups to every thread). Call this
// on the thread that then calls execve (Bun's main JS thread); execve keeps that thread's creds.
// Seccomp: pass `loadSeccomp`; it runs last when no_new_privs is set, else before the capability
// drop (without no_new_privs loading a filter needs CAP_SYS_ADMIN), as runc does.
import { fstatSync, readFileSync, statSync, writeSync } from "node:fs";
import type { Capabilities, Process, Rlimit, User } from "../config/types.ts";
import { capName, capsToMask } from "../config/capabilities.ts";
import { fchown } from "../sys/fs-calls.ts";
import {
  capgetPermitted,
  capset,
  getrlimit,
  prctl,
  setgroups,
  setresgid,
  setresuid,
  setrlimit,
  umask,
} from "../sys/calls.ts";
import {
  PR_CAP_AMBIENT,
  PR_CAP_AMBIENT_CLEAR_ALL,
  PR_CAP_AMBIENT_RAISE,
  PR_CAPBSET_DROP,
  PR_CAPBSET_READ,
  PR_SET_KEEPCAPS,
  PR_SET_NO_NEW_PRIVS,
  RLIMIT,
} from "../sys/constants.ts";
import { EINVAL, EPERM } from "../sys/errno.ts";
import { SyscallError } from "../sys/error.ts";
import { UserError } from "../common/errors.ts";

const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

const hex = (m: bigint) => `0x${m.toString(16)}`;
const capLabel = (n: number) => capName(n) ?? `CAP_${n}`;

function withHint(e: unknown, hint: string): never {
  if (e instanceof Error) e.message += ` (${hint})`;
  throw e;
}

function applyUmask(mask: number = 0o022): void {
  umask(mask);
}

/** OCI rlimit value → rlim_t: negative or ≥ 2^63 (JSON's rounding of 2^64-1) means unlimited. */
function rlimValue(v: number): bigint {
  if (!Number.isFinite(v) || v < 0 || v >= 2 ** 63) return RLIM_INFINITY;
  return BigInt(Math.floor(v));
}

const fmtLimit = (v: bigint) => (v === RLIM_INFINITY ? "unlimited" : String(v));

/** `RLIMIT_NOFILE` or `nofile` → [canonical name, resource number]; unknown → UserError. */
export function rlimitResource(type: string): [string, number] {
  const name = type.toUpperCase().startsWith("RLIMIT_") ? type.toUpperCase() : `RLIMIT_${type.toUpperCase()}`;
  const n = RLIMIT[name];
  if (n === undefined) throw new UserError(`unknown rlimit type: ${type}`);
  return [name, n];
}

/** setrlimit for each entry (soft and hard); a hard limit above the current one fails clearly. */
function applyRlimits(rlimits: readonly Rlimit[] | undefined): void {
  for (const r of rlimits ?? []) {
    const [name, resource] = rlimitResource(r.type);
    const soft = rlimValue(r.soft),
      hard = rlimValue(r.hard);
    const what = `${name} ${fmtLimit(soft)}:${fmtLimit(hard)}`;
    if (soft > hard) throw new UserError(`setrlimit ${what}: soft limit is above the hard limit`);
    try {
      setrlimit(resource, soft, hard, name);
    } catch (e) {
      const errno = e instanceof SyscallError ? e.errno : EPERM;
      const err = new SyscallError("setrlimit", what, errno);
      const cur = getrlimit(resource).hard;
      if (errno === EPERM && hard > cur)
        withHint(err, `hard limit is ${fmtLimit(cur)}; raising it needs CAP_SYS_RESOURCE`);
      throw err;
    }
  }
}

function applyNoNewPrivileges(): void {
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, "PR_SET_NO_NEW_PRIVS");
}

/** The highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap, else probed). */
function capLastCap(): number {
  try {
    const n = Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8").trim());
    if (Number.isInteger(n) && n > 0 && n < 64) return n;
  } catch {
    /* no /proc: probe */
  }
  let n = 0;
  for (; n < 63; n++) {
    try {
      prctl(PR_CAPBSET_READ, n + 1);
    } catch (e) {
      if (e instanceof SyscallError && e.errno === EINVAL) break;
      throw e;
    }
  }
  return n;
}

/**
 * Drops from the bounding set every capability not named (needs CAP_SETPCAP: before applyUser).
 * Dropping one that is already gone succeeds, so there is nothing to read first.
 */
function dropBoundingSet(bounding: readonly string[] | undefined, lastCap = capLastCap()): void {
  const keep = capsToMask(bounding);
  for (let n = 0; n <= lastCap; n++) {
    if ((keep >> BigInt(n)) & 1n) continue;
    prctl(PR_CAPBSET_DROP, n, 0, () => `PR_CAPBSET_DROP ${capLabel(n)}`);
  }
}

/** True when this process may not call setgroups (a user namespace with setgroups "deny"). */
function setgroupsDenied(): boolean {
  try {
    return readFileSync("/proc/self/setgroups", "utf8").trim() === "deny";
  } catch {
    return false;
  }
}

/**
 * setgroups(additionalGids), setresgid(gid), then setresuid(uid) — with PR_SET_KEEPCAPS around
 * the uid change when `keepCaps`, so that capset afterwards can still grant from permitted.
 */
function applyUser(user: User, keepCaps = true): void {
  const groups = user.additionalGids ?? [];
  try {
    setgroups(groups);
  } catch (e) {
    if (!(groups.length === 0 && e instanceof SyscallError && e.errno === EPERM && setgroupsDenied())) throw e;
  }
  setresgid(user.gid);
  if (keepCaps) prctl(PR_SET_KEEPCAPS, 1, 0, "PR_SET_KEEPCAPS 1");
  setresuid(user.uid);
  if (keepCaps) prctl(PR_SET_KEEPCAPS, 0, 0, "PR_SET_KEEPCAPS 0");
}

/**
 * The process's stdio owned by its user (runc's fixStdioPermissions): its terminal (a pty of the
 * container's own devpts) or an engine's pipes and sockets, so a non-root process can use them.
 * Only the owner changes (the group stays devpts' "tty" or the pipe's). Anything else (the host's
 * terminal or files a caller's stdio may be) and ids the kernel can't map (EINVAL, EPERM in a user
 * namespace) are left alone.
 */
function fixStdioOwner(uid: number): void {
  let devpts: number | undefined;
  try {
    devpts = statSync("/dev/pts/ptmx").dev;
  } catch {
    /* no devpts of its own */
  }
  for (const fd of [0, 1, 2]) {
    let st: import("node:fs").Stats;
    try {
      st = fstatSync(fd);
    } catch {
      continue;
    }
    const ours = st.isFIFO() || st.isSocket() || (st.isCharacterDevice() && st.dev === devpts);
    if (st.uid === uid || !ours) continue;
    try {
      fchown(fd, uid, st.gid, `fd ${fd}`);
    } catch (e) {
      if (!(e instanceof SyscallError) || (e.errno !== EINVAL && e.errno !== EPERM)) throw e;
    }
  }
}

/**
 * Raises each ambient capability; one the kernel refuses (not in permitted and inheritable) is
 * warned about, as runc does, not fatal.
 */
function raiseAmbient(amb: bigint, lastCap: number, warn: (msg: string) => void): void {
  for (let n = 0; n <= lastCap; n++) {
    if (!((amb >> BigInt(n)) & 1n)) continue;
    try {
      prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, n, () => `PR_CAP_AMBIENT_RAISE ${capLabel(n)}`);
    } catch (e) {
      warn(`can't raise ambient capability ${capLabel(n)}: ${(e as Error).message}`);
    }
  }
}

/** capset(effective, permitted, inheritable), then the ambient set (cleared, then raised). */
function setCapabilities(caps: Capabilities, lastCap: number, warn: (msg: string) => void): void {
  // Names newer than the kernel are ignored, as runc does; so are capabilities this process
  // doesn't have itself (a host without CAP_SYS_RESOURCE can't grant it: "ALL" means all we have).
  const valid = ((1n << BigInt(lastCap + 1)) - 1n) & capgetPermitted();
  const eff = capsToMask(caps.effective) & valid,
    prm = capsToMask(caps.permitted) & valid;
  const inh = capsToMask(caps.inheritable) & valid,
    amb = capsToMask(caps.ambient) & valid;
  try {
    capset(eff, prm, inh);
  } catch (e) {
    const err =
      e instanceof SyscallError
        ? new SyscallError("capset", `effective=${hex(eff)} permitted=${hex(prm)} inheritable=${hex(inh)}`, e.errno)
        : e;
    withHint(err, "effective must be within permitted; permitted can only shrink");
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, "PR_CAP_AMBIENT_CLEAR_ALL");
  raiseAmbient(amb, lastCap, warn);
}

export interface SecurityOptions {
  /** Installs the seccomp filter; called at the point the kernel rules allow (see above). */
  loadSeccomp?: () => void;
  /** Where a warning goes (the runtime's log; stderr by default). */
  warn?: (msg: string) => void;
}

/** Everything above, in order, for the OCI process about to be exec'd. */
export function applyProcessSecurity(process: Process, opts: SecurityOptions = {}): void {
  const caps = process.capabilities;
  applyUmask(process.user.umask);
  applyRlimits(process.rlimits);
  if (process.noNewPrivileges) applyNoNewPrivileges();
  if (!process.noNewPrivileges) opts.loadSeccomp?.();
  const last = caps ? capLastCap() : 0;
  if (caps) dropBoundingSet(caps.bounding, last);
  fixStdioOwner(process.user.uid);
  applyUser(process.user, caps !== undefined);
  if (caps) setCapabilities(caps, last, opts.warn ?? ((m) => writeSync(2, `mini: warning: ${m}\n`)));
  if (process.noNewPrivileges) opts.loadSeccomp?.();
}
