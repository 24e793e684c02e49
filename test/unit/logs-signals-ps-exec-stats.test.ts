// The pure parts behind logs, kill, ps, exec and stats, no container run: log record parsing,
// signal parsing, ps's status text and its formats, exec's mini-shim arguments, cgroup stats read
// from a fake tree.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { parseRecord } from "../../src/state/logs.ts";
import { parseSignal } from "../../src/runtime/signals.ts";
import { statusText } from "../../src/cli/commands/ps.ts";
import { formatBytes as binarySize } from "../../src/common/format.ts";
import { duration } from "../../src/cli/format.ts";
import { envRecord as envObject } from "../../src/config/env.ts";
import { shimExecArgs } from "../../src/runtime/exec.ts";
import { netDevTotals } from "../../src/common/proc.ts";
import { readStats } from "../../src/cgroups/index.ts";
import { randomName } from "../../src/state/names.ts";
import type { CgroupPlan } from "../../src/cgroups/index.ts";

describe("log records (CRI format, as mini-shim writes them)", () => {
  test("full and partial lines, both streams, spaces kept", () => {
    expect(parseRecord("2026-11-23T20:12:56.123456789Z stdout F hello  world ")).toEqual({
      time: "2026-11-23T20:12:56.123456789Z",
      stream: "stdout",
      partial: false,
      text: "hello  world ",
    });
    expect(parseRecord("2026-11-23T20:12:56.1Z stderr P part")).toMatchObject({
      stream: "stderr",
      partial: true,
      text: "part",
    });
    expect(parseRecord("2026-11-23T20:12:56.1Z stdout F ")).toMatchObject({ text: "" });
  });
  test("anything else is not a record", () => {
    expect(parseRecord("garbage")).toBeUndefined();
    expect(parseRecord("2026 stdin F x")).toBeUndefined();
  });
});

describe("signals", () => {
  test("names with or without SIG, any case, and numbers", () => {
    expect(parseSignal("SIGTERM")).toBe(15);
    expect(parseSignal("term")).toBe(15);
    expect(parseSignal("KILL")).toBe(9);
    expect(parseSignal("28")).toBe(28);
  });
  test("unknown names and out-of-range numbers are refused with exit code 1", () => {
    for (const s of ["NOPE", "0", "65", "-1", ""]) expect(() => parseSignal(s)).toThrow(/invalid signal/);
  });
});

describe("ps status text (docker's)", () => {
  const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();
  test("up, paused, created, exited with and without a known code", () => {
    expect(statusText({ status: "running", oomKilled: false, startedAt: ago(125) })).toBe("Up 2 minutes");
    expect(statusText({ status: "paused", oomKilled: false, startedAt: ago(3) })).toBe("Up 3 seconds (Paused)");
    expect(statusText({ status: "created", oomKilled: false })).toBe("Created");
    expect(statusText({ status: "exited", exitCode: 137, oomKilled: true, finishedAt: ago(7200) })).toBe(
      "Exited (137) 2 hours ago",
    );
    expect(statusText({ status: "exited", exitCode: -1, oomKilled: false })).toBe("Exited (unknown)");
  });
});

describe("formats", () => {
  test("durations and binary sizes", () => {
    expect(duration(0.2)).toBe("Less than a second");
    expect(duration(1)).toBe("1 second");
    expect(duration(90000)).toBe("1 day");
    expect(binarySize(512)).toBe("512B");
    expect(binarySize(64 * 1024 * 1024)).toBe("64MiB");
    expect(binarySize(1536 * 1024)).toBe("1.5MiB");
  });
  test("random names are adjective_noun", () => {
    for (let i = 0; i < 20; i++) expect(randomName()).toMatch(/^[a-z]+_[a-z]+$/);
  });
});

describe("exec: what mini-shim is told", () => {
  const plan = (over: object = {}) => ({
    pid: 999_999_999, // no such process: no namespace arguments
    process: {
      args: ["sh", "-c", "id"],
      cwd: "/work",
      env: ["PATH=/bin"],
      user: { uid: 1000, gid: 100, additionalGids: [100, 10] },
      capabilities: { bounding: ["CAP_CHOWN", "CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"] },
      noNewPrivileges: true,
      rlimits: [
        { type: "RLIMIT_NOFILE", soft: 1024, hard: 4096 },
        { type: "RLIMIT_CORE", soft: -1, hard: -1 },
      ],
    },
    cgroupProcs: ["/sys/fs/cgroup/pids/x/cgroup.procs"],
    tty: false,
    detach: false,
    ...over,
  });
  test("user, groups, the five capability masks, nnp, cwd, rlimits, then -- and the command", () => {
    expect(shimExecArgs(plan())).toEqual([
      "exec",
      "--umask",
      "18",
      "--cgroup",
      "/sys/fs/cgroup/pids/x/cgroup.procs",
      "--uid",
      "1000",
      "--gid",
      "100",
      "--groups",
      "100,10",
      "--caps",
      "21,20,20,0,0",
      "--nnp",
      "--cwd",
      "/work",
      "--rlimit",
      "7:1024:4096",
      "--rlimit",
      "4:18446744073709551615:18446744073709551615",
      "--",
      "sh",
      "-c",
      "id",
    ]);
  });
  test("runtime-spec 1.2 attributes: umask, CPU affinity, personality, scheduler, I/O priority, 255 on setup errors", () => {
    const a = shimExecArgs(
      plan({
        process: {
          args: ["true"],
          cwd: "/",
          user: { uid: 0, gid: 0, umask: 0o077 },
          execCPUAffinity: { initial: "0", final: "0-1" },
        },
        attrs: {
          personality: 8,
          scheduler: { policy: 3, flags: 1, nice: 5, priority: 0, runtime: 0, deadline: 0, period: 0 },
          ioprio: (3 << 13) | 7,
        },
        setupExit: 255,
        preserveFds: 2,
      }),
    );
    const opt = (k: string) => a[a.indexOf(k) + 1];
    expect(opt("--umask")).toBe(String(0o077));
    expect([opt("--cpu-initial"), opt("--cpu-final")]).toEqual(["0", "0-1"]);
    expect([opt("--personality"), opt("--sched"), opt("--ioprio")]).toEqual(["8", "3,1,5,0,0,0,0", String(0x6007)]);
    expect([opt("--setup-exit"), opt("--preserve-fds")]).toEqual(["255", "2"]);
  });
  test("-t and -d", () => {
    const a = shimExecArgs(plan({ tty: true, detach: true }));
    expect(a.slice(a.indexOf("--") - 2, a.indexOf("--"))).toEqual(["--tty", "--detach"]);
  });
  test("environment list to object: first = splits, entries without one are dropped", () => {
    expect(envObject(["A=1", "B=x=y", "BAD", "=z"])).toEqual({ A: "1", B: "x=y" });
  });
});

describe("cgroup stats on a fake tree", () => {
  const root = mkdtempSync(`${tmpdir()}/mini-stats-`);
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const write = (rel: string, text: string) => {
    const p = `${root}/${rel}`;
    mkdirSync(p.slice(0, p.lastIndexOf("/")), { recursive: true });
    writeFileSync(p, text);
  };
  const leaf = (h: string, controllers: string[], dir: string, unified = false) => ({
    hierarchy: h,
    controllers,
    mountpoint: root,
    dir,
    unified,
  });

  test("v1: cpuacct.usage, memory usage minus inactive file cache, limit, pids", () => {
    write("cpuacct/c/cpuacct.usage", "5000000\n");
    write("memory/c/memory.usage_in_bytes", "10485760\n");
    write("memory/c/memory.stat", "cache 1\ntotal_inactive_file 2097152\n");
    write("memory/c/memory.limit_in_bytes", "67108864\n");
    write("pids/c/pids.current", "3\n");
    write(
      "blkio/c/blkio.throttle.io_service_bytes_recursive",
      "254:0 Read 4096\n254:0 Write 8192\n254:0 Sync 0\n254:0 Total 12288\n7:0 Read 1024\n7:0 Write 0\nTotal 13312\n",
    );
    const plan = {
      mode: "v1",
      leaves: [
        leaf("cpu,cpuacct", ["cpu", "cpuacct"], `${root}/cpuacct/c`),
        leaf("memory", ["memory"], `${root}/memory/c`),
        leaf("pids", ["pids"], `${root}/pids/c`),
        leaf("blkio", ["blkio"], `${root}/blkio/c`),
      ],
    } as unknown as CgroupPlan;
    expect(readStats(plan)).toEqual({
      cpuNs: 5_000_000,
      memory: 8 * 1024 * 1024,
      memoryLimit: 64 * 1024 * 1024,
      pids: 3,
      blkRead: 5120,
      blkWrite: 8192,
    });
  });
  test("v2: cpu.stat usage_usec, memory.current minus inactive_file, max = unlimited", () => {
    write("v2/c/cpu.stat", "usage_usec 1500\nuser_usec 1000\n");
    write("v2/c/memory.current", "4096\n");
    write("v2/c/memory.stat", "inactive_file 1024\n");
    write("v2/c/memory.max", "max\n");
    write("v2/c/pids.current", "1\n");
    write("v2/c/io.stat", "254:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n7:1 rbytes=5 wbytes=0\n");
    const plan = { mode: "v2", leaves: [leaf("", [], `${root}/v2/c`, true)] } as unknown as CgroupPlan;
    expect(readStats(plan)).toEqual({
      cpuNs: 1_500_000,
      memory: 3072,
      memoryLimit: undefined,
      pids: 1,
      blkRead: 105,
      blkWrite: 200,
    });
  });
  test("NET I/O: /proc/PID/net/dev summed over every interface but lo; none but lo is no network", () => {
    const head =
      "Inter-|   Receive   |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes\n";
    const lo =
      "    lo:   1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0\n";
    const eth =
      "  eth0:   2048      12    0    0    0     0          0         0      512       4    0    0    0     0       0          0\n";
    expect(netDevTotals(head + lo)).toBeUndefined();
    expect(netDevTotals(head + lo + eth)).toEqual({ rx: 2048, tx: 512 });
  });
});
