// A small classic-BPF assembler for seccomp filters: instructions with symbolic forward labels,
// conditional jumps whose targets are too far for the 8-bit jt/jf fields rewritten through
// `ja` trampolines (32-bit offset), and the encoding into struct sock_filter (8 bytes each:
// u16 code, u8 jt, u8 jf, u32 k, in the host's byte order; every arch mini supports is little-endian).

export const BPF_LD_W_ABS = 0x20; // A = *(u32 *)(seccomp_data + k)
export const BPF_ALU_AND_K = 0x54; // A &= k
export const BPF_JMP_JA = 0x05; // pc += k
export const BPF_JMP_JEQ_K = 0x15; // pc += (A == k) ? jt : jf
export const BPF_JMP_JGT_K = 0x25; // pc += (A > k) ? jt : jf   (unsigned)
export const BPF_JMP_JGE_K = 0x35; // pc += (A >= k) ? jt : jf  (unsigned)
export const BPF_RET_K = 0x06; // return k

/** The kernel refuses longer programs (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;

/** struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]. */
export const SECCOMP_DATA_NR = 0;
export const SECCOMP_DATA_ARCH = 4;
/** Offsets of the low and high 32-bit words of args[i] (little-endian). */
export const argLow = (i: number) => 16 + 8 * i;
export const argHigh = (i: number) => 16 + 8 * i + 4;

/** A forward jump target; placed with Builder.label(). */
export interface Label {
  readonly id: number;
}

/** A conditional jump's target: a label, or null for the next instruction. */
type Target = Label | null;

interface Insn {
  code: number;
  k: number;
  jt?: Target;
  jf?: Target;
}

export class Builder {
  private readonly insns: Insn[] = [];
  private readonly at: number[] = []; // label id → index of the instruction it precedes
  private nextLabel = 0;

  get length(): number {
    return this.insns.length;
  }

  label(): Label {
    this.at.push(-1);
    return { id: this.nextLabel++ };
  }

  /** Places `l` before the next instruction emitted. */
  place(l: Label): void {
    if (this.at[l.id] !== -1) throw new Error("internal: BPF label placed twice");
    this.at[l.id] = this.insns.length;
  }

  load(offset: number): void {
    this.insns.push({ code: BPF_LD_W_ABS, k: offset });
  }
  and(mask: number): void {
    this.insns.push({ code: BPF_ALU_AND_K, k: mask >>> 0 });
  }
  ret(value: number): void {
    this.insns.push({ code: BPF_RET_K, k: value >>> 0 });
  }
  jump(code: number, k: number, jt: Target, jf: Target): void {
    this.insns.push({ code, k: k >>> 0, jt, jf });
  }

  /** Resolves labels (adding trampolines where needed) and encodes the program. */
  assemble(): Uint8Array {
    const { insns, at } = this;
    const n = insns.length;
    const index = (t: Target, i: number): number => {
      if (t === null || t === undefined) return i + 1;
      const p = at[t.id];
      if (p === undefined || p < 0) throw new Error("internal: BPF label never placed");
      if (p <= i) throw new Error("internal: BPF jumps only forward");
      return p;
    };
    const isCond = (x: Insn) => x.jt !== undefined;
    // far[i]: which of jt/jf go through a trampoline. Only ever grows, so this settles.
    const farT = new Array<boolean>(n).fill(false),
      farF = new Array<boolean>(n).fill(false);
    const pos = new Array<number>(n + 1);
    for (;;) {
      let p = 0;
      for (let i = 0; i < n; i++) {
        pos[i] = p;
        p += 1 + (farT[i] ? 1 : 0) + (farF[i] ? 1 : 0);
      }
      pos[n] = p;
      let changed = false;
      for (let i = 0; i < n; i++) {
        if (!isCond(insns[i])) continue;
        const dt = pos[index(insns[i].jt!, i)] - pos[i] - 1,
          df = pos[index(insns[i].jf!, i)] - pos[i] - 1;
        if (!farT[i] && dt > 255) {
          farT[i] = true;
          changed = true;
        }
        if (!farF[i] && df > 255) {
          farF[i] = true;
          changed = true;
        }
      }
      if (!changed) break;
    }
    const total = pos[n];
    const out = new Uint8Array(total * 8);
    const view = new DataView(out.buffer);
    const put = (p: number, code: number, jt: number, jf: number, k: number) => {
      view.setUint16(p * 8, code, true);
      view.setUint8(p * 8 + 2, jt);
      view.setUint8(p * 8 + 3, jf);
      view.setUint32(p * 8 + 4, k >>> 0, true);
    };
    for (let i = 0; i < n; i++) {
      const x = insns[i];
      if (!isCond(x)) {
        put(pos[i], x.code, 0, 0, x.k);
        continue;
      }
      const t = pos[index(x.jt!, i)],
        f = pos[index(x.jf!, i)];
      let q = pos[i] + 1; // trampolines follow the jump: jt's first, then jf's
      let jt = t - pos[i] - 1,
        jf = f - pos[i] - 1;
      if (farT[i]) {
        jt = q - pos[i] - 1;
        put(q, BPF_JMP_JA, 0, 0, t - q - 1);
        q++;
      }
      if (farF[i]) {
        jf = q - pos[i] - 1;
        put(q, BPF_JMP_JA, 0, 0, f - q - 1);
        q++;
      }
      put(pos[i], x.code, jt, jf, x.k);
    }
    return out;
  }
}
