// OCI linux.seccomp → a classic BPF program for seccomp(SECCOMP_SET_MODE_FILTER). Pure.
//
// Shape of the program:
//   load arch; one `jeq` per architecture in the filter; any other arch → kill the process
//   per arch: load nr; [x86_64 without x32: nr ≥ 0x40000000 → kill, except nr = -1 → default]
//     a binary search on nr over sorted intervals with one verdict each: `jge` nodes, leaves
//     that `ret` an action or test a syscall's argument rules (first matching rule wins, then the
//     syscall's unconditional action, then the default action).
// Intervals between named syscalls get the default action, except above the highest syscall
// number the profile names for an ABI: there, unless the default action lets calls run, the
// answer is ENOSYS (runc's "-ENOSYS stub"), so that libc falls back from syscalls newer than the
// profile (clone3, faccessat2, …) instead of failing with EPERM.
// Libseccomp's bad-arch action is SCMP_ACT_KILL (the thread); mini kills the whole process.
import { archGroups, type Abi, type ArchGroup } from "./arch.ts";
import * as B from "./bpf.ts";
import {
  readProfile,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  type Cond,
  type Profile,
  type Rule,
} from "./profile.ts";
import { ENOSYS } from "../sys/errno.ts";
import { UserError } from "../common/errors.ts";

export { readProfile };

export interface CompiledSeccomp {
  /** struct sock_filter[]: 8 bytes per instruction. */
  program: Uint8Array;
  /** SECCOMP_FILTER_FLAG_* bits named by the profile's `flags`. */
  flags: number;
}

const BAD_ARCH = SECCOMP_RET_KILL_PROCESS;
const U32_MAX = 0xffffffff;

type Verdict = { ret: number } | { rules: Rule[]; otherwise: number; bits: 32 | 64 };
interface Interval {
  lo: number;
  verdict: Verdict;
}

/** The verdict for one syscall number: its rules in order, its unconditional action, the default. */
function syscallVerdict(rules: Rule[], def: number, bits: 32 | 64): Verdict {
  const plain = rules.find((r) => r.conds.length === 0);
  const otherwise = plain ? plain.action : def;
  // A conditional rule with the unconditional rule's action changes nothing (libseccomp drops it).
  const conditional = rules.filter((r) => r.conds.length > 0 && r.action !== otherwise);
  return conditional.length ? { rules: conditional, otherwise, bits } : { ret: otherwise };
}

/** Sorted intervals covering 0..2^32-1 for one architecture group. */
function intervals(g: ArchGroup, p: Profile): Interval[] {
  const enosys = !p.permissiveDefault && p.defaultErrnoRet !== ENOSYS;
  const points = new Map<number, { abi: Abi; rules: Rule[] }>();
  const highest = new Map<Abi, number>();
  for (const [name, rules] of p.rules) {
    for (const abi of g.abis) {
      const nr = abi.nr(name);
      if (nr === undefined) continue; // unknown here: skipped, as runc does
      const pt = points.get(nr);
      if (pt) pt.rules.push(...rules);
      else points.set(nr, { abi, rules: [...rules] });
      highest.set(abi, Math.max(highest.get(abi) ?? -1, nr));
    }
  }
  const gap = (nr: number): number => {
    if (!enosys) return p.defaultAction;
    const abi = g.abis.find((a) => nr >= a.lo && nr <= a.hi);
    const top = abi && highest.get(abi);
    return top !== undefined && nr > top ? (SECCOMP_RET_ERRNO | ENOSYS) >>> 0 : p.defaultAction;
  };
  const cuts = new Set<number>([0]);
  for (const a of g.abis) {
    cuts.add(a.lo);
    const top = highest.get(a);
    if (top !== undefined && top < a.hi) cuts.add(top + 1);
  }
  for (const nr of points.keys()) {
    cuts.add(nr);
    if (nr < U32_MAX) cuts.add(nr + 1);
  }
  const out: Interval[] = [];
  for (const lo of [...cuts].sort((a, b) => a - b)) {
    const pt = points.get(lo);
    const verdict = pt ? syscallVerdict(pt.rules, p.defaultAction, pt.abi.bits) : { ret: gap(lo) };
    const prev = out.at(-1)?.verdict;
    if (prev && "ret" in prev && "ret" in verdict && prev.ret === verdict.ret) continue;
    out.push({ lo, verdict });
  }
  return out;
}

/** Falls through when the condition holds, jumps to `no` when it doesn't. */
function emitCond(b: B.Builder, c: Cond, bits: 32 | 64, no: B.Label): void {
  const split = (v: bigint) => [Number((v >> 32n) & 0xffffffffn), Number(v & 0xffffffffn)] as const;
  const yes = b.label();
  const { JEQ, JGT, JGE } = { JEQ: B.BPF_JMP_JEQ_K, JGT: B.BPF_JMP_JGT_K, JGE: B.BPF_JMP_JGE_K };
  if (c.op === "SCMP_CMP_MASKED_EQ") {
    const [mh, ml] = split(c.value),
      [dh, dl] = split(c.valueTwo & c.value);
    if (bits === 64) {
      b.load(B.argHigh(c.index));
      b.and(mh);
      b.jump(JEQ, dh, null, no);
    }
    b.load(B.argLow(c.index));
    b.and(ml);
    b.jump(JEQ, dl, null, no);
    b.place(yes);
    return;
  }
  const [vh, vl] = split(c.value);
  // 64-bit: decide on the high words unless they are equal, then on the low words.
  const high = (gt: B.Label | null, lt: B.Label | null) => {
    if (bits === 32) return;
    b.load(B.argHigh(c.index));
    b.jump(JGT, vh, gt, null);
    b.jump(JEQ, vh, null, lt);
  };
  switch (c.op) {
    case "SCMP_CMP_EQ":
      if (bits === 64) {
        b.load(B.argHigh(c.index));
        b.jump(JEQ, vh, null, no);
      }
      b.load(B.argLow(c.index));
      b.jump(JEQ, vl, null, no);
      break;
    case "SCMP_CMP_NE":
      if (bits === 64) {
        b.load(B.argHigh(c.index));
        b.jump(JEQ, vh, null, yes);
      }
      b.load(B.argLow(c.index));
      b.jump(JEQ, vl, no, null);
      break;
    case "SCMP_CMP_GT":
      high(yes, no);
      b.load(B.argLow(c.index));
      b.jump(JGT, vl, null, no);
      break;
    case "SCMP_CMP_GE":
      high(yes, no);
      b.load(B.argLow(c.index));
      b.jump(JGE, vl, null, no);
      break;
    case "SCMP_CMP_LT":
      high(no, yes);
      b.load(B.argLow(c.index));
      b.jump(JGE, vl, no, null);
      break;
    case "SCMP_CMP_LE":
      high(no, yes);
      b.load(B.argLow(c.index));
      b.jump(JGT, vl, no, null);
      break;
  }
  b.place(yes);
}

function emitLeaf(b: B.Builder, v: Verdict): void {
  if ("ret" in v) {
    b.ret(v.ret);
    return;
  }
  for (const rule of v.rules) {
    const next = b.label();
    for (const c of rule.conds) emitCond(b, c, v.bits, next);
    b.ret(rule.action);
    b.place(next);
  }
  b.ret(v.otherwise);
}

/** Binary search over the intervals; the syscall number is in A. */
function emitTree(b: B.Builder, list: Interval[]): void {
  if (list.length === 1) {
    emitLeaf(b, list[0].verdict);
    return;
  }
  const mid = list.length >> 1;
  const right = b.label();
  b.jump(B.BPF_JMP_JGE_K, list[mid].lo, right, null);
  emitTree(b, list.slice(0, mid));
  b.place(right);
  emitTree(b, list.slice(mid));
}

function emitGroup(b: B.Builder, g: ArchGroup, p: Profile): void {
  b.load(B.SECCOMP_DATA_NR);
  if (g.abiCheck) {
    // One ABI of a shared audit arch (x86_64 without x32, or the reverse): numbers outside its
    // range belong to the other ABI. -1 (a tracer skipping the call) gets the default action.
    const [{ lo, hi }] = g.abis;
    const inRange = b.label(),
      outside = b.label();
    if (hi < U32_MAX) b.jump(B.BPF_JMP_JGE_K, hi + 1, outside, inRange);
    else b.jump(B.BPF_JMP_JGE_K, lo, inRange, outside);
    b.place(outside);
    const bad = b.label();
    b.jump(B.BPF_JMP_JEQ_K, U32_MAX, null, bad);
    b.ret(p.defaultAction);
    b.place(bad);
    b.ret(BAD_ARCH);
    b.place(inRange);
    b.load(B.SECCOMP_DATA_NR);
  }
  emitTree(b, intervals(g, p));
}

/** Compiles an OCI LinuxSeccomp object for `arch` (process.arch style: x64, arm64). */
export function compileSeccomp(profile: unknown, arch: string = process.arch): CompiledSeccomp {
  const p = readProfile(profile);
  const groups = archGroups(arch, p.architectures);
  const b = new B.Builder();
  b.load(B.SECCOMP_DATA_ARCH);
  const labels = groups.map(() => b.label());
  groups.forEach((g, i) => {
    b.jump(B.BPF_JMP_JEQ_K, g.audit, labels[i], null);
  });
  b.ret(BAD_ARCH);
  groups.forEach((g, i) => {
    b.place(labels[i]);
    emitGroup(b, g, p);
  });
  const program = b.assemble();
  const n = program.length / 8;
  if (n > B.BPF_MAXINSNS)
    throw new UserError(
      `linux.seccomp: the profile compiles to ${n} BPF instructions, above the kernel's limit of ${B.BPF_MAXINSNS}`,
    );
  return { program, flags: p.flags };
}
