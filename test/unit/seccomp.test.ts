// compileSeccomp: the programs it makes, run on a small classic-BPF interpreter that behaves like
// the kernel's seccomp checker (./seccomp-bpf.ts).
import { describe, expect, test } from "bun:test";
import { compileSeccomp, readProfile } from "../../src/seccomp/compile.ts";
import { AUDIT_ARCH_AARCH64, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT } from "../../src/seccomp/arch.ts";
import { SYSCALLS as X86_64 } from "../../src/seccomp/tables/x86_64.ts";
import { SYSCALLS as I386 } from "../../src/seccomp/tables/i386.ts";
import { SYSCALLS as X32 } from "../../src/seccomp/tables/x32.ts";
import { SYSCALLS as AARCH64 } from "../../src/seccomp/tables/aarch64.ts";
import { fromDockerProfile, isDockerProfile } from "../../src/config/seccomp-docker-profile.ts";
import { readSeccompProfile } from "../../src/config/from-flags.ts";
import { type Call, run } from "./seccomp-bpf.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ALLOW = 0x7fff0000,
  KILL_PROCESS = 0x80000000,
  KILL_THREAD = 0,
  TRAP = 0x00030000,
  LOG = 0x7ffc0000;
const ERRNO = (e: number) => (0x00050000 | e) >>> 0;
const TRACE = (d: number) => (0x7ff00000 | d) >>> 0;
const EPERM = 1,
  ENOSYS = 38;

const opcodes = (p: Uint8Array) => Array.from({ length: p.length / 8 }, (_, i) => p[i * 8] | (p[i * 8 + 1] << 8));
const nr = (name: string) => X86_64[name];
const verdict = (profile: unknown, c: Call, arch = "x64") => run(compileSeccomp(profile, arch).program, c);

describe("allow and deny lists", () => {
  const allowList = {
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: 1,
    syscalls: [{ names: ["read", "write", "exit_group", "openat", "not_a_syscall"], action: "SCMP_ACT_ALLOW" }],
  };
  test("allow list with default errno", () => {
    for (const s of ["read", "write", "exit_group", "openat"]) expect(verdict(allowList, { nr: nr(s) })).toBe(ALLOW);
    for (const s of ["mkdir", "close", "execve"]) expect(verdict(allowList, { nr: nr(s) })).toBe(ERRNO(EPERM));
    expect(verdict(allowList, { nr: nr("mkdirat") })).toBe(ERRNO(ENOSYS)); // above openat, the highest named
  });
  test("defaultErrnoRet applies, and EPERM without it", () => {
    expect(verdict({ ...allowList, defaultErrnoRet: 13 }, { nr: nr("close") })).toBe(ERRNO(13));
    expect(verdict({ ...allowList, defaultErrnoRet: undefined }, { nr: nr("close") })).toBe(ERRNO(EPERM));
  });
  const denyList = {
    defaultAction: "SCMP_ACT_ALLOW",
    syscalls: [
      { names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 },
      { names: ["reboot"], action: "SCMP_ACT_KILL_PROCESS" },
      { names: ["swapon"], action: "SCMP_ACT_KILL" },
      { names: ["swapoff"], action: "SCMP_ACT_KILL_THREAD" },
      { names: ["ptrace"], action: "SCMP_ACT_TRAP" },
      { names: ["chroot"], action: "SCMP_ACT_LOG" },
      { names: ["acct"], action: "SCMP_ACT_TRACE", errnoRet: 7 },
      { names: ["umount2"], action: "SCMP_ACT_TRACE" },
      { names: ["sethostname"], action: "SCMP_ACT_ERRNO" },
    ],
  };
  test("deny list with default allow; every action", () => {
    expect(verdict(denyList, { nr: nr("mkdir") })).toBe(ERRNO(1));
    expect(verdict(denyList, { nr: nr("mkdirat") })).toBe(ERRNO(1));
    expect(verdict(denyList, { nr: nr("reboot") })).toBe(KILL_PROCESS);
    expect(verdict(denyList, { nr: nr("swapon") })).toBe(KILL_THREAD);
    expect(verdict(denyList, { nr: nr("swapoff") })).toBe(KILL_THREAD);
    expect(verdict(denyList, { nr: nr("ptrace") })).toBe(TRAP);
    expect(verdict(denyList, { nr: nr("chroot") })).toBe(LOG);
    expect(verdict(denyList, { nr: nr("acct") })).toBe(TRACE(7));
    expect(verdict(denyList, { nr: nr("umount2") })).toBe(TRACE(EPERM));
    expect(verdict(denyList, { nr: nr("sethostname") })).toBe(ERRNO(EPERM));
    for (const s of ["read", "rmdir", "open", "clone3", "fchmodat2"])
      expect(verdict(denyList, { nr: nr(s) })).toBe(ALLOW);
    expect(verdict(denyList, { nr: 1000 })).toBe(ALLOW);
  });
  test("an empty profile is the default action for everything", () => {
    const p = { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 5 };
    for (const n of [0, 1, 59, 435, 5000]) expect(verdict(p, { nr: n })).toBe(ERRNO(5));
  });
  test("every syscall number gets the answer its table says", () => {
    const names = Object.keys(X86_64).filter((_, i) => i % 3 === 0);
    const p = { defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names, action: "SCMP_ACT_ALLOW" }] };
    const prog = compileSeccomp(p, "x64").program;
    const allowed = new Set(names.map((n) => X86_64[n]));
    const top = Math.max(...allowed);
    for (let n = 0; n <= top + 5; n++)
      expect(run(prog, { nr: n })).toBe(allowed.has(n) ? ALLOW : n > top ? ERRNO(ENOSYS) : ERRNO(EPERM));
  });
});

describe("argument comparisons", () => {
  const rule = (op: string, value: number | bigint | string, extra: object = {}) => ({
    defaultAction: "SCMP_ACT_ALLOW",
    syscalls: [
      { names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: 22, args: [{ index: 0, value, op, ...extra }] },
    ],
  });
  const check = (p: unknown, arg: number | bigint) => verdict(p, { nr: nr("personality"), args: [arg] }) === ERRNO(22);
  const big = 2n ** 32n + 5n; // high word 1, low word 5
  const samples = [
    0n,
    1n,
    4n,
    5n,
    6n,
    0xffffffffn,
    2n ** 32n,
    big - 1n,
    big,
    big + 1n,
    2n ** 33n + 5n,
    2n ** 63n,
    2n ** 64n - 1n,
  ];
  const cases: [string, (a: bigint, v: bigint) => boolean][] = [
    ["SCMP_CMP_EQ", (a, v) => a === v],
    ["SCMP_CMP_NE", (a, v) => a !== v],
    ["SCMP_CMP_LT", (a, v) => a < v],
    ["SCMP_CMP_LE", (a, v) => a <= v],
    ["SCMP_CMP_GT", (a, v) => a > v],
    ["SCMP_CMP_GE", (a, v) => a >= v],
  ];
  for (const [op, want] of cases)
    test(`${op} on 64-bit values`, () => {
      for (const v of [5n, big, 0n, 2n ** 64n - 1n, 0xffffffffn]) {
        const p = rule(op, v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : String(v));
        for (const a of samples) expect([op, v, a, check(p, a)]).toEqual([op, v, a, want(a, v)]);
      }
    });
  test("SCMP_CMP_MASKED_EQ: (arg & value) == valueTwo, on both words", () => {
    const p = rule("SCMP_CMP_MASKED_EQ", "0xff000000ff", { valueTwo: 2 ** 32 + 0x12 });
    expect(check(p, 0x12)).toBe(false); // high byte differs
    expect(check(p, 2n ** 32n + 0x12n)).toBe(true);
    expect(check(p, 0xabn * 2n ** 40n + 2n ** 32n + 0x3400n + 0x12n)).toBe(true); // bits outside the mask ignored
    expect(check(p, 2n ** 33n + 0x12n)).toBe(false);
    // docker's clone rule: no namespace flags (mask 0x7E020000, datum 0)
    const clone = rule("SCMP_CMP_MASKED_EQ", 2114060288, { valueTwo: 0 });
    expect(check(clone, 0x11n)).toBe(true);
    expect(check(clone, 0x10000000n)).toBe(false); // CLONE_NEWUSER
    expect(check(clone, 2n ** 40n)).toBe(true);
  });
  test("several args in one rule are ANDed", () => {
    const p = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        {
          names: ["kill"],
          action: "SCMP_ACT_ERRNO",
          args: [
            { index: 0, value: 1, op: "SCMP_CMP_EQ" },
            { index: 1, value: 9, op: "SCMP_CMP_EQ" },
          ],
        },
      ],
    };
    expect(verdict(p, { nr: nr("kill"), args: [1, 9] })).toBe(ERRNO(EPERM));
    expect(verdict(p, { nr: nr("kill"), args: [1, 15] })).toBe(ALLOW);
    expect(verdict(p, { nr: nr("kill"), args: [2, 9] })).toBe(ALLOW);
  });
  test("several rules for one syscall are ORed; the first that matches decides", () => {
    const p = {
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [
        { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 0, op: "SCMP_CMP_EQ" }] },
        { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }] },
        {
          names: ["personality", "read"],
          action: "SCMP_ACT_ERRNO",
          errnoRet: 9,
          args: [{ index: 0, value: 0xffffffff, op: "SCMP_CMP_EQ" }],
        },
      ],
    };
    expect(verdict(p, { nr: nr("personality"), args: [0] })).toBe(ALLOW);
    expect(verdict(p, { nr: nr("personality"), args: [8] })).toBe(ALLOW);
    expect(verdict(p, { nr: nr("personality"), args: [0xffffffff] })).toBe(ERRNO(9));
    expect(verdict(p, { nr: nr("personality"), args: [4] })).toBe(ERRNO(EPERM));
    expect(verdict(p, { nr: nr("read"), args: [0xffffffff] })).toBe(ERRNO(9));
    expect(verdict(p, { nr: nr("read"), args: [3] })).toBe(ERRNO(EPERM));
  });
  test("a repeated arg index splits the rule into ORed rules (runc)", () => {
    const p = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        {
          names: ["kill"],
          action: "SCMP_ACT_ERRNO",
          args: [
            { index: 1, value: 9, op: "SCMP_CMP_EQ" },
            { index: 1, value: 19, op: "SCMP_CMP_EQ" },
          ],
        },
      ],
    };
    expect(verdict(p, { nr: nr("kill"), args: [1, 9] })).toBe(ERRNO(EPERM));
    expect(verdict(p, { nr: nr("kill"), args: [1, 19] })).toBe(ERRNO(EPERM));
    expect(verdict(p, { nr: nr("kill"), args: [1, 15] })).toBe(ALLOW);
  });
  test("conditional rules come before the syscall's unconditional rule", () => {
    const p = {
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [
        { names: ["socket"], action: "SCMP_ACT_ALLOW" },
        {
          names: ["socket"],
          action: "SCMP_ACT_ERRNO",
          errnoRet: 97,
          args: [{ index: 0, value: 40, op: "SCMP_CMP_EQ" }],
        },
      ],
    };
    expect(verdict(p, { nr: nr("socket"), args: [40] })).toBe(ERRNO(97));
    expect(verdict(p, { nr: nr("socket"), args: [2] })).toBe(ALLOW);
  });
  test("rules with the default action are dropped (runc)", () => {
    const p = {
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [
        { names: ["personality"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }] },
        { names: ["personality"], action: "SCMP_ACT_ALLOW" },
      ],
    };
    expect(verdict(p, { nr: nr("personality"), args: [1] })).toBe(ALLOW);
  });
});

describe("architectures", () => {
  const p = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }] };
  test("a foreign arch kills the process", () => {
    expect(verdict(p, { nr: nr("read"), arch: AUDIT_ARCH_I386 })).toBe(KILL_PROCESS);
    expect(verdict(p, { nr: nr("read"), arch: AUDIT_ARCH_AARCH64 })).toBe(KILL_PROCESS);
    expect(verdict(p, { nr: 0, arch: 0 })).toBe(KILL_PROCESS);
  });
  test("x32 numbers are a foreign ABI unless x32 is listed; -1 is not", () => {
    expect(verdict(p, { nr: X32_SYSCALL_BIT + X32.mkdir })).toBe(KILL_PROCESS);
    expect(verdict(p, { nr: X32_SYSCALL_BIT + X32.read })).toBe(KILL_PROCESS);
    expect(verdict(p, { nr: -1 })).toBe(ALLOW);
    const withX32 = { ...p, architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"] };
    expect(verdict(withX32, { nr: X32_SYSCALL_BIT + X32.mkdir })).toBe(ERRNO(EPERM));
    expect(verdict(withX32, { nr: X32_SYSCALL_BIT + X32.read })).toBe(ALLOW);
    expect(verdict(withX32, { nr: nr("mkdir") })).toBe(ERRNO(EPERM));
  });
  test("listed arches get their own syscall numbers", () => {
    const multi = {
      ...p,
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_S390X"],
    };
    expect(verdict(multi, { nr: I386.mkdir, arch: AUDIT_ARCH_I386 })).toBe(ERRNO(EPERM));
    expect(verdict(multi, { nr: nr("mkdir"), arch: AUDIT_ARCH_I386 })).toBe(ALLOW); // 83 is symlink on i386
    expect(verdict(multi, { nr: AARCH64.mkdirat, arch: AUDIT_ARCH_AARCH64 })).toBe(ERRNO(EPERM));
    expect(verdict(multi, { nr: 0, arch: 0x80000016 /* s390x: no table here */ })).toBe(KILL_PROCESS);
  });
  test("aarch64 as the native arch", () => {
    expect(verdict(p, { nr: AARCH64.mkdirat, arch: AUDIT_ARCH_AARCH64 }, "arm64")).toBe(ERRNO(EPERM));
    expect(verdict(p, { nr: AARCH64.read, arch: AUDIT_ARCH_AARCH64 }, "arm64")).toBe(ALLOW);
    expect(verdict(p, { nr: AARCH64.mkdirat, arch: AUDIT_ARCH_X86_64 }, "arm64")).toBe(KILL_PROCESS);
  });
  test("32-bit ABIs compare the low word of arguments only (libseccomp)", () => {
    const q = {
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86"],
      syscalls: [
        {
          names: ["personality"],
          action: "SCMP_ACT_ERRNO",
          args: [{ index: 0, value: "0x1ffffffff", op: "SCMP_CMP_EQ" }],
        },
      ],
    };
    expect(verdict(q, { nr: I386.personality, arch: AUDIT_ARCH_I386, args: [0xffffffff] })).toBe(ERRNO(EPERM));
    expect(verdict(q, { nr: nr("personality"), args: [0xffffffff] })).toBe(ALLOW);
    expect(verdict(q, { nr: nr("personality"), args: [0x1ffffffffn] })).toBe(ERRNO(EPERM));
  });
});

describe("ENOSYS for syscalls newer than the profile (runc's stub)", () => {
  const p = { defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read", "openat"], action: "SCMP_ACT_ALLOW" }] };
  test("above the highest named number: ENOSYS; below: the default", () => {
    expect(verdict(p, { nr: nr("openat") + 1 })).toBe(ERRNO(ENOSYS));
    expect(verdict(p, { nr: nr("clone3") })).toBe(ERRNO(ENOSYS));
    expect(verdict(p, { nr: nr("write") })).toBe(ERRNO(EPERM));
  });
  test("not with a permissive default, nor when the default errno is ENOSYS", () => {
    expect(verdict({ ...p, defaultAction: "SCMP_ACT_LOG" }, { nr: nr("clone3") })).toBe(LOG);
    expect(verdict({ ...p, defaultErrnoRet: 38 }, { nr: nr("clone3") })).toBe(ERRNO(ENOSYS));
    expect(verdict({ ...p, defaultAction: "SCMP_ACT_KILL_PROCESS" }, { nr: nr("clone3") })).toBe(ERRNO(ENOSYS));
    expect(verdict({ ...p, defaultAction: "SCMP_ACT_KILL_PROCESS" }, { nr: nr("write") })).toBe(KILL_PROCESS);
  });
});

describe("long programs", () => {
  test("hundreds of syscalls with args: jumps past 255 instructions still land right", () => {
    const names = Object.keys(X86_64);
    const syscalls = names.map((name, i) => ({
      names: [name],
      action: "SCMP_ACT_ERRNO",
      errnoRet: 1 + (i % 200),
      args:
        i % 2 ? [{ index: i % 6, value: i, op: "SCMP_CMP_EQ" }] : [{ index: 0, value: 2 ** 32 + i, op: "SCMP_CMP_GE" }],
    }));
    const p = { defaultAction: "SCMP_ACT_ALLOW", syscalls };
    const { program } = compileSeccomp(p, "x64");
    expect(program.length / 8).toBeGreaterThan(1000);
    expect(opcodes(program).filter((c) => c === 0x05).length).toBeGreaterThan(0); // ja trampolines were needed
    names.forEach((name, i) => {
      const args = [0, 0, 0, 0, 0, 0];
      if (i % 2) {
        args[i % 6] = i;
        expect(run(program, { nr: X86_64[name], args })).toBe(ERRNO(1 + (i % 200)));
        args[i % 6] = i + 1;
        expect(run(program, { nr: X86_64[name], args })).toBe(ALLOW);
      } else {
        expect(run(program, { nr: X86_64[name], args: [2 ** 32 + i + 1] })).toBe(ERRNO(1 + (i % 200)));
        expect(run(program, { nr: X86_64[name], args: [2 ** 32 + i - 1] })).toBe(ALLOW);
      }
    });
  });
  test("a docker-sized allow list on three arches", () => {
    const names = Object.keys(X86_64).filter(
      (n) => !/^(mount|umount2|reboot|kexec_load|ptrace|bpf|unshare|setns)$/.test(n),
    );
    const p = {
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      syscalls: [
        { names, action: "SCMP_ACT_ALLOW" },
        {
          names: ["clone"],
          action: "SCMP_ACT_ALLOW",
          args: [{ index: 0, value: 2114060288, op: "SCMP_CMP_MASKED_EQ" }],
        },
      ],
    };
    const { program } = compileSeccomp(p, "x64");
    expect(program.length / 8).toBeGreaterThan(255);
    for (const n of names) expect(run(program, { nr: X86_64[n] })).toBe(ALLOW);
    for (const n of ["mount", "umount2", "reboot", "ptrace", "unshare"])
      expect(run(program, { nr: X86_64[n] })).toBe(ERRNO(EPERM));
    for (const n of ["mkdir", "socketcall"])
      expect(run(program, { nr: I386[n], arch: AUDIT_ARCH_I386 })).toBe(n in X86_64 ? ALLOW : ERRNO(EPERM));
    expect(run(program, { nr: I386.mount, arch: AUDIT_ARCH_I386 })).toBe(ERRNO(EPERM));
    expect(run(program, { nr: X32_SYSCALL_BIT + X32.mount })).toBe(ERRNO(EPERM));
    expect(run(program, { nr: X32_SYSCALL_BIT + X32.read })).toBe(ALLOW);
  });
});

describe("flags and errors", () => {
  const base = { defaultAction: "SCMP_ACT_ALLOW" };
  test("SCMP_ACT_NOTIFY: SECCOMP_RET_USER_NOTIF and NEW_LISTENER; WAIT_KILLABLE_RECV only with a listener", () => {
    const notify = {
      ...base,
      listenerPath: "/run/agent.sock",
      flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_LOG"],
      syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }],
    };
    expect(compileSeccomp(notify).flags).toBe(8 | 32 | 2);
    const p = readProfile(notify);
    expect([...p.rules.values()][0]![0]!.action).toBe(0x7fc00000);
    const none = { ...notify, syscalls: [] };
    expect(compileSeccomp(none).flags).toBe(2); // no listener: the kernel would refuse WAIT_KILLABLE_RECV
  });
  test("flags → SECCOMP_FILTER_FLAG_* bits", () => {
    expect(compileSeccomp(base).flags).toBe(0);
    expect(compileSeccomp({ ...base, flags: ["SECCOMP_FILTER_FLAG_LOG"] }).flags).toBe(2);
    expect(
      compileSeccomp({ ...base, flags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"] }).flags,
    ).toBe(5);
  });
  const bad: [unknown, string][] = [
    [null, "linux.seccomp: must be an object"],
    [{}, "linux.seccomp.defaultAction: missing"],
    [{ defaultAction: "SCMP_ACT_FOO" }, 'linux.seccomp.defaultAction: unknown action "SCMP_ACT_FOO"'],
    [{ defaultAction: "SCMP_ACT_NOTIFY" }, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY can't be the default action"],
    [{ ...base, defaultErrnoRet: -1 }, "linux.seccomp.defaultErrnoRet: invalid errno -1"],
    [
      { ...base, architectures: ["SCMP_ARCH_Z80"] },
      'linux.seccomp.architectures[0]: unknown architecture "SCMP_ARCH_Z80"',
    ],
    [{ ...base, flags: ["SECCOMP_FILTER_FLAG_LOG", "X"] }, 'linux.seccomp.flags[1]: unknown flag "X"'],
    [{ ...base, syscalls: {} }, "linux.seccomp.syscalls: must be an array"],
    [
      {
        ...base,
        syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO" }, {}, {}, { names: ["x"], action: "SCMP_ACT_FOO" }],
      },
      "linux.seccomp.syscalls[1].names: missing",
    ],
    [
      {
        ...base,
        syscalls: [
          { names: ["a"], action: "SCMP_ACT_ERRNO" },
          { names: ["a"], action: "SCMP_ACT_ERRNO" },
          { names: ["a"], action: "SCMP_ACT_ERRNO" },
          { names: ["x"], action: "SCMP_ACT_FOO" },
        ],
      },
      'linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO"',
    ],
    [
      { ...base, syscalls: [{ names: ["read"], action: "SCMP_ACT_NOTIFY" }] },
      "linux.seccomp.listenerPath: an absolute path is required for SCMP_ACT_NOTIFY",
    ],
    [
      { ...base, syscalls: [{ names: [3], action: "SCMP_ACT_ERRNO" }] },
      "linux.seccomp.syscalls[0].names[0]: invalid syscall name 3",
    ],
    [
      {
        ...base,
        syscalls: [
          {
            names: ["read"],
            action: "SCMP_ACT_ERRNO",
            args: [
              { index: 0, value: 1, op: "SCMP_CMP_EQ" },
              { index: 6, value: 1, op: "SCMP_CMP_EQ" },
            ],
          },
        ],
      },
      "linux.seccomp.syscalls[0].args[1].index: invalid index 6",
    ],
    [
      {
        ...base,
        syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 1, op: "SCMP_CMP_ABOUT" }] }],
      },
      'linux.seccomp.syscalls[0].args[0].op: unknown operator "SCMP_CMP_ABOUT"',
    ],
    [
      {
        ...base,
        syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: -1, op: "SCMP_CMP_EQ" }] }],
      },
      "linux.seccomp.syscalls[0].args[0].value: invalid value -1",
    ],
    [
      {
        ...base,
        syscalls: [
          { names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 2 ** 60, op: "SCMP_CMP_EQ" }] },
        ],
      },
      "linux.seccomp.syscalls[0].args[0].value: 1152921504606847000 is above 2^53",
    ],
    [
      {
        ...base,
        syscalls: [
          {
            names: ["read"],
            action: "SCMP_ACT_ERRNO",
            args: [{ index: 0, value: 1, valueTwo: "x", op: "SCMP_CMP_MASKED_EQ" }],
          },
        ],
      },
      'linux.seccomp.syscalls[0].args[0].valueTwo: invalid value "x"',
    ],
  ];
  for (const [profile, message] of bad)
    test(message, () => expect(() => compileSeccomp(profile, "x64")).toThrow(message));
  test("2^64 (JSON's rounding of 2^64-1) means 2^64-1", () => {
    const p = {
      ...base,
      syscalls: [
        {
          names: ["read"],
          action: "SCMP_ACT_ERRNO",
          args: [{ index: 0, value: 2 ** 64 - 1, op: "SCMP_CMP_EQ" }],
        },
      ],
    };
    expect(verdict(p, { nr: 0, args: [-1n] })).toBe(ERRNO(EPERM));
    expect(verdict(p, { nr: 0, args: [0] })).toBe(ALLOW);
  });
  test("unknown syscall names are skipped", () => {
    const p = { defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["nope", "read"], action: "SCMP_ACT_ALLOW" }] };
    expect(verdict(p, { nr: 0 })).toBe(ALLOW);
  });
  test("an unsupported native arch fails", () => {
    expect(() => compileSeccomp(base, "riscv64")).toThrow("unsupported architecture riscv64");
  });
});

describe("docker-format profiles", () => {
  const docker = {
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: 1,
    archMap: [
      { architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] },
      { architecture: "SCMP_ARCH_AARCH64", subArchitectures: ["SCMP_ARCH_ARM"] },
    ],
    syscalls: [
      { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
      { names: ["ptrace"], action: "SCMP_ACT_ALLOW", includes: { minKernel: "4.8" } },
      { names: ["newsyscall"], action: "SCMP_ACT_ALLOW", includes: { minKernel: "99.1" } },
      { names: ["oldsyscall"], action: "SCMP_ACT_ALLOW", excludes: { minKernel: "5.0" } },
      { names: ["arch_prctl"], action: "SCMP_ACT_ALLOW", includes: { arches: ["amd64", "x32"] } },
      { names: ["set_tls"], action: "SCMP_ACT_ALLOW", includes: { arches: ["arm", "arm64"] } },
      { names: ["mount", "umount2"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_SYS_ADMIN"] } },
      {
        names: ["clone"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: 2114060288, op: "SCMP_CMP_MASKED_EQ" }],
        excludes: { caps: ["CAP_SYS_ADMIN"], arches: ["s390x"] },
      },
      {
        name: "clone3",
        action: "SCMP_ACT_ERRNO",
        errnoRet: 38,
        excludes: { caps: ["CAP_SYS_ADMIN"] },
        comment: "glibc falls back to clone",
      },
    ],
  };
  const names = (p: { syscalls?: { names: string[] }[] }) => (p.syscalls ?? []).flatMap((s) => s.names);
  test("detected by archMap, includes/excludes or name", () => {
    expect(isDockerProfile(docker)).toBe(true);
    expect(
      isDockerProfile({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ name: "read", action: "SCMP_ACT_ERRNO" }] }),
    ).toBe(true);
    expect(
      isDockerProfile({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO" }] }),
    ).toBe(false);
  });
  test("resolved for x86_64 without CAP_SYS_ADMIN", () => {
    const oci = fromDockerProfile(docker, { arch: "x64", bounding: ["CAP_CHOWN"], kernel: "6.18.44-fc" });
    expect(oci.architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    expect(names(oci)).toEqual(["read", "write", "ptrace", "arch_prctl", "clone", "clone3"]);
    expect(oci.syscalls!.at(-1)).toEqual({ names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38 });
    expect(oci.defaultErrnoRet).toBe(1);
    const { program } = compileSeccomp(oci, "x64");
    expect(run(program, { nr: nr("clone3") })).toBe(ERRNO(38));
    expect(run(program, { nr: nr("clone"), args: [0x11] })).toBe(ALLOW);
    expect(run(program, { nr: nr("clone"), args: [0x10000000] })).toBe(ERRNO(1));
    expect(run(program, { nr: I386.read, arch: AUDIT_ARCH_I386 })).toBe(ALLOW);
  });
  test("resolved for aarch64 with CAP_SYS_ADMIN on an old kernel", () => {
    const oci = fromDockerProfile(docker, { arch: "arm64", bounding: ["CAP_SYS_ADMIN"], kernel: "4.19" });
    expect(oci.architectures).toEqual(["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]);
    expect(names(oci)).toEqual(["read", "write", "ptrace", "oldsyscall", "set_tls", "mount", "umount2"]);
  });
  test("errors name the entry", () => {
    expect(() =>
      fromDockerProfile(
        { ...docker, syscalls: [{ name: "a", names: ["b"], action: "SCMP_ACT_ALLOW" }] },
        { arch: "x64", bounding: [] },
        "p.json",
      ),
    ).toThrow("p.json: syscalls[0]: use either name or names, not both");
    expect(() =>
      fromDockerProfile({ ...docker, architectures: ["SCMP_ARCH_X86_64"] }, { arch: "x64", bounding: [] }, "p.json"),
    ).toThrow("use either architectures or archMap");
  });
});

describe("readSeccompProfile (--security-opt seccomp=FILE)", () => {
  test("integers above 2^53 stay exact", () => {
    const dir = mkdtempSync(join(tmpdir(), "mini-seccomp-unit-"));
    try {
      const f = join(dir, "p.json");
      writeFileSync(
        f,
        '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":18446744073709551614,"op":"SCMP_CMP_EQ"}]}]}',
      );
      const p = readSeccompProfile(f, []);
      expect(p.syscalls![0].args![0].value).toBe("18446744073709551614");
      const { program } = compileSeccomp(p, "x64");
      expect(run(program, { nr: 0, args: [2n ** 64n - 2n] })).toBe(ERRNO(EPERM));
      expect(run(program, { nr: 0, args: [2n ** 64n - 1n] })).toBe(ALLOW);
      writeFileSync(f, "[]");
      expect(() => readSeccompProfile(f, [])).toThrow(`--security-opt seccomp=${f}: not a seccomp profile`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
