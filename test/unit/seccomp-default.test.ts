// defaultSeccomp: docker's default profile for a capability set, compiled and run on the BPF
// interpreter for each ABI the filter covers.
import { describe, expect, test } from "bun:test";
import { defaultSeccomp } from "../../src/config/seccomp-default.ts";
import { compileSeccomp } from "../../src/seccomp/compile.ts";
import { cachedCompiler } from "../../src/seccomp/precompiled.ts";
import { precompileDefault } from "../../src/seccomp/precompile.ts";
import { AUDIT_ARCH_AARCH64, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT } from "../../src/seccomp/arch.ts";
import { SYSCALLS as X86_64 } from "../../src/seccomp/tables/x86_64.ts";
import { SYSCALLS as I386 } from "../../src/seccomp/tables/i386.ts";
import { SYSCALLS as X32 } from "../../src/seccomp/tables/x32.ts";
import { SYSCALLS as AARCH64 } from "../../src/seccomp/tables/aarch64.ts";
import { CAPABILITIES, DEFAULT_CAPS } from "../../src/config/capabilities.ts";
import { ALLOW, ERRNO, run } from "./seccomp-bpf.ts";

const EPERM = ERRNO(1),
  ENOSYS = ERRNO(38);
const KILL_PROCESS = 0x80000000;

/** One ABI of a compiled filter: syscall by name (with args) → verdict. */
interface Abi {
  name: string;
  arch: string;
  audit: number;
  nr: (s: string) => number | undefined;
}
const ABIS: Abi[] = [
  { name: "x86_64", arch: "x64", audit: AUDIT_ARCH_X86_64, nr: (s) => X86_64[s] },
  { name: "x32", arch: "x64", audit: AUDIT_ARCH_X86_64, nr: (s) => (s in X32 ? X32[s] + X32_SYSCALL_BIT : undefined) },
  { name: "i386", arch: "x64", audit: AUDIT_ARCH_I386, nr: (s) => I386[s] },
  { name: "aarch64", arch: "arm64", audit: AUDIT_ARCH_AARCH64, nr: (s) => AARCH64[s] },
];
const x86_64 = ABIS[0],
  aarch64 = ABIS[3];

const programs = new Map<string, Uint8Array>();
function program(caps: readonly string[], arch: string): Uint8Array {
  const key = `${arch} ${caps.join(",")}`;
  let p = programs.get(key);
  if (!p) programs.set(key, (p = compileSeccomp(defaultSeccomp(caps, arch), arch).program));
  return p;
}

/** The verdict for `name(args)` on `abi` in a container with `caps` (docker's default set). */
function check(name: string, args: (number | bigint)[] = [], caps: readonly string[] = DEFAULT_CAPS, abi = x86_64) {
  const nr = abi.nr(name);
  if (nr === undefined) throw new Error(`${name} is not a syscall on ${abi.name}`);
  return run(program(caps, abi.arch), { nr, arch: abi.audit, args });
}

const plus = (...caps: string[]) => [...DEFAULT_CAPS, ...caps];
const minus = (...caps: string[]) => DEFAULT_CAPS.filter((c) => !caps.includes(c));

const CLONE_NEWNS = 0x20000,
  CLONE_NEWUSER = 0x10000000,
  CLONE_NEWNET = 0x40000000,
  CLONE_NEWCGROUP = 0x02000000;
// What glibc's pthread_create passes (CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID).
const THREAD_FLAGS = 0x3d0f00;
const SIGCHLD = 17;

describe("the profile", () => {
  test("is docker's shape: ERRNO(EPERM) by default, the native ABI and its sub-ABIs", () => {
    const p = defaultSeccomp(DEFAULT_CAPS, "x64");
    expect(p.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(p.defaultErrnoRet).toBe(1);
    expect(p.architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    expect(defaultSeccomp(DEFAULT_CAPS, "arm64").architectures).toEqual(["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]);
    expect(() => defaultSeccomp(DEFAULT_CAPS, "riscv64")).toThrow(/riscv64/);
  });

  test("compiles for x86_64 and aarch64 with no, docker's and every capability", () => {
    for (const arch of ["x64", "arm64"])
      for (const caps of [[], DEFAULT_CAPS, CAPABILITIES]) {
        const n = compileSeccomp(defaultSeccomp(caps, arch), arch).program.length / 8;
        expect(n).toBeGreaterThan(50);
        expect(n).toBeLessThan(1024);
      }
  });

  test("survives a trip through JSON (it is written into config.json)", () => {
    const p = defaultSeccomp(DEFAULT_CAPS, "x64");
    expect(compileSeccomp(JSON.parse(JSON.stringify(p)), "x64").program).toEqual(program(DEFAULT_CAPS, "x64"));
  });

  test("names each syscall once in the allow-list", () => {
    const [list] = defaultSeccomp(CAPABILITIES, "x64").syscalls!;
    expect(new Set(list.names).size).toBe(list.names.length);
  });

  test("other architectures are killed", () => {
    expect(run(program(DEFAULT_CAPS, "x64"), { nr: 0, arch: AUDIT_ARCH_AARCH64 })).toBe(KILL_PROCESS);
    expect(run(program(DEFAULT_CAPS, "arm64"), { nr: 0, arch: AUDIT_ARCH_X86_64 })).toBe(KILL_PROCESS);
  });
});

describe("docker's default capabilities", () => {
  test("everyday syscalls are allowed on every ABI", () => {
    for (const abi of ABIS)
      for (const s of [
        "read",
        "write",
        "openat",
        "close",
        "execve",
        "exit_group",
        "mmap",
        "futex",
        "rt_sigaction",
        "wait4",
        "getdents64",
        "statx",
        "chroot",
        "setuid",
        "ptrace",
        "io_setup",
      ])
        expect(check(s, [], DEFAULT_CAPS, abi), `${abi.name} ${s}`).toBe(ALLOW);
  });

  test("the keyring, io_uring, perf_event_open, bpf and more are EPERM on every ABI", () => {
    for (const abi of ABIS)
      for (const s of [
        "add_key",
        "keyctl",
        "request_key",
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
        "perf_event_open",
        "bpf",
        "userfaultfd",
        "kexec_load",
        "swapon",
        "pivot_root",
        "fsopen",
        "open_tree",
        "init_module",
        "reboot",
        "syslog",
        "kcmp",
        "settimeofday",
        "mbind",
        "open_by_handle_at",
      ])
        if (abi.nr(s) !== undefined) expect(check(s, [], DEFAULT_CAPS, abi), `${abi.name} ${s}`).toBe(EPERM);
  });

  test("arch-only syscalls: arch_prctl and modify_ldt on x86", () => {
    expect(check("arch_prctl")).toBe(ALLOW);
    expect(check("modify_ldt")).toBe(ALLOW);
    expect(check("modify_ldt", [], DEFAULT_CAPS, ABIS[2])).toBe(ALLOW);
    expect(check("arch_prctl", [], DEFAULT_CAPS, ABIS[1])).toBe(ALLOW);
  });

  test("syscalls above the profile's highest are ENOSYS, so libc falls back", () => {
    const top = Math.max(...Object.values(X86_64));
    for (const nr of [top + 1, 600, 1023]) expect(run(program(DEFAULT_CAPS, "x64"), { nr })).toBe(ENOSYS);
    expect(run(program(DEFAULT_CAPS, "arm64"), { nr: 1000, arch: AUDIT_ARCH_AARCH64 })).toBe(ENOSYS);
  });
});

describe("namespaces: clone, clone3, unshare, setns, mount", () => {
  const admin = plus("CAP_SYS_ADMIN");
  for (const abi of [x86_64, aarch64]) {
    test(`without CAP_SYS_ADMIN (${abi.name})`, () => {
      const c = (s: string, args: number[] = []) => check(s, args, DEFAULT_CAPS, abi);
      expect(c("clone", [SIGCHLD])).toBe(ALLOW); // fork
      expect(c("clone", [THREAD_FLAGS])).toBe(ALLOW); // pthread_create
      for (const ns of [CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWUSER | CLONE_NEWNS])
        expect(c("clone", [ns | SIGCHLD])).toBe(EPERM);
      expect(c("clone3")).toBe(ENOSYS);
      for (const s of ["unshare", "setns", "mount", "umount2", "mount_setattr", "move_mount"]) expect(c(s)).toBe(EPERM);
      expect(c("unshare", [CLONE_NEWUSER])).toBe(EPERM);
    });
    test(`with CAP_SYS_ADMIN (${abi.name})`, () => {
      const c = (s: string, args: number[] = []) => check(s, args, admin, abi);
      expect(c("clone", [CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD])).toBe(ALLOW);
      expect(c("clone3")).toBe(ALLOW);
      for (const s of ["unshare", "setns", "mount", "umount2", "fsopen", "open_tree", "sethostname", "bpf"])
        expect(c(s)).toBe(ALLOW);
      expect(c("perf_event_open")).toBe(ALLOW);
    });
  }
  test("umount (i386 only) follows mount", () => {
    expect(check("umount", [], DEFAULT_CAPS, ABIS[2])).toBe(EPERM);
    expect(check("umount", [], admin, ABIS[2])).toBe(ALLOW);
  });
});

describe("argument rules", () => {
  test("socket: every family but AF_ALG (38) and AF_VSOCK (40)", () => {
    for (const abi of [x86_64, ABIS[1], ABIS[2], aarch64]) {
      for (const af of [0, 1, 2, 10, 16, 17, 37, 39, 41, 44, 45])
        expect(check("socket", [af, 1, 0], DEFAULT_CAPS, abi), `${abi.name} socket(${af})`).toBe(ALLOW);
      for (const af of [38, 40])
        expect(check("socket", [af, 1, 0], DEFAULT_CAPS, abi), `${abi.name} socket(${af})`).toBe(EPERM);
    }
  });

  test("personality: PER_LINUX, PER_LINUX32, UNAME26 and the query only", () => {
    for (const abi of [x86_64, ABIS[2], aarch64]) {
      for (const p of [0, 0x8, 0x20000, 0x20008, 0xffffffff])
        expect(check("personality", [p], DEFAULT_CAPS, abi)).toBe(ALLOW);
      // ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, PER_BSD, a 64-bit -1
      for (const p of [0x0040000, 0x0400000, 0x6, 0x0040008])
        expect(check("personality", [p], DEFAULT_CAPS, abi)).toBe(EPERM);
    }
    expect(check("personality", [-1])).toBe(EPERM); // 0xffffffffffffffff: not the 32-bit query
  });
});

describe("capability-conditional syscalls", () => {
  const cases: [string, string[]][] = [
    ["CAP_DAC_READ_SEARCH", ["open_by_handle_at"]],
    ["CAP_SYS_PTRACE", ["kcmp", "pidfd_getfd", "process_madvise"]],
    ["CAP_SYS_MODULE", ["init_module", "finit_module", "delete_module"]],
    ["CAP_SYS_BOOT", ["reboot"]],
    ["CAP_SYS_PACCT", ["acct"]],
    ["CAP_SYS_RAWIO", ["iopl", "ioperm"]],
    ["CAP_SYS_TIME", ["settimeofday", "clock_settime"]],
    ["CAP_SYS_TTY_CONFIG", ["vhangup"]],
    ["CAP_SYS_NICE", ["mbind", "get_mempolicy", "set_mempolicy", "set_mempolicy_home_node"]],
    ["CAP_SYSLOG", ["syslog"]],
    ["CAP_BPF", ["bpf"]],
    ["CAP_PERFMON", ["perf_event_open"]],
  ];
  for (const [cap, names] of cases)
    test(`${cap}: ${names.join(", ")}`, () => {
      for (const s of names) {
        expect(check(s)).toBe(EPERM);
        expect(check(s, [], plus(cap))).toBe(ALLOW);
        expect(check(s, [], plus(cap), aarch64.nr(s) === undefined ? x86_64 : aarch64)).toBe(ALLOW);
      }
      // Only that capability: everything else stays denied.
      expect(check("keyctl", [], plus(cap))).toBe(EPERM);
      expect(check("mount", [], plus(cap))).toBe(EPERM);
    });

  test("CAP_SYS_CHROOT (in docker's set): chroot", () => {
    expect(check("chroot")).toBe(ALLOW);
    expect(check("chroot", [], minus("CAP_SYS_CHROOT"))).toBe(EPERM);
  });

  test("stime (i386 only) needs CAP_SYS_TIME", () => {
    expect(check("stime", [], DEFAULT_CAPS, ABIS[2])).toBe(EPERM);
    expect(check("stime", [], plus("CAP_SYS_TIME"), ABIS[2])).toBe(ALLOW);
  });

  test("every capability still leaves the keyring, io_uring and userfaultfd denied", () => {
    for (const abi of ABIS)
      for (const s of ["add_key", "keyctl", "request_key", "io_uring_setup", "userfaultfd", "pivot_root", "swapon"])
        expect(check(s, [], CAPABILITIES, abi), `${abi.name} ${s}`).toBe(EPERM);
  });
});

describe("compileSeccompCached", () => {
  const arch = process.arch;
  // What scripts/build.ts defines into the binary.
  const compileSeccompCached = cachedCompiler(precompileDefault());
  test("docker's default profile and capabilities: the build's program, equal to compiling it", () => {
    const p = defaultSeccomp(DEFAULT_CAPS, arch);
    expect(compileSeccompCached(p, arch)).toEqual(compileSeccomp(p, arch));
    // Capability order does not matter; a trip through JSON (config.json) neither.
    const shuffled = defaultSeccomp([...DEFAULT_CAPS].reverse(), arch);
    expect(compileSeccompCached(JSON.parse(JSON.stringify(shuffled)), arch)).toEqual(compileSeccomp(p, arch));
  });
  test("anything else is compiled", () => {
    for (const caps of [plus("CAP_SYS_ADMIN"), minus("CAP_SYS_CHROOT"), []]) {
      const p = defaultSeccomp(caps, arch);
      expect(compileSeccompCached(p, arch)).toEqual(compileSeccomp(p, arch));
    }
    const other = arch === "x64" ? "arm64" : "x64";
    const p = defaultSeccomp(DEFAULT_CAPS, other);
    expect(compileSeccompCached(p, other)).toEqual(compileSeccomp(p, other));
    const flagged = { ...defaultSeccomp(DEFAULT_CAPS, arch), flags: ["SECCOMP_FILTER_FLAG_LOG"] };
    expect(compileSeccompCached(flagged, arch)).toEqual(compileSeccomp(flagged, arch));
    expect(compileSeccompCached(flagged, arch).flags).toBe(2);
  });
});
