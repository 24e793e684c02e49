// A small classic-BPF interpreter that behaves like the kernel's seccomp checker (forward jumps
// only, A and X registers, loads from struct seccomp_data), for tests that run compiled filters.
import { expect } from "bun:test";
import { AUDIT_ARCH_X86_64 } from "../../src/seccomp/arch.ts";

export const ALLOW = 0x7fff0000;
export const ERRNO = (e: number) => (0x00050000 | e) >>> 0;

export interface Call {
  nr: number;
  arch?: number;
  args?: (number | bigint)[];
}

/** Runs a seccomp BPF program on one seccomp_data; returns the filter's 32-bit verdict. */
export function run(program: Uint8Array, c: Call): number {
  const data = new DataView(new ArrayBuffer(64));
  data.setUint32(0, c.nr >>> 0, true);
  data.setUint32(4, c.arch ?? AUDIT_ARCH_X86_64, true);
  data.setBigUint64(8, 0x401000n, true);
  (c.args ?? []).forEach((a, i) => {
    data.setBigUint64(16 + 8 * i, BigInt.asUintN(64, BigInt(a)), true);
  });
  const prog = new DataView(program.buffer, program.byteOffset, program.byteLength);
  const n = program.byteLength / 8;
  expect(program.byteLength % 8).toBe(0);
  expect(n).toBeLessThanOrEqual(4096);
  let A = 0,
    X = 0;
  for (let pc = 0, steps = 0; pc < n; pc++, steps++) {
    if (steps > n) throw new Error("loop");
    const code = prog.getUint16(pc * 8, true),
      jt = prog.getUint8(pc * 8 + 2),
      jf = prog.getUint8(pc * 8 + 3),
      k = prog.getUint32(pc * 8 + 4, true);
    switch (code) {
      case 0x20: // ld [k]
        if (k % 4 || k > 60) throw new Error(`bad load offset ${k}`);
        A = data.getUint32(k, true);
        break;
      case 0x54:
        A = (A & k) >>> 0;
        break; // and #k
      case 0x05:
        pc += k;
        break; // ja
      case 0x15:
        pc += A === k ? jt : jf;
        break;
      case 0x25:
        pc += A > k ? jt : jf;
        break;
      case 0x35:
        pc += A >= k ? jt : jf;
        break;
      case 0x45:
        pc += (A & k) !== 0 ? jt : jf;
        break;
      case 0x06:
        return k; // ret #k
      case 0x16:
        return A; // ret a
      case 0x07:
        X = A;
        break; // tax
      case 0x87:
        A = X;
        break; // txa
      default:
        throw new Error(`unknown BPF opcode 0x${code.toString(16)} at ${pc}`);
    }
    if (pc >= n) throw new Error("jump past the end");
  }
  throw new Error("fell off the end of the program");
}
