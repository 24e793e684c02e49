// docker's device and isolation flags through dist/mini: --device and --device-cgroup-rule,
// --privileged, --ulimit, --sysctl, --shm-size, --group-add, --oom-score-adj, --pid/--ipc/--uts/
// --cgroupns modes, --cgroup-parent, --security-opt label/apparmor, --stop-signal/--stop-timeout.
// Private stores; every container is removed by id; nothing on the host changes.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";
import { ensureBuilt, mini, type Result } from "../helpers/mini.ts";
import { leftBehind, NOTHING, snapshot, type Snapshot } from "../helpers/leaks.ts";
import { cleanupRootfses, makeRootfs } from "../helpers/rootfs.ts";
import { type PrivateStore, privateStore } from "../helpers/private-store.ts";
import { until } from "../helpers/until.ts";

let rootfs: string;
let before: Snapshot;
let _dirs: string;
let env: Record<string, string>;
let store: PrivateStore;

beforeAll(() => {
  ensureBuilt();
  rootfs = makeRootfs();
  store = privateStore("runflags");
  _dirs = store.dir;
  env = store.env;
  before = snapshot();
});

afterEach(async () => {
  const ids = (await m(["ps", "-aq"])).stdout.split("\n").filter(Boolean);
  if (ids.length) await m(["rm", "-f", ...ids]);
});

afterAll(() => {
  cleanupRootfses();
  store.remove();
});

const m = (args: string[], timeoutMs = 60_000): Promise<Result> => mini(args, { env, timeoutMs });
const sh = (script: string, flags: string[] = []) => m(["run", ...flags, rootfs, "sh", "-c", script]);
async function runD(script: string, flags: string[] = []): Promise<string> {
  const r = await m(["run", "-d", ...flags, rootfs, "sh", "-c", script]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout.trim();
}
/** Whether this process (and so mini) has CAP_SYS_RESOURCE (bit 24 of CapEff). */
const sysResource = () =>
  ((BigInt(`0x${/^CapEff:\s*(\w+)$/m.exec(readFileSync("/proc/self/status", "utf8"))![1]}`) >> 24n) & 1n) === 1n;
const pidOf = async (id: string): Promise<number> => JSON.parse((await m(["inspect", id])).stdout)[0].State.Pid;

describe("devices", () => {
  test("--device /dev/null:/dev/mynull: the node with the host's numbers, usable", async () => {
    const r = await sh("stat -c '%t:%T %F' /dev/mynull; echo hi > /dev/mynull && echo written", [
      "--device",
      "/dev/null:/dev/mynull",
    ]);
    expect(r.stdout.trim().split("\n")).toEqual(["1:3 character special file", "written"]);
  });

  test("without it, a node made with mknod inside can't be opened (EPERM); with a cgroup rule it can", async () => {
    const script = "mknod /tmp/lc c 10 237 && echo made; (: < /tmp/lc) && echo opened";
    const denied = await sh(script);
    expect(denied.stdout).toContain("made");
    expect(denied.stdout).not.toContain("opened");
    expect(denied.stderr).toContain("Operation not permitted");
    const allowed = await sh(script, ["--device-cgroup-rule", "c 10:237 r"]);
    expect(allowed.stdout).toContain("opened");
  });

  test("a read-only --device can't be written", async () => {
    const r = await sh("(: > /dev/ro) && echo wrote; (: < /dev/ro) && echo read", [
      "--device",
      "/dev/loop-control:/dev/ro:r",
    ]);
    expect(r.stdout.trim()).toBe("read");
    expect(r.stderr).toContain("Operation not permitted");
  });
});

describe("--privileged", () => {
  test("can mount, has every capability, no seccomp, writable /sys, the host's devices, no masked paths", async () => {
    const r = await sh(
      "mkdir -p /run/t && mount -t tmpfs none /run/t && echo mounted; grep -E '^(CapEff|Seccomp):' /proc/self/status; " +
        'awk \'$5 == "/sys" { split($6, o, ","); print o[1] }\' /proc/self/mountinfo; ls /dev/loop-control; ' +
        "grep -c /proc/kcore /proc/self/mountinfo; grep -c ' /sys/fs/cgroup/memory ' /proc/self/mountinfo",
      ["--privileged"],
    );
    const own = /^CapEff:\s*(\w+)$/m.exec(readFileSync("/proc/self/status", "utf8"))![1];
    expect(r.stdout.trim().split("\n")).toEqual([
      "mounted",
      `CapEff:\t${own}`,
      "Seccomp:\t0",
      "rw",
      "/dev/loop-control",
      "0",
      "1",
    ]);
  });

  test("without it: no mount, docker's capabilities, a seccomp filter", async () => {
    const r = await sh(
      "mkdir -p /run/t && mount -t tmpfs none /run/t && echo mounted; grep -E '^Seccomp:' /proc/self/status; ls /dev/loop-control",
    );
    expect(r.stdout).not.toContain("mounted");
    expect(r.stdout).toContain("Seccomp:\t2");
    expect(r.stderr).toContain("loop-control");
  });
});

describe("limits and kernel parameters", () => {
  test("--ulimit nofile=256 is what ulimit -n says; a hard limit above mini's own is refused", async () => {
    const r = await sh("ulimit -n; ulimit -Hn", ["--ulimit", "nofile=256"]);
    expect(r.stdout.trim().split("\n")).toEqual(["256", "256"]);
    const soft = await sh("ulimit -n; ulimit -Hn", ["--ulimit", "nofile=100:200"]);
    expect(soft.stdout.trim().split("\n")).toEqual(["100", "200"]);
    const hard = Number((await Bun.$`sh -c 'ulimit -Hn'`.text()).trim());
    if (!sysResource()) {
      const over = await sh("true", ["--ulimit", `nofile=${hard + 1}`]);
      expect(over.code).toBe(125);
      expect(over.stderr.trim()).toBe(
        `mini: invalid --ulimit "nofile=${hard + 1}": the hard limit ${hard + 1} is above mini's own (${hard}), and raising it needs CAP_SYS_RESOURCE, which mini does not have`,
      );
    }
  });

  test("--sysctl net.ipv4.ip_forward: set inside only; the host's value unchanged", async () => {
    const host = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
    for (const v of ["1", host === "1" ? "0" : "1"]) {
      const r = await sh("cat /proc/sys/net/ipv4/ip_forward", ["--sysctl", `net.ipv4.ip_forward=${v}`]);
      expect(r.stdout.trim()).toBe(v);
      expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim()).toBe(host);
    }
    const shm = await sh("cat /proc/sys/kernel/shmmni", ["--sysctl", "kernel.shmmni=1000"]);
    expect(shm.stdout.trim()).toBe("1000");
  });

  test("--sysctl of a host-wide key, or net.* with the host's network: refused", async () => {
    for (const [flags, msg] of [
      [["--sysctl", "kernel.core_pattern=x"], "kernel.core_pattern is not namespaced"],
      [["--sysctl", "net.ipv4.ip_forward=1", "--network", "host"], "needs a network namespace of the container's own"],
      [["--sysctl", "kernel.shmmni=1", "--ipc", "host"], "needs an ipc namespace of the container's own"],
    ] as [string[], string][]) {
      const r = await sh("true", flags);
      expect(r.code).toBe(125);
      expect(r.stderr).toContain(msg);
    }
  });

  test("--shm-size, --group-add, --oom-score-adj", async () => {
    const r = await sh("df -k /dev/shm | tail -1; id -G; cat /proc/self/oom_score_adj", [
      "--shm-size",
      "1m",
      "--group-add",
      "audio",
      "--group-add",
      "4242",
      "--oom-score-adj",
      "300",
    ]);
    const [df, groups, oom] = r.stdout.trim().split("\n");
    expect(df!.split(/\s+/)[1]).toBe("1024");
    expect(groups!.split(" ")).toEqual(expect.arrayContaining(["29", "4242"]));
    expect(oom).toBe("300");
    if (!sysResource()) {
      const low = await sh("true", ["--oom-score-adj", "-500"]);
      expect(low.code).toBe(125);
      expect(low.stderr.trim()).toBe(
        "mini: write /proc/self/oom_score_adj -500: EACCES (lowering the OOM score below mini's own needs CAP_SYS_RESOURCE)",
      );
    }
  });
});

describe("namespace modes", () => {
  const ns = (pid: number | "self", type: string) => readlinkSync(`/proc/${pid}/ns/${type}`);

  test("--pid host, --uts host, --ipc host, --cgroupns host: the host's namespaces", async () => {
    const r = await sh(
      "for n in pid uts ipc cgroup; do readlink /proc/self/ns/$n; done; hostname; grep -c ' /dev/shm ' /proc/self/mountinfo",
      ["--pid", "host", "--uts", "host", "--ipc", "host", "--cgroupns", "host"],
    );
    // mini's host namespaces are this test's
    expect(r.stdout.trim().split("\n")).toEqual([
      ns("self", "pid"),
      ns("self", "uts"),
      ns("self", "ipc"),
      ns("self", "cgroup"),
      hostname(),
      "1",
    ]);
    const conflict = await sh("true", ["--uts", "host", "-h", "x"]);
    expect(conflict.code).toBe(125);
    expect(conflict.stderr).toContain("conflicting options");
  });

  test("--pid container:X and --ipc container:X join a running container's (its IPC only when shareable)", async () => {
    const a = await runD("sleep 1000", ["--name", "donor", "--ipc", "shareable"]);
    const pid = await pidOf(a);
    const r = await sh("readlink /proc/self/ns/pid; readlink /proc/self/ns/ipc; ps -o comm | grep -c sleep", [
      "--pid",
      "container:donor",
      "--ipc",
      "container:donor",
    ]);
    expect(r.stdout.trim().split("\n")).toEqual([ns(pid, "pid"), ns(pid, "ipc"), "1"]);
    const b = await runD("sleep 1000", ["--name", "private"]);
    const refused = await sh("true", ["--ipc", "container:private"]);
    expect(refused.code).toBe(125);
    expect(refused.stderr).toContain("its IPC namespace is private");
    const gone = await sh("true", ["--pid", "container:nosuch"]);
    expect(gone.code).toBe(125);
    expect(gone.stderr).toContain("no such container: nosuch");
    await m(["rm", "-f", a, b]);
  });

  test("--cgroup-parent: the container's cgroups under it, removed with it", async () => {
    const parent = `mini-parent-${process.pid}`;
    const id = await runD("sleep 1000", ["--cgroup-parent", `/${parent}`]);
    const pid = await pidOf(id);
    const memLine = readFileSync(`/proc/${pid}/cgroup`, "utf8")
      .split("\n")
      .find((l) => l.includes(":pids:"))!;
    expect(memLine).toBe(`${memLine.split(":")[0]}:pids:/${parent}/mini-${id}`);
    await m(["rm", "-f", id]);
    expect(existsSync(`/sys/fs/cgroup/pids/${parent}`)).toBe(false);
  });
});

describe("accepted options", () => {
  test("--security-opt label=… and apparmor=…: ignored on a host without SELinux/AppArmor, and said so", async () => {
    const lsm = existsSync("/sys/fs/selinux/enforce") || existsSync("/sys/kernel/security/apparmor");
    if (lsm) return;
    const r = await m([
      "--log-level",
      "debug",
      "run",
      "--security-opt",
      "label=type:svirt_t",
      "--security-opt",
      "apparmor=docker-default",
      rootfs,
      "true",
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("--security-opt label=type:svirt_t: ignored (this host has no SELinux)");
    expect(r.stderr).toContain("--security-opt apparmor=docker-default: ignored (this host has no AppArmor)");
  });

  test("--stop-signal and --stop-timeout: recorded, shown by inspect, used by stop", async () => {
    const id = await runD("trap 'exit 7' USR1; trap '' TERM; sleep 1000 & wait", [
      "--stop-signal",
      "SIGUSR1",
      "--stop-timeout",
      "30",
    ]);
    const [info] = JSON.parse((await m(["inspect", id])).stdout);
    expect(info.Config).toMatchObject({ StopSignal: "SIGUSR1", StopTimeout: 30 });
    expect((await m(["stop", id])).code).toBe(0);
    await until(async () => JSON.parse((await m(["inspect", id])).stdout)[0].State.ExitCode === 7, {
      timeoutMs: 10_000,
      what: "exit 7 from the USR1 trap",
    });
    const bad = await sh("true", ["--stop-signal", "SIGNOPE"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain("invalid --stop-signal");
    await m(["rm", "-f", id]);
  });
});

test("nothing is left behind", async () => {
  expect(await leftBehind(before)).toEqual(NOTHING);
  expect(readdirSync("/sys/fs/cgroup/pids").filter((d) => d.startsWith(`mini-parent-${process.pid}`))).toEqual([]);
});
