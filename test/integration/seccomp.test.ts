// Seccomp through dist/mini and the real kernel: --security-opt seccomp=FILE and bundles with
// linux.seccomp, with and without no_new_privs, foreground, --init and detached; bad profiles
// fail with exit 125 and one line naming the field; nothing is left behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt, mini } from "../helpers/mini.ts";
import { leftBehind, NOTHING, snapshot, type Snapshot } from "../helpers/leaks.ts";
import { cleanupRootfses, makeRootfs } from "../helpers/rootfs.ts";

let rootfs: string;
let dir: string;
let before: Snapshot;
let n = 0;

beforeAll(() => {
  ensureBuilt();
  rootfs = makeRootfs();
  dir = mkdtempSync(join(tmpdir(), "mini-seccomp-"));
  chmodSync(dir, 0o711);
  before = snapshot();
});

afterAll(() => {
  cleanupRootfses();
  rmSync(dir, { recursive: true, force: true });
});

/** Writes a profile (object → JSON, string → verbatim) and returns its path. */
function profile(p: object | string): string {
  const f = join(dir, `profile-${++n}.json`);
  writeFileSync(f, typeof p === "string" ? p : JSON.stringify(p));
  return f;
}

const run = (script: string, flags: string[]) => mini(["run", ...flags, rootfs, "sh", "-c", script]);
const seccomp = (p: object | string) => ["--security-opt", `seccomp=${profile(p)}`];

const DENY_MKDIR = {
  defaultAction: "SCMP_ACT_ALLOW",
  syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
};
/** What busybox sh, ls, cat and mini's child stage need after the filter is in place. */
const BASICS = [
  "read",
  "write",
  "writev",
  "readv",
  "open",
  "openat",
  "close",
  "fstat",
  "newfstatat",
  "stat",
  "lstat",
  "statx",
  "lseek",
  "mmap",
  "munmap",
  "mprotect",
  "brk",
  "madvise",
  "rt_sigaction",
  "rt_sigprocmask",
  "rt_sigreturn",
  "sigaltstack",
  "ioctl",
  "access",
  "faccessat",
  "faccessat2",
  "execve",
  "exit",
  "exit_group",
  "getpid",
  "getppid",
  "gettid",
  "getuid",
  "geteuid",
  "getgid",
  "getegid",
  "arch_prctl",
  "set_tid_address",
  "set_robust_list",
  "rseq",
  "futex",
  "prctl",
  "capget",
  "capset",
  "setgroups",
  "setresuid",
  "setresgid",
  "close_range",
  "fcntl",
  "getcwd",
  "chdir",
  "uname",
  "wait4",
  "clone",
  "fork",
  "vfork",
  "dup2",
  "dup3",
  "pipe2",
  "getdents64",
  "readlink",
  "sched_yield",
  "prlimit64",
  "getrandom",
  "clock_gettime",
  "tgkill",
  "poll",
  "ppoll",
  "nanosleep",
  "clock_nanosleep",
];
const NNP = ["--security-opt", "no-new-privileges"];

for (const [label, extra] of [
  ["without no_new_privs", []],
  ["with no_new_privs", NNP],
] as const) {
  describe(label, () => {
    test("a deny list: mkdir fails with EPERM, everything else works", async () => {
      const r = await run(
        "mkdir /x; echo mkdir=$?; echo hi > /tmp/f && cat /tmp/f; ls -d /bin; grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status",
        [...seccomp(DENY_MKDIR), ...extra],
      );
      expect(r.stderr).toBe("mkdir: can't create directory '/x': Operation not permitted\n");
      expect(r.stdout).toBe(`mkdir=1\nhi\n/bin\nNoNewPrivs:\t${extra.length ? 1 : 0}\nSeccomp:\t2\n`);
      expect(r.code).toBe(0);
    });

    test("an allow list with defaultAction SCMP_ACT_ERRNO", async () => {
      const p = {
        defaultAction: "SCMP_ACT_ERRNO",
        defaultErrnoRet: 1,
        syscalls: [{ names: BASICS, action: "SCMP_ACT_ALLOW" }],
      };
      const r = await run("echo hi; ls -d /etc; mkdir /y; echo mkdir=$?; rmdir /etc 2>&1; echo rmdir=$?", [
        ...seccomp(p),
        ...extra,
      ]);
      expect(r.stdout).toBe("hi\n/etc\nmkdir=1\nrmdir: '/etc': Operation not permitted\nrmdir=1\n");
      expect(r.stderr).toBe("mkdir: can't create directory '/y': Operation not permitted\n");
      expect(r.code).toBe(0);
    });

    test("SCMP_ACT_KILL_PROCESS: exit status 159 (128 + SIGSYS)", async () => {
      const p = {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_KILL_PROCESS" }],
      };
      const r = await mini(["run", ...seccomp(p), ...extra, rootfs, "mkdir", "/z"]);
      expect(r.code).toBe(159);
      expect(r.stdout).toBe("");
    });

    test("an argument rule: personality(PER_LINUX32) is refused, personality(PER_LINUX) is not", async () => {
      const p = {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [
          {
            names: ["personality"],
            action: "SCMP_ACT_ERRNO",
            errnoRet: 1,
            args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }],
          },
        ],
      };
      const r = await run("linux32 uname -m; echo rc=$?; linux64 uname -m", [...seccomp(p), ...extra]);
      expect(r.stdout).toBe("rc=1\nx86_64\n");
      expect(r.stderr).toBe("linux32: personality(0x8): Operation not permitted\n");
    });

    test("--init: the filter covers init and the command", async () => {
      const r = await run("mkdir /x; grep '^Seccomp:' /proc/1/status /proc/self/status", [
        "--init",
        ...seccomp(DENY_MKDIR),
        ...extra,
      ]);
      expect(r.stdout).toBe("/proc/1/status:Seccomp:\t2\n/proc/self/status:Seccomp:\t2\n");
      expect(r.stderr).toContain("Operation not permitted");
    });
  });
}

describe("profiles", () => {
  test("seccomp=unconfined: no filter", async () => {
    const r = await run("mkdir /u && rmdir /u; grep '^Seccomp:' /proc/self/status", [
      "--security-opt",
      "seccomp=unconfined",
    ]);
    expect(r.stdout).toBe("Seccomp:\t0\n");
    expect(r.code).toBe(0);
  });

  test("a long program (thousands of instructions, jumps past 255) loads and works", async () => {
    const { SYSCALLS } = await import("../../src/seccomp/tables/x86_64.ts");
    const names = Object.keys(SYSCALLS).filter((s) => s !== "mkdir" && s !== "mkdirat");
    const p = {
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      syscalls: [
        { names, action: "SCMP_ACT_ALLOW" },
        // ~2800 instructions: argument rules no real call matches, on 150 syscalls of each ABI
        ...names.slice(0, 150).map((name, i) => ({
          names: [name],
          action: "SCMP_ACT_ERRNO",
          errnoRet: 2,
          args: [{ index: 5, value: 2 ** 40 + i, op: "SCMP_CMP_EQ" }],
        })),
      ],
    };
    const r = await run("mkdir /x; echo rc=$?; ls -d /etc", [...seccomp(p), ...NNP]);
    expect(r.stdout).toBe("rc=1\n/etc\n");
    expect(r.stderr).toBe("mkdir: can't create directory '/x': Operation not permitted\n");
  });

  test("a docker-format profile: excludes/includes resolved against the container's capabilities", async () => {
    const p = {
      defaultAction: "SCMP_ACT_ALLOW",
      archMap: [{ architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] }],
      syscalls: [
        { names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1, excludes: { caps: ["CAP_SYS_ADMIN"] } },
        { name: "personality", action: "SCMP_ACT_ERRNO", errnoRet: 1, includes: { arches: ["arm64"] } },
      ],
    };
    const flags = seccomp(p);
    const plain = await run("mkdir /d; echo rc=$?; linux32 true && echo personality ok", flags);
    expect(plain.stdout).toBe("rc=1\npersonality ok\n");
    const admin = await run("mkdir /d && rmdir /d && echo made", [...flags, "--cap-add", "SYS_ADMIN"]);
    expect(admin.stdout).toBe("made\n");
  });

  test("a detached container gets the filter too", async () => {
    const state = mkdtempSync(join(dir, "state-"));
    chmodSync(state, 0o711);
    const m = (args: string[]) => mini(args, { env: { MINI_ROOT: `${state}/lib`, MINI_RUN_ROOT: `${state}/run` } });
    const started = await m([
      "run",
      "-d",
      ...seccomp(DENY_MKDIR),
      rootfs,
      "sh",
      "-c",
      "mkdir /x 2>&1; grep '^Seccomp:' /proc/self/status",
    ]);
    expect(started.code).toBe(0);
    const id = started.stdout.trim();
    try {
      expect((await m(["wait", id])).stdout.trim()).toBe("0");
      expect((await m(["logs", id])).stdout).toBe(
        "mkdir: can't create directory '/x': Operation not permitted\nSeccomp:\t2\n",
      );
    } finally {
      await m(["rm", "-f", id]);
    }
  });

  test("a bundle's linux.seccomp", async () => {
    const b = join(dir, `bundle-${++n}`);
    mkdirSync(b);
    const config = {
      ociVersion: "1.2.0",
      process: {
        user: { uid: 0, gid: 0 },
        args: ["sh", "-c", "mkdir /x; echo rc=$?; grep '^Seccomp:' /proc/self/status"],
        env: ["PATH=/bin:/usr/bin"],
        cwd: "/",
        noNewPrivileges: true,
      },
      root: { path: rootfs },
      mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
      linux: {
        namespaces: [{ type: "pid" }, { type: "mount" }, { type: "ipc" }, { type: "uts" }, { type: "network" }],
        seccomp: DENY_MKDIR,
      },
    };
    writeFileSync(join(b, "config.json"), JSON.stringify(config));
    const r = await mini(["run", "--bundle", b]);
    expect(r.stdout).toBe("rc=1\nSeccomp:\t2\n");
    expect(r.stderr).toBe("mkdir: can't create directory '/x': Operation not permitted\n");
    expect(r.code).toBe(0);

    config.linux.seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO", args: [{ index: 9, value: 1, op: "SCMP_CMP_EQ" }] }],
    } as never;
    writeFileSync(join(b, "config.json"), JSON.stringify(config));
    const bad = await mini(["run", "--bundle", b]);
    expect([bad.code, bad.stdout, bad.stderr]).toEqual([
      125,
      "",
      "mini: linux.seccomp.syscalls[0].args[0].index: invalid index 9: use 0 to 5\n",
    ]);
  });
});

describe("bad profiles: exit 125, one line naming the problem", () => {
  const cases: [string, object | string, string][] = [
    [
      "an unknown action",
      {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [
          { names: ["read"], action: "SCMP_ACT_ERRNO" },
          { names: ["write"], action: "SCMP_ACT_FOO" },
        ],
      },
      'linux.seccomp.syscalls[1].action: unknown action "SCMP_ACT_FOO"',
    ],
    [
      "an unknown operator",
      {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 1, op: "SCMP_CMP_XX" }] }],
      },
      'linux.seccomp.syscalls[0].args[0].op: unknown operator "SCMP_CMP_XX"',
    ],
    [
      "an unknown architecture",
      { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_VAX"] },
      'linux.seccomp.architectures[0]: unknown architecture "SCMP_ARCH_VAX"',
    ],
    [
      "SCMP_ACT_NOTIFY as the default action",
      { defaultAction: "SCMP_ACT_NOTIFY" },
      "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY can't be the default action",
    ],
    ["invalid JSON", "{ nope", "invalid JSON"],
  ];
  for (const [what, p, message] of cases)
    test(what, async () => {
      const r = await run("echo ran", seccomp(p));
      expect(r.code).toBe(125);
      expect(r.stdout).toBe("");
      expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(1);
      expect(r.stderr).toStartWith("mini: ");
      expect(r.stderr).toContain(message);
    });

  test("a missing file", async () => {
    const r = await run("echo ran", ["--security-opt", `seccomp=${dir}/none.json`]);
    expect([r.code, r.stdout, r.stderr]).toEqual([
      125,
      "",
      `mini: --security-opt seccomp=${dir}/none.json: no such file\n`,
    ]);
  });
});

test("nothing is left behind", async () => {
  expect(await leftBehind(before)).toEqual(NOTHING);
});
