// A small eBPF interpreter for the instructions mini emits (loads from the context, 32- and 64-bit
// ALU, conditional jumps, exit), with the structural checks the kernel's verifier makes first:
// every jump lands inside the program and goes forward, no register is read before it is written,
// the context is read in bounds, and every path ends in exit.
import type { Insn } from "../../src/cgroups/v2/devices.ts";

const CLASS = (c: number) => c & 0x07;
const LDX = 0x01;
const ALU = 0x04;
const JMP = 0x05;
const JMP32 = 0x06;
const ALU64 = 0x07;

export function verify(prog: Insn[], ctxSize: number): void {
  if (!prog.length) throw new Error("empty program");
  const last = prog[prog.length - 1]!;
  if (last.code !== 0x95) throw new Error("the program does not end in exit");
  prog.forEach((x, i) => {
    const cls = CLASS(x.code);
    if ((cls === JMP || cls === JMP32) && x.code !== 0x95) {
      const to = i + 1 + x.off;
      if (x.off < 0) throw new Error(`insn ${i}: backward jump`);
      if (to >= prog.length) throw new Error(`insn ${i}: jump out of the program to ${to}`);
    }
    if (cls === LDX && (x.off < 0 || x.off + 4 > ctxSize)) throw new Error(`insn ${i}: context read out of bounds`);
  });
}

/** Runs `prog` with r1 pointing at `ctx` (little-endian bytes); returns r0. */
export function run(prog: Insn[], ctx: Uint8Array): number {
  verify(prog, ctx.length);
  const view = new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength);
  const reg: (bigint | undefined)[] = new Array(11).fill(undefined);
  reg[1] = 0n; // the context pointer: only used as a base for loads
  reg[10] = 0n;
  const get = (r: number, i: number) => {
    const v = reg[r];
    if (v === undefined) throw new Error(`insn ${i}: r${r} read before it was written`);
    return v;
  };
  const U64 = (1n << 64n) - 1n;
  const U32 = (1n << 32n) - 1n;
  let pc = 0;
  for (let steps = 0; steps < 100000; steps++) {
    const x = prog[pc]!;
    const cls = CLASS(x.code);
    const op = x.code & 0xf0;
    const useX = (x.code & 0x08) !== 0;
    if (x.code === 0x95) return Number(get(0, pc) & U32);
    if (cls === LDX) {
      if (x.src !== 1) throw new Error(`insn ${pc}: load from r${x.src}, not the context`);
      const size = x.code & 0x18;
      if (size !== 0x00) throw new Error(`insn ${pc}: only 32-bit context loads are allowed`);
      reg[x.dst] = BigInt(view.getUint32(x.off, true));
      pc++;
      continue;
    }
    if (cls === ALU || cls === ALU64) {
      const mask = cls === ALU ? U32 : U64;
      const a = op === 0xb0 ? 0n : get(x.dst, pc) & mask;
      const b = (useX ? get(x.src, pc) : BigInt.asUintN(64, BigInt(x.imm))) & mask;
      let v: bigint;
      switch (op) {
        case 0x00:
          v = a + b;
          break;
        case 0x10:
          v = a - b;
          break;
        case 0x40:
          v = a | b;
          break;
        case 0x50:
          v = a & b;
          break;
        case 0x60:
          v = a << (b & 63n);
          break;
        case 0x70:
          v = a >> (b & 63n);
          break;
        case 0xa0:
          v = a ^ b;
          break;
        case 0xb0:
          v = b;
          break;
        default:
          throw new Error(`insn ${pc}: ALU op 0x${op.toString(16)} not supported`);
      }
      reg[x.dst] = v & mask;
      pc++;
      continue;
    }
    if (cls === JMP || cls === JMP32) {
      const mask = cls === JMP32 ? U32 : U64;
      let taken: boolean;
      if (op === 0x00) taken = true;
      else {
        const a = get(x.dst, pc) & mask;
        const b = (useX ? get(x.src, pc) : BigInt.asUintN(64, BigInt(x.imm))) & mask;
        switch (op) {
          case 0x10:
            taken = a === b;
            break;
          case 0x50:
            taken = a !== b;
            break;
          case 0x20:
            taken = a > b;
            break;
          case 0x30:
            taken = a >= b;
            break;
          case 0x40:
            taken = (a & b) !== 0n;
            break;
          default:
            throw new Error(`insn ${pc}: jump op 0x${op.toString(16)} not supported`);
        }
      }
      pc += 1 + (taken ? x.off : 0);
      continue;
    }
    throw new Error(`insn ${pc}: opcode 0x${x.code.toString(16)} not supported`);
  }
  throw new Error("the program did not end");
}

/** struct bpf_cgroup_dev_ctx for an access: type 'c'|'b', access "rwm" letters. */
export function devCtx(type: "c" | "b", major: number, minor: number, access: string): Uint8Array {
  const t = type === "b" ? 1 : 2;
  const a = (access.includes("m") ? 1 : 0) | (access.includes("r") ? 2 : 0) | (access.includes("w") ? 4 : 0);
  const buf = new Uint8Array(12);
  const v = new DataView(buf.buffer);
  v.setUint32(0, t | (a << 16), true);
  v.setUint32(4, major, true);
  v.setUint32(8, minor, true);
  return buf;
}
