// runtime-spec 1.2 as an engine uses it: bundles as `mini spec` and `runc spec` write them, run
// with runc's verbs. Terminals (the caller's pty, --console-socket), the process attributes
// (scheduler, I/O priority, personality, CPU affinity, time offsets, umask, ambient capabilities,
// HOME, environment), mounts (idmapped, recursive attributes, tmpcopyup, read-only /dev, masked
// paths, /proc symlinks, relative destinations), namespaces (user and time by path, empty paths,
// none for mounts) and seccomp's notify listener. Container ids start with "mini-": their cgroups
// (named after them) are then seen by the leak check.
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { leftBehind, NOTHING, snapshot, type Snapshot } from "../helpers/leaks.ts";
import { ensureBuilt, MINI, run } from "../helpers/mini.ts";
import { OciEnv } from "../helpers/oci.ts";
import { disposeSessions, Session } from "../helpers/pty-session.ts";
import { cleanupRootfses, makeRootfs } from "../helpers/rootfs.ts";
import { until } from "../helpers/until.ts";

setDefaultTimeout(60_000);

let o: OciEnv;
let before: Snapshot;
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", TERM: "vt100" };

beforeAll(() => {
  ensureBuilt();
  o = new OciEnv();
  before = snapshot();
});
afterEach(disposeSessions);
afterAll(async () => {
  await o.cleanup();
  cleanupRootfses();
});

/** The output of one container run in the foreground (stdout, with stderr on failure). */
async function output(edit: (c: any) => void, from: "mini" | "runc" = "mini", id = "mini-out"): Promise<string> {
  const r = await o.run(["run", "--bundle", await o.bundle(edit, from), id]);
  if (r.code !== 0) throw new Error(`run exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/**
 * A process in a user namespace of its own mapping 65536 ids from host id 200000 (a python fork
 * that unshares; util-linux's unshare maps only one id without newuidmap), its pid.
 */
async function usernsHolder(): Promise<{ pid: number; stop: () => Promise<void> }> {
  const code = `
import ctypes, os, sys, time
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    if ctypes.CDLL(None, use_errno=True).unshare(0x10000000) != 0: os._exit(1)
    os.write(w, b"x"); time.sleep(600); os._exit(0)
os.close(w); os.read(r, 1)
for f in ("uid_map", "gid_map"): open(f"/proc/{pid}/{f}", "w").write("0 200000 65536\\n")
print(pid, flush=True)
os.waitpid(pid, 0)
`;
  const p = Bun.spawn(["python3", "-c", code], { stdout: "pipe" });
  const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
  const pid = Number(new TextDecoder().decode((await reader.read()).value ?? new Uint8Array()).trim());
  if (!pid) throw new Error("the user namespace holder did not start");
  return {
    pid,
    stop: async () => {
      process.kill(pid, "SIGKILL");
      await p.exited;
    },
  };
}

/** A holder process in new namespaces (`unshare ARGS sleep`), its pid once they exist. */
async function holder(args: string[]): Promise<{ pid: number; stop: () => Promise<void> }> {
  const p = Bun.spawn(["unshare", ...args, "--fork", "--kill-child", "sleep", "600"], { stdout: "ignore" });
  const pid = await until(
    () => {
      const kids = readFileSync(`/proc/${p.pid}/task/${p.pid}/children`, "utf8").trim();
      return kids ? Number(kids.split(" ")[0]) : undefined;
    },
    { what: "the namespace holder" },
  );
  return {
    pid,
    stop: async () => {
      p.kill("SIGKILL");
      await p.exited;
    },
  };
}

describe("terminals", () => {
  test("runc spec's process.terminal in the foreground: the caller's terminal, a pty of the container's devpts owned by its user", async () => {
    const b = await o.bundle((c) => {
      c.process.terminal = true;
      c.process.user = { uid: 1000, gid: 1000 };
      c.process.args = ["sh", "-c", "tty; readlink /proc/self/fd/0; stat -c 'owner=%u group=%g' $(tty); stty size"];
    }, "runc");
    const s = new Session(["--root", o.root, "run", "--bundle", b, "mini-tty1"], env, { cols: 90, rows: 25 });
    expect(await s.exited(10_000)).toBe(0);
    // runc keeps devpts' group (gid=5 in runc spec) and gives the pty to the process's user.
    expect(s.out).toMatch(/\/dev\/pts\/0\r\n\/dev\/pts\/0\r\nowner=1000 group=5\r\n25 90\r\n/);
  });

  test("exec -t without --console-socket uses the caller's terminal; with one, process.consoleSize is applied first", async () => {
    expect((await o.run(["run", "--detach", "--bundle", await o.bundle(), "mini-tty2"])).code).toBe(0);
    const s = new Session(
      ["--root", o.root, "exec", "-t", "--user", "1000", "mini-tty2", "sh", "-c", "tty; stat -c %u $(tty); stty size"],
      env,
      { cols: 77, rows: 22 },
    );
    expect(await s.exited(10_000)).toBe(0);
    expect(s.out).toMatch(/^\/dev\/pts\/\d+\r\n1000\r\n22 77\r\n$/);

    const sock = await o.listen("console");
    writeFileSync(
      `${o.work}/tty-proc.json`,
      JSON.stringify({
        terminal: true,
        consoleSize: { height: 20, width: 70 },
        args: ["sh", "-c", "tty; stty size"],
        cwd: "/",
        user: { uid: 0, gid: 0 },
        env: ["PATH=/bin"],
      }),
    );
    const d = await o.run([
      "exec",
      "--detach",
      "--console-socket",
      sock.path,
      "--process",
      `${o.work}/tty-proc.json`,
      "mini-tty2",
    ]);
    expect(d.code).toBe(0);
    const [r] = await sock.results();
    expect(r.name).toBe("/dev/ptmx");
    expect(r.out).toMatch(/^\/dev\/pts\/\d+\r\n20 70\r\n$/);
    // runc's rule: a detached exec with a terminal needs somewhere to send it.
    const noSock = await o.run(["exec", "-d", "-t", "mini-tty2", "true"]);
    expect(noSock.code).toBe(255);
    expect(noSock.stderr).toMatch(/exec failed: cannot allocate a tty when detaching without --console-socket/);
    expect((await o.run(["delete", "-f", "mini-tty2"])).code).toBe(0);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});

describe("process attributes", () => {
  test("scheduler, I/O priority and personality: for the container's process and exec'd ones", async () => {
    const script =
      "awk '{print $19}' /proc/self/stat; grep -E '^policy' /proc/self/sched | tr -d ' '; ionice; uname -m";
    const b = await o.bundle((c) => {
      c.process.scheduler = { policy: "SCHED_BATCH", nice: 7 };
      c.process.ioPriority = { class: "IOPRIO_CLASS_IDLE", priority: 7 };
      c.linux.personality = { domain: "LINUX32" };
    });
    expect((await o.run(["run", "-d", "--bundle", b, "mini-attrs"])).code).toBe(0);
    const pid = (await o.state("mini-attrs")).pid;
    expect(readFileSync(`/proc/${pid}/personality`, "utf8").trim()).toBe("00000008");
    expect(readFileSync(`/proc/${pid}/stat`, "utf8").split(" ")[18]).toBe("7");
    const e = await o.run(["exec", "mini-attrs", "sh", "-c", script]);
    expect(e.stderr).toBe("");
    expect(e.stdout).toBe("7\npolicy:3\nidle\ni686\n");
    expect((await o.run(["delete", "-f", "mini-attrs"])).code).toBe(0);
    // Validated against what the host gives: a real-time policy is fine for root, deadline with a cpuset is explained.
    const dl = await o.run([
      "run",
      "--bundle",
      await o.bundle((c) => {
        c.process.scheduler = { policy: "SCHED_DEADLINE", runtime: 1_000_000, deadline: 2_000_000, period: 2_000_000 };
        c.linux.resources.cpu = { cpus: "0" };
        c.process.args = ["true"];
      }),
      "mini-dl",
    ]);
    expect(dl.code).toBe(1);
    expect(dl.stderr).toMatch(
      /sched_setattr process\.scheduler \(SCHED_DEADLINE\): EPERM \(a process scheduler can't be used together with linux\.resources\.cpu\.cpus\)/,
    );
    expect(await leftBehind(before)).toEqual(NOTHING);
  });

  test("execCPUAffinity: final after the cgroups are joined; unset, an inherited mask is reset to the cpuset", async () => {
    const b = await o.bundle((c) => {
      c.process.execCPUAffinity = { initial: "0", final: "1" };
    });
    expect((await o.run(["run", "-d", "--bundle", b, "mini-aff"])).code).toBe(0);
    const allowed = "grep Cpus_allowed_list /proc/self/status | cut -f2";
    expect((await o.run(["exec", "mini-aff", "sh", "-c", allowed])).stdout).toBe("1\n");
    // mini itself pinned to CPU 0 (taskset): the exec'd process is not, without execCPUAffinity.
    writeFileSync(
      `${o.work}/aff.json`,
      JSON.stringify({ args: ["sh", "-c", allowed], cwd: "/", user: { uid: 0, gid: 0 }, env: ["PATH=/bin"] }),
    );
    const pinned = await run([
      "taskset",
      "-c",
      "0",
      MINI,
      "--root",
      o.root,
      "exec",
      "--process",
      `${o.work}/aff.json`,
      "mini-aff",
    ]);
    expect(pinned.stdout).toBe(`${readFileSync("/sys/fs/cgroup/cpuset/cpuset.cpus", "utf8").trim()}\n`);
    expect((await o.run(["delete", "-f", "mini-aff"])).code).toBe(0);
  });

  test("time namespace offsets: the container's boottime and monotonic clocks, exec'd processes too", async () => {
    const b = await o.bundle((c) => {
      c.linux.namespaces.push({ type: "time" });
      c.linux.timeOffsets = { boottime: { secs: 86400 * 400 }, monotonic: { secs: 86400 * 400 } };
    });
    expect((await o.run(["run", "-d", "--bundle", b, "mini-time"])).code).toBe(0);
    const uptime = Number((await o.run(["exec", "mini-time", "cat", "/proc/uptime"])).stdout.split(" ")[0]);
    expect(uptime).toBeGreaterThan(86400 * 400);
    const pid = (await o.state("mini-time")).pid;
    expect(readlinkSync(`/proc/${pid}/ns/time`)).not.toBe(readlinkSync("/proc/self/ns/time"));
    expect((await o.run(["delete", "-f", "mini-time"])).code).toBe(0);
  });

  test("exec: umask, ambient capabilities (one the kernel refuses is a warning), HOME of an unknown uid, a newline in a variable", async () => {
    const b = await o.bundle((c) => {
      c.process.user = { uid: 4242, gid: 4242, umask: 0o027 };
      c.process.env = ["PATH=/bin:/usr/bin", "MULTI=one\ntwo"];
      c.process.args = [
        "sh",
        "-c",
        'umask; echo "HOME=$HOME"; printf "%s" "$MULTI" | wc -l; trap "exit 0" TERM; sleep 1000 & wait',
      ];
    });
    expect((await o.run(["run", "-d", "--bundle", b, "mini-proc"])).code).toBe(0);
    const e = await o.run([
      "exec",
      "--env",
      "EXTRA=a\nb",
      "mini-proc",
      "sh",
      "-c",
      'umask; echo "HOME=$HOME"; printf "%s" "$EXTRA" | wc -l',
    ]);
    expect(e.stdout).toBe("0027\nHOME=/\n1\n");
    const caps = (inheritable: string[]) =>
      JSON.stringify({
        args: ["sh", "-c", "grep CapAmb /proc/self/status | cut -f2"],
        cwd: "/",
        user: { uid: 1000, gid: 1000 },
        env: ["PATH=/bin"],
        capabilities: {
          bounding: ["CAP_NET_BIND_SERVICE"],
          permitted: ["CAP_NET_BIND_SERVICE"],
          effective: ["CAP_NET_BIND_SERVICE"],
          inheritable,
          ambient: ["CAP_NET_BIND_SERVICE"],
        },
      });
    writeFileSync(`${o.work}/amb.json`, caps(["CAP_NET_BIND_SERVICE"]));
    const amb = await o.run(["exec", "--process", `${o.work}/amb.json`, "mini-proc"]);
    expect(amb.stdout).toBe("0000000000000400\n");
    writeFileSync(`${o.work}/amb2.json`, caps([]));
    const refused = await o.run(["exec", "--process", `${o.work}/amb2.json`, "mini-proc"]);
    expect(refused.code).toBe(0);
    expect(refused.stdout).toBe("0000000000000000\n");
    expect(refused.stderr).toMatch(/warning: can't raise ambient capability/);
    expect((await o.run(["delete", "-f", "mini-proc"])).code).toBe(0);
    // The container's own process: the same umask, HOME and variable.
    const out = await output((c) => {
      c.process.user = { uid: 4242, gid: 4242, umask: 0o027 };
      c.process.env = ["PATH=/bin", "MULTI=one\ntwo"];
      c.process.args = ["sh", "-c", 'umask; echo "HOME=$HOME"; printf "%s" "$MULTI" | wc -l'];
    });
    expect(out).toBe("0027\nHOME=/\n1\n");
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});

describe("mounts", () => {
  test("recursive attributes (rro, rnosuid) reach submounts; tmpcopyup with mode=; relative destinations", async () => {
    const src = `${o.work}/rsrc`;
    mkdirSync(`${src}/sub`, { recursive: true });
    await run(["mount", "-t", "tmpfs", "tmpfs", `${src}/sub`]);
    try {
      mkdirSync(`${o.rootfs}/seeded`, { recursive: true });
      writeFileSync(`${o.rootfs}/seeded/hello`, "hi");
      chmodSync(`${o.rootfs}/seeded/hello`, 0o640);
      const out = await output((c) => {
        c.mounts.push(
          { destination: "/r", type: "bind", source: src, options: ["rbind", "rro", "rnosuid"] },
          { destination: "/seeded", type: "tmpfs", source: "tmpfs", options: ["tmpcopyup", "mode=1777"] },
          { destination: "rel", type: "tmpfs", source: "tmpfs", options: ["size=1m"] },
        );
        c.process.args = [
          "sh",
          "-c",
          "for d in /r /r/sub; do touch $d/x 2>/dev/null && echo $d rw || echo $d ro; done; grep -E ' /r(/sub)? ' /proc/self/mountinfo | grep -c nosuid; stat -c '%a %n' /seeded /seeded/hello; cat /seeded/hello; echo; grep -c ' /rel ' /proc/self/mountinfo",
        ];
      });
      expect(out).toBe("/r ro\n/r/sub ro\n2\n1777 /seeded\n640 /seeded/hello\nhi\n1\n");
    } finally {
      await run(["umount", `${src}/sub`]);
      rmSync(`${o.rootfs}/seeded`, { recursive: true, force: true });
    }
    expect(await leftBehind(before)).toEqual(NOTHING);
  });

  test("a read-only /dev still gets its nodes, links and the console; masked directories share one read-only tmpfs", async () => {
    const sock = await o.listen("console");
    const b = await o.bundle((c) => {
      c.process.terminal = true;
      c.mounts.find((m: any) => m.destination === "/dev").options.push("ro");
      c.linux.maskedPaths = [...c.linux.maskedPaths, "/m1", "/m2"];
      c.process.args = [
        "sh",
        "-c",
        "tty; ls /dev/null /dev/ptmx /dev/console >/dev/null && echo nodes; touch /dev/x 2>&1 | grep -o 'Read-only'; [ $(stat -c %d /m1) = $(stat -c %d /m2) ] && echo shared; touch /m1/y 2>&1 | grep -o 'Read-only'",
      ];
    }, "runc");
    mkdirSync(`${o.rootfs}/m1`, { recursive: true });
    mkdirSync(`${o.rootfs}/m2`, { recursive: true });
    try {
      expect((await o.run(["run", "--detach", "--console-socket", sock.path, "--bundle", b, "mini-rodev"])).code).toBe(
        0,
      );
      const [r] = await sock.results();
      expect(r.out).toBe("/dev/pts/0\r\nnodes\r\nRead-only\r\nshared\r\nRead-only\r\n");
    } finally {
      await o.run(["delete", "-f", "mini-rodev"]);
      for (const d of ["m1", "m2"]) rmSync(`${o.rootfs}/${d}`, { recursive: true, force: true });
    }
    expect(await leftBehind(before)).toEqual(NOTHING);
  });

  test("a /proc that is a symlink in the rootfs is refused; nothing is mounted through it", async () => {
    const rootfs = makeRootfs();
    rmSync(`${rootfs}/proc`, { recursive: true, force: true });
    mkdirSync(`${rootfs}/elsewhere`);
    symlinkSync("/elsewhere", `${rootfs}/proc`);
    const r = await o.run(["run", "--bundle", await o.bundle(() => {}, "runc", rootfs), "mini-procsym"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "mini: mounts: /proc: proc must be mounted on an ordinary directory (it is a symlink in the rootfs)\n",
    );
    expect((await o.run(["state", "mini-procsym"])).code).toBe(1);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });

  test("idmapped binds: explicit maps without a user namespace, the container's maps with one, a source that is a mount itself", async () => {
    const src = `${o.work}/idsrc`;
    mkdirSync(src);
    writeFileSync(`${src}/f`, "x");
    const map = [{ containerID: 0, hostID: 1000, size: 10 }];
    const out = await output((c) => {
      c.mounts.push({
        destination: "/idm",
        type: "bind",
        source: src,
        options: ["bind", "idmap"],
        uidMappings: map,
        gidMappings: map,
      });
      c.process.args = ["stat", "-c", "%u:%g", "/idm/f"];
    });
    expect(out).toBe("1000:1000\n");
    // A user-namespaced container: "idmap" alone takes its maps, so host root's file is its root's.
    const shared = `${o.work}/idmnt`;
    mkdirSync(shared);
    await run(["mount", "-t", "tmpfs", "tmpfs", shared]);
    try {
      writeFileSync(`${shared}/g`, "y");
      const usernsRootfs = makeRootfs();
      await run(["chown", "-R", "100000:100000", usernsRootfs]);
      const b = await o.bundle(
        (c) => {
          c.linux.namespaces.push({ type: "user" });
          c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
          c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
          c.mounts.push(
            { destination: "/idm", type: "bind", source: src, options: ["bind", "idmap"] },
            { destination: "/shared", type: "bind", source: shared, options: ["rbind", "ridmap"] },
            { destination: "/plain", type: "bind", source: src, options: ["bind"] },
          );
          c.mounts = c.mounts.filter((m: any) => m.type !== "cgroup");
          c.process.args = ["stat", "-c", "%u:%g %n", "/idm/f", "/shared/g", "/plain/f"];
        },
        "mini",
        usernsRootfs,
      );
      const r = await o.run(["run", "--bundle", b, "mini-idmap"]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("0:0 /idm/f\n0:0 /shared/g\n65534:65534 /plain/f\n");
    } finally {
      await run(["umount", shared]);
    }
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});

describe("--no-pivot", () => {
  test("the host's full proc and sysfs mounts are gone from the container's mount namespace (only its own are left)", async () => {
    const b = await o.bundle();
    expect((await o.run(["create", "--no-pivot", "--bundle", b, "mini-nopivot"])).code).toBe(0);
    const pid = (await o.state("mini-nopivot")).pid;
    // nsenter's root is the namespace's root: every mount of it shows, the shadowed host ones too.
    const r = await run([
      "nsenter",
      "-t",
      String(pid),
      "-m",
      "-p",
      "awk",
      '$4 == "/" && ($9 == "proc" || $9 == "sysfs") { print $9 }',
      "/proc/self/mountinfo",
    ]);
    expect(r.stdout.trim().split("\n").sort()).toEqual(["proc", "sysfs"]);
    expect((await o.run(["delete", "-f", "mini-nopivot"])).code).toBe(0);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});

describe("namespaces", () => {
  test("a user namespace and a time namespace joined by path; an empty path is a new namespace", async () => {
    const userns = await usernsHolder();
    const timens = await holder(["--time", "--boottime", "3000000"]);
    try {
      const b = await o.bundle((c) => {
        c.linux.namespaces = [
          ...c.linux.namespaces.map((n: any) => (n.type === "network" ? { type: "network", path: "" } : n)),
          { type: "user", path: `/proc/${userns.pid}/ns/user` },
          { type: "time", path: `/proc/${timens.pid}/ns/time` },
        ];
        c.mounts = c.mounts.filter((m: any) => m.type !== "cgroup");
        c.process.args = [
          "sh",
          "-c",
          "for n in user time net; do readlink /proc/self/ns/$n; done; cut -d. -f1 /proc/uptime",
        ];
      });
      const r = await o.run(["run", "--bundle", b, "mini-nsjoin"]);
      expect(r.stderr).toBe("");
      const [user, time, net, uptime] = r.stdout.trim().split("\n");
      expect(user).toBe(readlinkSync(`/proc/${userns.pid}/ns/user`));
      expect(time).toBe(readlinkSync(`/proc/${timens.pid}/ns/time`));
      expect(net).not.toBe(readlinkSync("/proc/self/ns/net"));
      expect(Number(uptime)).toBeGreaterThan(3_000_000);
    } finally {
      await userns.stop();
      await timens.stop();
    }
    const dup = await o.run([
      "create",
      "--bundle",
      await o.bundle((c) => c.linux.namespaces.push({ type: "pid" })),
      "mini-dup",
    ]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toBe('mini: linux.namespaces: "pid" is listed twice\n');
    expect(await leftBehind(before)).toEqual(NOTHING);
  });

  test("no mount namespace: the runtime's own, the container chroot'ed, exec'd processes too; nothing mounted stays after delete", async () => {
    const mounts = () =>
      readFileSync("/proc/self/mountinfo", "utf8")
        .split("\n")
        .filter((l) => l.includes(o.rootfs));
    const b = await o.bundle((c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== "mount");
    });
    expect((await o.run(["create", "--bundle", b, "mini-nomnt"])).code).toBe(0);
    expect(mounts().length).toBeGreaterThan(0);
    expect((await o.run(["start", "mini-nomnt"])).code).toBe(0);
    const pid = (await o.state("mini-nomnt")).pid;
    expect(readlinkSync(`/proc/${pid}/ns/mnt`)).toBe(readlinkSync("/proc/self/ns/mnt"));
    writeFileSync(`${o.rootfs}/marker`, "");
    const e = await o.run(["exec", "mini-nomnt", "sh", "-c", "ls /marker; readlink /proc/self/ns/mnt"]);
    expect(e.stdout).toBe(`/marker\n${readlinkSync("/proc/self/ns/mnt")}\n`);
    rmSync(`${o.rootfs}/marker`);
    expect((await o.run(["delete", "-f", "mini-nomnt"])).code).toBe(0);
    expect(mounts()).toEqual([]);
    // In the foreground too: removed when it ends.
    expect(
      await output((c) => {
        c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== "mount");
        c.process.args = ["true"];
      }),
    ).toBe("");
    expect(mounts()).toEqual([]);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});

describe("seccomp", () => {
  test("SCMP_ACT_NOTIFY: the notify fd goes to listenerPath with the container process state, for the container and exec", async () => {
    const agent = await o.listen("seccomp", 2);
    const b = await o.bundle((c) => {
      c.linux.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        listenerPath: agent.path,
        listenerMetadata: "from-the-config",
        flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_LOG"],
        syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY" }],
      };
    });
    expect((await o.run(["run", "-d", "--bundle", b, "mini-notify"])).code).toBe(0);
    const pid = (await o.state("mini-notify")).pid;
    const e = await o.run(["exec", "mini-notify", "sh", "-c", "mkdir /tmp/x 2>&1; echo status=$?"]);
    const [init, exec] = await agent.results(2);
    expect(init).toMatchObject({
      fd: "anon_inode:seccomp notify",
      state: {
        ociVersion: "1.2.1",
        fds: ["seccompFd"],
        pid,
        metadata: "from-the-config",
        state: { id: "mini-notify", status: "creating", pid },
      },
    });
    expect(exec.state).toMatchObject({ fds: ["seccompFd"], state: { id: "mini-notify", status: "running", pid } });
    expect(exec.state.pid).not.toBe(pid);
    // The agent closed its fd without answering: the kernel fails the call.
    expect(e.stdout).toMatch(/Function not implemented\nstatus=1\n$/);
    expect((await o.run(["delete", "-f", "mini-notify"])).code).toBe(0);
    const noListener = await o.run([
      "create",
      "--bundle",
      await o.bundle((c) => {
        c.linux.seccomp = {
          defaultAction: "SCMP_ACT_ALLOW",
          syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }],
        };
      }),
      "mini-nolistener",
    ]);
    expect(noListener.code).toBe(1);
    expect(noListener.stderr).toMatch(
      /^mini: linux\.seccomp\.listenerPath: an absolute path is required for SCMP_ACT_NOTIFY/,
    );
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});

describe("validation as runc", () => {
  test("an unknown capability is warned about and ignored; process.user.gid may be left out", async () => {
    const r = await o.run([
      "run",
      "--bundle",
      await o.bundle((c) => {
        c.process.capabilities.bounding.push("CAP_NOT_A_THING");
        c.process.user = { uid: 1000 };
        c.process.args = ["sh", "-c", "id -u; id -g"];
      }, "runc"),
      "mini-val",
    ]);
    expect(r.stdout).toBe("1000\n0\n");
    expect(r.stderr).toMatch(/unknown capability "CAP_NOT_A_THING" ignored/);
  });
});
