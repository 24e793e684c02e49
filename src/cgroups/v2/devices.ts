// Device rules on cgroup v2: no devices.allow file, a BPF_PROG_TYPE_CGROUP_DEVICE program instead,
// built here as data (eBPF instructions) and attached to the leaf by apply.ts. The kernel runs it
// on every open and mknod of a device node by a process of the cgroup, with
//   struct bpf_cgroup_dev_ctx { u32 access_type; /* type | access << 16 */ u32 major; u32 minor; }
// and allows the access when it returns 1.
//
// Rules keep the devices-cgroup (v1) meaning: an "a" rule for everything resets the default
// (allow or deny) and forgets the rules before it; after that the last rule that matches
// decides, and an access no rule matches gets the default. An allow rule matches when it allows
// every access asked for; a deny rule when it denies any of them.

import type { DeviceRule } from "../../config/types.ts";
import { ALWAYS_ALLOWED_DEVICES } from "../../config/defaults.ts";

/** bpf_cgroup_dev_ctx values (linux/bpf.h). */
export const DEV_BLOCK = 1;
export const DEV_CHAR = 2;
export const ACC_MKNOD = 1;
export const ACC_READ = 2;
export const ACC_WRITE = 4;

/** One eBPF instruction as the kernel reads it. */
export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

// Opcodes (linux/bpf_common.h, linux/bpf.h): class | size/op | source.
export const OP = {
  LDXW: 0x61, // BPF_LDX | BPF_MEM | BPF_W
  AND32K: 0x54, // BPF_ALU | BPF_AND | BPF_K
  RSH32K: 0x74, // BPF_ALU | BPF_RSH | BPF_K
  MOV32X: 0xbc, // BPF_ALU | BPF_MOV | BPF_X
  MOV64K: 0xb7, // BPF_ALU64 | BPF_MOV | BPF_K
  JEQK: 0x15, // BPF_JMP | BPF_JEQ | BPF_K
  JNEK: 0x55, // BPF_JMP | BPF_JNE | BPF_K
  EXIT: 0x95, // BPF_JMP | BPF_EXIT
} as const;

const insn = (code: number, dst = 0, src = 0, off = 0, imm = 0): Insn => ({ code, dst, src, off, imm });

export function accessMask(access: string | undefined): number {
  const a = access || "rwm";
  return (a.includes("m") ? ACC_MKNOD : 0) | (a.includes("r") ? ACC_READ : 0) | (a.includes("w") ? ACC_WRITE : 0);
}

const isAll = (r: DeviceRule) => (!r.type || r.type === "a") && r.major === undefined && r.minor === undefined;
const wild = (n: number | undefined) => n === undefined || n < 0;

/** The rules that matter and the default: everything from the last "all devices" rule on. */
export function effectiveRules(rules: DeviceRule[]): { defaultAllow: boolean; rules: DeviceRule[] } {
  let defaultAllow = false;
  let from = 0;
  rules.forEach((r, i) => {
    if (isAll(r)) {
      defaultAllow = r.allow;
      from = i + 1;
    }
  });
  return { defaultAllow, rules: rules.slice(from) };
}

/** The checks of one rule, jumping to the end of its block when it does not match. */
function ruleBlock(r: DeviceRule): Insn[] {
  const checks: ((skip: number) => Insn[])[] = [];
  const type = r.type === "b" ? DEV_BLOCK : r.type === "c" ? DEV_CHAR : 0;
  if (type) checks.push((skip) => [insn(OP.JNEK, 2, 0, skip, type)]);
  const mask = accessMask(r.access);
  if (mask !== 7) {
    // allow: every access asked for is in the mask (r3 & ~mask == 0); deny: any is (r3 & mask != 0)
    checks.push((skip) => [
      insn(OP.MOV32X, 1, 3),
      insn(OP.AND32K, 1, 0, 0, r.allow ? ~mask & 7 : mask),
      insn(r.allow ? OP.JNEK : OP.JEQK, 1, 0, skip, 0),
    ]);
  }
  if (!wild(r.major)) checks.push((skip) => [insn(OP.JNEK, 4, 0, skip, r.major!)]);
  if (!wild(r.minor)) checks.push((skip) => [insn(OP.JNEK, 5, 0, skip, r.minor!)]);
  const verdict = [insn(OP.MOV64K, 0, 0, 0, r.allow ? 1 : 0), insn(OP.EXIT)];
  // Each check ends in its jump, which skips the rest of the block: the later checks and the verdict.
  const sizes = checks.map((c) => c(0).length);
  const out: Insn[] = [];
  checks.forEach((c, i) => {
    out.push(...c(sizes.slice(i + 1).reduce((a, b) => a + b, 0) + verdict.length));
  });
  return [...out, ...verdict];
}

/** The program for `rules` (plus the devices every container may use), as instructions. */
export function deviceProgram(rules: DeviceRule[]): Insn[] {
  const { defaultAllow, rules: eff } = effectiveRules([...rules, ...ALWAYS_ALLOWED_DEVICES]);
  const prologue = [
    insn(OP.LDXW, 2, 1, 0), // r2 = ctx->access_type
    insn(OP.AND32K, 2, 0, 0, 0xffff), // r2 = type
    insn(OP.LDXW, 3, 1, 0),
    insn(OP.RSH32K, 3, 0, 0, 16), // r3 = access
    insn(OP.LDXW, 4, 1, 4), // r4 = major
    insn(OP.LDXW, 5, 1, 8), // r5 = minor
  ];
  const blocks = [...eff].reverse().flatMap(ruleBlock); // the last rule first: it wins
  return [...prologue, ...blocks, insn(OP.MOV64K, 0, 0, 0, defaultAllow ? 1 : 0), insn(OP.EXIT)];
}

/** struct bpf_insn[]: 8 bytes each, little-endian. */
export function encode(insns: Insn[]): Uint8Array {
  const buf = new Uint8Array(insns.length * 8);
  const view = new DataView(buf.buffer);
  insns.forEach((x, i) => {
    view.setUint8(i * 8, x.code);
    view.setUint8(i * 8 + 1, ((x.src & 0xf) << 4) | (x.dst & 0xf));
    view.setInt16(i * 8 + 2, x.off, true);
    view.setInt32(i * 8 + 4, x.imm, true);
  });
  return buf;
}

export function decode(bytes: Uint8Array): Insn[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Insn[] = [];
  for (let i = 0; i + 8 <= bytes.length; i += 8) {
    const regs = view.getUint8(i + 1);
    out.push({
      code: view.getUint8(i),
      dst: regs & 0xf,
      src: regs >> 4,
      off: view.getInt16(i + 2, true),
      imm: view.getInt32(i + 4, true),
    });
  }
  return out;
}
