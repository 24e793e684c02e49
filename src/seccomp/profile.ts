// The OCI `linux.seccomp` object, checked and turned into numbers: actions as SECCOMP_RET_*
// values, argument values as 64-bit bigints. Every error names the field (linux.seccomp.…),
// following runc's reading of the spec where the spec is silent:
//   - errnoRet defaults to EPERM for SCMP_ACT_ERRNO and SCMP_ACT_TRACE, and is ignored elsewhere;
//   - a rule whose action is the default action is dropped (it could only shadow other rules);
//   - several args of one rule are ANDed, unless an argument index repeats: libseccomp can't
//     compare one argument twice in a rule, so runc then makes each arg a rule of its own (ORed).
import { UserError } from "../common/errors.ts";
import { KNOWN_ARCHES } from "./arch.ts";

export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;

import {
  SECCOMP_FILTER_FLAG_LOG,
  SECCOMP_FILTER_FLAG_NEW_LISTENER,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_TSYNC,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
} from "../sys/constants.ts";
import { EPERM } from "../sys/errno.ts";

const ACTIONS: Record<string, number> = {
  SCMP_ACT_KILL: SECCOMP_RET_KILL_THREAD,
  SCMP_ACT_KILL_THREAD: SECCOMP_RET_KILL_THREAD,
  SCMP_ACT_KILL_PROCESS: SECCOMP_RET_KILL_PROCESS,
  SCMP_ACT_TRAP: SECCOMP_RET_TRAP,
  SCMP_ACT_ERRNO: SECCOMP_RET_ERRNO,
  SCMP_ACT_TRACE: SECCOMP_RET_TRACE,
  SCMP_ACT_LOG: SECCOMP_RET_LOG,
  SCMP_ACT_ALLOW: SECCOMP_RET_ALLOW,
  SCMP_ACT_NOTIFY: SECCOMP_RET_USER_NOTIF,
};

const FLAGS: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: SECCOMP_FILTER_FLAG_TSYNC,
  SECCOMP_FILTER_FLAG_LOG: SECCOMP_FILTER_FLAG_LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: SECCOMP_FILTER_FLAG_SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
};

/** The seccomp filter flags the runtime-spec names, all of which mini applies (features). */
export const SECCOMP_FLAGS = Object.keys(FLAGS);
/** The actions mini compiles (features). */
export const SECCOMP_ACTIONS = Object.keys(ACTIONS);

export type Op =
  | "SCMP_CMP_NE"
  | "SCMP_CMP_LT"
  | "SCMP_CMP_LE"
  | "SCMP_CMP_EQ"
  | "SCMP_CMP_GE"
  | "SCMP_CMP_GT"
  | "SCMP_CMP_MASKED_EQ";
export const SECCOMP_OPERATORS = [
  "SCMP_CMP_NE",
  "SCMP_CMP_LT",
  "SCMP_CMP_LE",
  "SCMP_CMP_EQ",
  "SCMP_CMP_GE",
  "SCMP_CMP_GT",
  "SCMP_CMP_MASKED_EQ",
];
const OPS = new Set<string>(SECCOMP_OPERATORS);

/** args[index] op value; for MASKED_EQ: (args[index] & value) == valueTwo. */
export interface Cond {
  index: number;
  op: Op;
  value: bigint;
  valueTwo: bigint;
}
export interface Rule {
  action: number;
  conds: Cond[];
}

export interface Profile {
  defaultAction: number;
  /** Default action lets the call run (ALLOW, LOG, TRACE): no ENOSYS for newer syscalls. */
  permissiveDefault: boolean;
  /** defaultErrnoRet as given (runc adds no ENOSYS stub when it is ENOSYS). */
  defaultErrnoRet?: number;
  architectures: string[];
  /** SECCOMP_FILTER_FLAG_* bits; NEW_LISTENER when an action is SCMP_ACT_NOTIFY. */
  flags: number;
  /** Rules per syscall name, in the profile's order. */
  rules: Map<string, Rule[]>;
}

const U64_MAX = (1n << 64n) - 1n;
const fail = (path: string, msg: string): never => {
  throw new UserError(`${path}: ${msg}`);
};
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function array(v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(path, "must be an array");
  return v as unknown[];
}

function errnoRet(v: unknown, path: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffff)
    fail(path, `invalid errno ${JSON.stringify(v)}: use 0 to 65535`);
  return v as number;
}

function action(name: unknown, errno: number | undefined, path: string): number {
  const a = typeof name === "string" ? ACTIONS[name] : undefined;
  if (a === undefined) fail(path, name === undefined ? "missing" : `unknown action ${JSON.stringify(name)}`);
  if (a === SECCOMP_RET_ERRNO || a === SECCOMP_RET_TRACE) return (a! | (errno ?? EPERM)) >>> 0;
  return a!;
}

/** A uint64 from JSON: a number (2^64, JSON's rounding of 2^64-1, means 2^64-1), bigint or string. */
export function u64(v: unknown, path: string): bigint {
  let n: bigint | undefined;
  if (typeof v === "bigint") n = v;
  else if (typeof v === "number" && Number.isInteger(v) && v >= 0) {
    if (v === 2 ** 64) n = U64_MAX;
    else if (v > Number.MAX_SAFE_INTEGER)
      fail(path, `${v} is above 2^53 and was rounded when the JSON was read; write it as a string`);
    else n = BigInt(v);
  } else if (typeof v === "string" && /^(0x[0-9a-f]+|\d+)$/i.test(v.trim())) n = BigInt(v.trim());
  if (n === undefined || n < 0n || n > U64_MAX)
    fail(
      path,
      `invalid value ${JSON.stringify(typeof v === "bigint" ? String(v) : v)}: use an unsigned 64-bit integer`,
    );
  return n!;
}

function cond(v: unknown, path: string): Cond {
  if (!isObject(v)) fail(path, "must be an object");
  const a = v as Record<string, unknown>;
  if (typeof a.index !== "number" || !Number.isInteger(a.index) || a.index < 0 || a.index > 5)
    fail(`${path}.index`, `invalid index ${JSON.stringify(a.index)}: use 0 to 5`);
  if (typeof a.op !== "string" || !OPS.has(a.op))
    fail(`${path}.op`, a.op === undefined ? "missing" : `unknown operator ${JSON.stringify(a.op)}`);
  const value = u64(a.value, `${path}.value`);
  const valueTwo = a.valueTwo === undefined || a.valueTwo === null ? 0n : u64(a.valueTwo, `${path}.valueTwo`);
  return { index: a.index as number, op: a.op as Op, value, valueTwo };
}

/** Checks `seccomp` (the value of linux.seccomp) and turns it into numbers; errors name `path`. */
export function readProfile(seccomp: unknown, path = "linux.seccomp"): Profile {
  if (!isObject(seccomp)) fail(path, "must be an object");
  const s = seccomp as Record<string, unknown>;
  const defaultErrnoRet = errnoRet(s.defaultErrnoRet, `${path}.defaultErrnoRet`);
  const defaultAction = action(s.defaultAction, defaultErrnoRet, `${path}.defaultAction`);
  // The kernel would send every call of the container to the listener, runc's own too.
  if (defaultAction === SECCOMP_RET_USER_NOTIF)
    fail(`${path}.defaultAction`, "SCMP_ACT_NOTIFY can't be the default action");
  const permissive =
    [SECCOMP_RET_ALLOW, SECCOMP_RET_LOG].includes(defaultAction) ||
    (defaultAction & 0xffff0000) >>> 0 === SECCOMP_RET_TRACE;

  const architectures = array(s.architectures, `${path}.architectures`).map((a, i) => {
    if (typeof a !== "string" || !KNOWN_ARCHES.has(a))
      fail(`${path}.architectures[${i}]`, `unknown architecture ${JSON.stringify(a)}`);
    return a as string;
  });

  let flags = 0;
  array(s.flags, `${path}.flags`).forEach((f, i) => {
    const n = typeof f === "string" ? FLAGS[f] : undefined;
    if (n === undefined) fail(`${path}.flags[${i}]`, `unknown flag ${JSON.stringify(f)}`);
    flags |= n!;
  });

  const rules = new Map<string, Rule[]>();
  array(s.syscalls, `${path}.syscalls`).forEach((entry, i) => {
    const p = `${path}.syscalls[${i}]`;
    if (!isObject(entry)) fail(p, "must be an object");
    const e = entry as Record<string, unknown>;
    if (!Array.isArray(e.names))
      fail(`${p}.names`, e.names === undefined ? "missing" : "must be an array of syscall names");
    const names = (e.names as unknown[]).map((n, j) => {
      if (typeof n !== "string" || !n) fail(`${p}.names[${j}]`, `invalid syscall name ${JSON.stringify(n)}`);
      return n as string;
    });
    const act = action(e.action, errnoRet(e.errnoRet, `${p}.errnoRet`), `${p}.action`);
    const conds = array(e.args, `${p}.args`).map((a, j) => cond(a, `${p}.args[${j}]`));
    if (act === defaultAction) return;
    const indexRepeats = new Set(conds.map((c) => c.index)).size < conds.length;
    const list: Rule[] = indexRepeats ? conds.map((c) => ({ action: act, conds: [c] })) : [{ action: act, conds }];
    for (const name of names) {
      const r = rules.get(name);
      if (r) r.push(...list);
      else rules.set(name, [...list]);
    }
  });
  const notify = [...rules.values()].some((list) => list.some((r) => r.action === SECCOMP_RET_USER_NOTIF));
  if (notify) {
    flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    if (typeof s.listenerPath !== "string" || !s.listenerPath.startsWith("/"))
      fail(
        `${path}.listenerPath`,
        "an absolute path is required for SCMP_ACT_NOTIFY (the listener gets the notify fd)",
      );
  } else flags &= ~SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV; // meaningless without a listener (the kernel refuses it)
  return { defaultAction, permissiveDefault: permissive, defaultErrnoRet, architectures, flags, rules };
}
