// Architectures a seccomp filter checks: the OCI/libseccomp names (SCMP_ARCH_*), their audit
// numbers (struct seccomp_data's arch field), syscall tables and argument width.
//
// As with libseccomp (and so runc), the native architecture is always in the filter and the
// profile's `architectures` add to it. x86_64 and x32 share AUDIT_ARCH_X86_64 and are told apart
// by __X32_SYSCALL_BIT in the syscall number: without x32 in the filter, such numbers get the
// bad-architecture action (except -1, which a tracer uses to skip a syscall), as libseccomp does.
import { SYSCALLS as AARCH64 } from "./tables/aarch64.ts";
import { SYSCALLS as I386 } from "./tables/i386.ts";
import { SYSCALLS as X32 } from "./tables/x32.ts";
import { SYSCALLS as X86_64 } from "./tables/x86_64.ts";

export const AUDIT_ARCH_X86_64 = 0xc000003e; // EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
export const AUDIT_ARCH_I386 = 0x40000003; // EM_386 | __AUDIT_ARCH_LE
export const AUDIT_ARCH_AARCH64 = 0xc00000b7; // EM_AARCH64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
export const X32_SYSCALL_BIT = 0x40000000;

/** One ABI: its syscall numbers (`nr`) and the part of the 32-bit number space they live in. */
export interface Abi {
  name: string;
  audit: number;
  /** 32: arguments compare on their low 32 bits only (as libseccomp does for 32-bit ABIs). */
  bits: 32 | 64;
  nr(name: string): number | undefined;
  lo: number;
  hi: number;
}

const table =
  (t: Readonly<Record<string, number>>, offset = 0) =>
  (name: string) =>
    Object.hasOwn(t, name) ? t[name] + offset : undefined;

const ABIS: Record<string, Abi> = {
  SCMP_ARCH_X86_64: {
    name: "SCMP_ARCH_X86_64",
    audit: AUDIT_ARCH_X86_64,
    bits: 64,
    nr: table(X86_64),
    lo: 0,
    hi: X32_SYSCALL_BIT - 1,
  },
  SCMP_ARCH_X32: {
    name: "SCMP_ARCH_X32",
    audit: AUDIT_ARCH_X86_64,
    bits: 32,
    nr: table(X32, X32_SYSCALL_BIT),
    lo: X32_SYSCALL_BIT,
    hi: 0xffffffff,
  },
  SCMP_ARCH_X86: { name: "SCMP_ARCH_X86", audit: AUDIT_ARCH_I386, bits: 32, nr: table(I386), lo: 0, hi: 0xffffffff },
  SCMP_ARCH_AARCH64: {
    name: "SCMP_ARCH_AARCH64",
    audit: AUDIT_ARCH_AARCH64,
    bits: 64,
    nr: table(AARCH64),
    lo: 0,
    hi: 0xffffffff,
  },
};

/** Names libseccomp (and runc) know; those without a table here are accepted and left out. */
export const KNOWN_ARCHES = new Set([
  ...Object.keys(ABIS),
  "SCMP_ARCH_ARM",
  "SCMP_ARCH_MIPS",
  "SCMP_ARCH_MIPS64",
  "SCMP_ARCH_MIPS64N32",
  "SCMP_ARCH_MIPSEL",
  "SCMP_ARCH_MIPSEL64",
  "SCMP_ARCH_MIPSEL64N32",
  "SCMP_ARCH_PPC",
  "SCMP_ARCH_PPC64",
  "SCMP_ARCH_PPC64LE",
  "SCMP_ARCH_RISCV64",
  "SCMP_ARCH_S390",
  "SCMP_ARCH_S390X",
  "SCMP_ARCH_LOONGARCH64",
  "SCMP_ARCH_M68K",
  "SCMP_ARCH_PARISC",
  "SCMP_ARCH_PARISC64",
  "SCMP_ARCH_SH",
  "SCMP_ARCH_SHEB",
]);

/** process.arch → the native ABI name. */
const NATIVE: Record<string, string> = { x64: "SCMP_ARCH_X86_64", arm64: "SCMP_ARCH_AARCH64" };

/** The ABIs sharing one audit arch value: one arch check, then one syscall-number search. */
export interface ArchGroup {
  audit: number;
  abis: Abi[];
  /** Numbers outside every ABI's range here: the bad-arch action (x86_64 without x32). */
  abiCheck: boolean;
}

/** The filter's architectures: native first, then the profile's, grouped by audit value. */
export function archGroups(nativeArch: string, listed: readonly string[]): ArchGroup[] {
  const native = NATIVE[nativeArch];
  if (!native) throw new Error(`seccomp: unsupported architecture ${nativeArch}`);
  const groups: ArchGroup[] = [];
  for (const name of [native, ...listed]) {
    const abi = ABIS[name];
    if (!abi) continue;
    let g = groups.find((x) => x.audit === abi.audit);
    if (!g) groups.push((g = { audit: abi.audit, abis: [], abiCheck: false }));
    if (!g.abis.includes(abi)) g.abis.push(abi);
  }
  for (const g of groups) g.abiCheck = g.audit === AUDIT_ARCH_X86_64 && g.abis.length === 1;
  return groups;
}
