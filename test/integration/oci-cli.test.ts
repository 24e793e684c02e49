// The runc-compatible CLI, verb by verb, as an engine drives it: create/start/state/kill/delete,
// run, exec, list, ps, pause/resume, update, features, spec, --version, the global flags, hooks,
// the console socket, and the bad inputs. A private --root; every test leaves nothing behind.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { ensureBuilt, MINI, mini, type Result } from "../helpers/mini.ts";
import { until } from "../helpers/until.ts";
import { leftBehind, NOTHING, snapshot, type Snapshot } from "../helpers/leaks.ts";
import { cleanupRootfses, makeRootfs } from "../helpers/rootfs.ts";

setDefaultTimeout(60_000);

let work: string;
let root: string;
let rootfs: string;
let before: Snapshot;

beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(`${tmpdir()}/mini-oci-`);
  root = `${work}/state`;
  rootfs = makeRootfs();
  before = snapshot();
});

afterAll(async () => {
  for (const id of existsSync(root) ? readdirSync(root) : []) await oci(["delete", "--force", id]);
  rmSync(work, { recursive: true, force: true });
  cleanupRootfses();
});

/**
 * mini --root ROOT ARGS. stdout and stderr go to files, not pipes: a created container keeps the
 * stdio it was given (an engine's pipes), so a pipe would never reach EOF.
 */
const oci = (args: string[], opts: { global?: string[]; stdin?: string; fds?: number[] } = {}): Promise<Result> =>
  mini(["--root", root, ...(opts.global ?? []), ...args], { stdin: opts.stdin, fds: opts.fds, captureDir: work });

let n = 0;
/** A bundle whose config.json is `mini spec`'s, changed by `edit`. */
async function bundle(edit: (c: any) => void = () => {}): Promise<string> {
  const dir = `${work}/b${n++}`;
  mkdirSync(dir);
  const c = JSON.parse((await mini(["spec"])).stdout);
  c.root = { path: rootfs, readonly: false };
  c.process.terminal = false;
  c.process.args = ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"];
  edit(c);
  writeFileSync(`${dir}/config.json`, JSON.stringify(c));
  return dir;
}

const state = async (id: string) => JSON.parse((await oci(["state", id])).stdout);

describe("lifecycle verbs", () => {
  test("create → state created, pid file → start → running → kill → stopped → delete", async () => {
    const b = await bundle((c) => {
      c.annotations = { "org.example/key": "value" };
    });
    const c = await oci(["create", "--bundle", b, "--pid-file", `${work}/pid`, "c1"]);
    expect(c.stderr).toBe("");
    expect(c.code).toBe(0);
    let s = await state("c1");
    expect(s).toMatchObject({
      ociVersion: "1.2.1",
      id: "c1",
      status: "created",
      bundle: b,
      annotations: { "org.example/key": "value" },
    });
    expect(readFileSync(`${work}/pid`, "utf8")).toBe(String(s.pid));
    // Created: set up, but the command has not run (the process is still mini's child stage).
    expect(readFileSync(`/proc/${s.pid}/cmdline`, "utf8")).toContain("__child");
    expect((await oci(["start", "c1"])).code).toBe(0);
    await until(async () => readFileSync(`/proc/${s.pid}/cmdline`, "utf8").startsWith("sh\0"), {
      what: "the command to run",
    });
    expect((await state("c1")).status).toBe("running");
    expect((await oci(["start", "c1"])).code).toBe(1); // not "created" any more
    const del = await oci(["delete", "c1"]);
    expect(del.code).toBe(1);
    expect(del.stderr).toMatch(/is running: stop it first or use delete --force/);
    expect((await oci(["kill", "c1", "TERM"])).code).toBe(0);
    await until(async () => (await state("c1")).status === "stopped", { what: "stopped" });
    s = await state("c1");
    expect(s.pid).toBe(0);
    expect((await oci(["delete", "c1"])).code).toBe(0);
    expect((await oci(["state", "c1"])).code).toBe(1);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });

  test("kill takes names and numbers; --all; delete --force of a running container", async () => {
    const b = await bundle((c) => {
      c.process.args = ["sh", "-c", "trap 'echo usr1 > /tmp/got' USR1; while true; do sleep 0.1; done"];
    });
    await oci(["create", "--bundle", b, "k1"]);
    await oci(["start", "k1"]);
    expect((await oci(["kill", "k1", "USR1"])).code).toBe(0);
    expect((await oci(["kill", "k1", "SIGUSR1"])).code).toBe(0);
    expect((await oci(["kill", "k1", "10"])).code).toBe(0);
    const bad = await oci(["kill", "k1", "NOPE"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("mini: invalid signal: NOPE\n");
    expect((await oci(["kill", "--all", "k1", "KILL"])).code).toBe(0);
    await until(async () => (await state("k1")).status === "stopped", { what: "stopped" });
    expect((await oci(["kill", "k1", "KILL"])).code).toBe(1);
    expect((await oci(["delete", "--force", "k1"])).code).toBe(0);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });

  test("run in the foreground returns the exit code; run --detach returns at once", async () => {
    const b = await bundle((c) => {
      c.process.args = ["sh", "-c", "echo out; exit 6"];
    });
    const r = await oci(["run", "--bundle", b, "r1"]);
    expect(r.stdout).toBe("out\n");
    expect(r.code).toBe(6);
    expect((await oci(["state", "r1"])).code).toBe(1); // removed after
    const d = await oci(["run", "--detach", "--bundle", await bundle(), "r2"]);
    expect(d.code).toBe(0);
    expect((await state("r2")).status).toBe("running");
    expect((await oci(["delete", "-f", "r2"])).code).toBe(0);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });

  test("exec: --process JSON, or a command with --env --cwd --user; --detach with --pid-file", async () => {
    await oci(["run", "--detach", "--bundle", await bundle(), "e1"]);
    writeFileSync(
      `${work}/proc.json`,
      JSON.stringify({
        args: ["sh", "-c", "echo $FOO $(pwd) $(id -u); exit 2"],
        env: ["FOO=bar", "PATH=/bin"],
        cwd: "/tmp",
        user: { uid: 65534, gid: 65534 },
      }),
    );
    const p = await oci(["exec", "--process", `${work}/proc.json`, "e1"]);
    expect(p.stdout).toBe("bar /tmp 65534\n");
    expect(p.code).toBe(2);
    const f = await oci([
      "exec",
      "--env",
      "X=1",
      "--cwd",
      "/etc",
      "--user",
      "1000:1000",
      "e1",
      "sh",
      "-c",
      "echo $X $(pwd) $(id -u):$(id -g)",
    ]);
    expect(f.stdout).toBe("1 /etc 1000:1000\n");
    const d = await oci(["exec", "--detach", "--pid-file", `${work}/epid`, "e1", "sleep", "30"]);
    expect(d.code).toBe(0);
    const pid = Number(readFileSync(`${work}/epid`, "utf8"));
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toBe("sleep\x0030\x00");
    const ps = JSON.parse((await oci(["ps", "--format", "json", "e1"])).stdout) as number[];
    expect(ps).toContain(pid);
    expect((await oci(["exec", "--process", `${work}/nope.json`, "e1"])).code).toBe(255); // runc's exec failure
    expect((await oci(["delete", "-f", "e1"])).code).toBe(0);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });

  test("list, pause/resume, update --resources", async () => {
    await oci([
      "run",
      "--detach",
      "--bundle",
      await bundle((c) => {
        c.linux.resources = { ...c.linux.resources, memory: { limit: 64 * 1024 * 1024 } };
        c.mounts.push({
          destination: "/sys/fs/cgroup",
          type: "cgroup",
          source: "cgroup",
          options: ["ro", "nosuid", "noexec", "nodev"],
        });
      }),
      "l1",
    ]);
    const table = await oci(["list"]);
    expect(table.stdout).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER\nl1\s+\d+\s+running\s/);
    expect(JSON.parse((await oci(["list", "--format", "json"])).stdout)[0]).toMatchObject({
      id: "l1",
      status: "running",
    });
    expect((await oci(["list", "-q"])).stdout).toBe("l1\n");
    expect((await oci(["pause", "l1"])).code).toBe(0);
    expect((await state("l1")).status).toBe("paused");
    expect((await oci(["pause", "l1"])).code).toBe(1);
    expect((await oci(["resume", "l1"])).code).toBe(0);
    expect((await state("l1")).status).toBe("running");
    writeFileSync(`${work}/res.json`, JSON.stringify({ memory: { limit: 128 * 1024 * 1024 }, pids: { limit: 50 } }));
    expect((await oci(["update", "--resources", `${work}/res.json`, "l1"])).code).toBe(0);
    const ex = await oci([
      "exec",
      "l1",
      "cat",
      "/sys/fs/cgroup/memory/memory.limit_in_bytes",
      "/sys/fs/cgroup/pids/pids.max",
    ]);
    expect(ex.stderr).toBe("");
    expect(ex.stdout).toBe(`${128 * 1024 * 1024}\n50\n`);
    expect((await oci(["update", "--memory", "96m", "l1"])).code).toBe(0);
    expect((await oci(["exec", "l1", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"])).stdout).toBe(
      `${96 * 1024 * 1024}\n`,
    );
    expect((await oci(["delete", "-f", "l1"])).code).toBe(0);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });

  test("hooks get the state on stdin, in their phases", async () => {
    const hook = (name: string) => ({ path: "/bin/sh", args: ["sh", "-c", `cat > ${work}/hook-${name}.json`] });
    const b = await bundle((c) => {
      c.process.args = ["true"];
      c.hooks = {
        prestart: [hook("prestart")],
        createRuntime: [hook("createRuntime")],
        poststart: [hook("poststart")],
        poststop: [hook("poststop")],
      };
    });
    await oci(["create", "--bundle", b, "h1"]);
    const pre = JSON.parse(readFileSync(`${work}/hook-createRuntime.json`, "utf8"));
    expect(pre).toMatchObject({ id: "h1", status: "creating", bundle: b });
    expect(pre.pid).toBeGreaterThan(0);
    expect(existsSync(`${work}/hook-poststart.json`)).toBe(false);
    await oci(["start", "h1"]);
    expect(JSON.parse(readFileSync(`${work}/hook-poststart.json`, "utf8")).id).toBe("h1");
    await until(async () => (await state("h1")).status === "stopped", { what: "stopped" });
    await oci(["delete", "h1"]);
    expect(JSON.parse(readFileSync(`${work}/hook-poststop.json`, "utf8"))).toMatchObject({
      id: "h1",
      status: "stopped",
    });
    // A failing createRuntime hook fails create, leaving nothing.
    const bad = await bundle((c) => {
      c.hooks = { createRuntime: [{ path: "/bin/false", args: ["false"] }] };
    });
    const r = await oci(["create", "--bundle", bad, "h2"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("mini: error running createRuntime hook #0: exit status 1, stdout: , stderr: \n");
    expect((await oci(["state", "h2"])).code).toBe(1);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });

  test("createContainer and startContainer hooks run in the container's namespaces", async () => {
    const b = await bundle((c) => {
      c.process.args = ["sleep", "30"];
      c.hooks = {
        // Before pivot_root: host paths still resolve; the mount namespace is the container's.
        createContainer: [
          {
            path: "/bin/sh",
            args: ["sh", "-c", `cat > ${work}/cc.json; readlink /proc/self/ns/mnt /proc/self/ns/pid > ${work}/cc.ns`],
          },
        ],
        // After pivot_root: paths are the container's.
        startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "cat > /tmp/sc.json"] }],
      };
    });
    expect((await oci(["create", "--bundle", b, "h3"])).code).toBe(0);
    const s = await state("h3");
    expect(JSON.parse(readFileSync(`${work}/cc.json`, "utf8"))).toMatchObject({
      id: "h3",
      status: "creating",
      pid: s.pid,
    });
    const [mnt, pid] = readFileSync(`${work}/cc.ns`, "utf8").trim().split("\n");
    expect(mnt).toBe(readlinkSync(`/proc/${s.pid}/ns/mnt`));
    expect(pid).toBe(readlinkSync(`/proc/${s.pid}/ns/pid`));
    expect(mnt).not.toBe(readlinkSync("/proc/self/ns/mnt"));
    expect(existsSync(`${rootfs}/tmp/sc.json`)).toBe(false);
    expect((await oci(["start", "h3"])).code).toBe(0);
    expect(JSON.parse(readFileSync(`${rootfs}/tmp/sc.json`, "utf8"))).toMatchObject({ id: "h3" });
    rmSync(`${rootfs}/tmp/sc.json`);
    await oci(["delete", "--force", "h3"]);
    // A failing createContainer hook fails create and leaves nothing.
    const bad = await bundle((c) => {
      c.hooks = { createContainer: [{ path: "/bin/false", args: ["false"] }] };
    });
    const r = await oci(["create", "--bundle", bad, "h4"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("mini: error running createContainer hook #0: exit status 1, stdout: , stderr: \n");
    expect((await oci(["state", "h4"])).code).toBe(1);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });

  test("--console-socket: the pty master arrives over the socket; the process has it as its terminal", async () => {
    const b = await bundle((c) => {
      c.process.terminal = true;
      c.process.consoleSize = { height: 30, width: 100 };
      c.process.args = ["sh", "-c", "tty; stty size"];
    });
    const sock = `${work}/console.sock`;
    const py = Bun.spawn(
      [
        "python3",
        "-c",
        `
import socket, os, select, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(${JSON.stringify(sock)}); s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 1024, 1)
out = b""; end = time.time() + 5
while time.time() < end:
    r, _, _ = select.select([fds[0]], [], [], 0.2)
    if not r: continue
    try: d = os.read(fds[0], 4096)
    except OSError: break
    if not d: break
    out += d
print(msg.decode(), repr(out.decode()), flush=True)
`,
      ],
      { stdout: "pipe" },
    );
    const reader = (py.stdout as ReadableStream<Uint8Array>).getReader();
    // "listening\n" may arrive in more than one chunk: whatever follows it is the answer's start.
    let out = "";
    while (!out.includes("listening\n")) out += new TextDecoder().decode((await reader.read()).value);
    out = out.slice(out.indexOf("listening\n") + "listening\n".length);
    expect((await oci(["create", "--bundle", b, "--console-socket", sock, "t1"])).code).toBe(0);
    expect((await oci(["start", "t1"])).code).toBe(0);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    expect(out).toMatch(/^\/dev\/pts\/0 '\/dev\/pts\/0\\r\\n30 100\\r\\n'\n$/);
    await oci(["delete", "-f", "t1"]);
    const noSock = await oci(["create", "--bundle", b, "t2"]);
    expect(noSock.code).toBe(1);
    expect(noSock.stderr).toMatch(/--console-socket is required/);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});

describe("namespaces by path", () => {
  test("a mount namespace and a network namespace given by path are joined", async () => {
    const holder = Bun.spawn(["unshare", "--mount", "--net", "--propagation", "private", "sleep", "60"], {
      stdout: "ignore",
      stderr: "ignore",
    });
    try {
      await until(async () => readlinkSync(`/proc/${holder.pid}/ns/mnt`) !== readlinkSync("/proc/self/ns/mnt"), {
        what: "the holder's namespaces",
      });
      const b = await bundle((c) => {
        c.process.args = ["sh", "-c", "readlink /proc/self/ns/mnt; readlink /proc/self/ns/net"];
        c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) =>
          n.type === "mount"
            ? { type: "mount", path: `/proc/${holder.pid}/ns/mnt` }
            : n.type === "network"
              ? { type: "network", path: `/proc/${holder.pid}/ns/net` }
              : n,
        );
      });
      const r = await oci(["run", "--bundle", b, "ns1"]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(
        `${readlinkSync(`/proc/${holder.pid}/ns/mnt`)}\n${readlinkSync(`/proc/${holder.pid}/ns/net`)}\n`,
      );
    } finally {
      holder.kill("SIGKILL");
      await holder.exited;
    }
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});

describe("--preserve-fds", () => {
  test("the engine's fds 3.. reach the container's process as 3..", async () => {
    writeFileSync(`${work}/f3`, "three\n");
    const { openSync, closeSync } = await import("node:fs");
    const fd = openSync(`${work}/f3`, "r");
    const b = await bundle((c) => {
      c.process.args = ["sh", "-c", "cat <&3; ls /proc/self/fd | wc -l"];
    });
    const p = await oci(["run", "--preserve-fds", "1", "--bundle", b, "pf1"], { fds: [fd] });
    closeSync(fd);
    expect(p.code).toBe(0);
    expect(p.stdout).toBe("three\n5\n"); // 0 1 2, the preserved 3, ls's own
    expect(p.stderr).toBe("");
  });

  test("a gap (--preserve-fds 2 with only fd 3 passed) is an error naming the fd, never one of mini's own", async () => {
    const { openSync, closeSync } = await import("node:fs");
    const fd = openSync(`${work}/f3`, "r");
    const b = await bundle((c) => {
      c.process.args = ["ls", "-l", "/proc/self/fd"];
    });
    const p = await oci(["run", "--preserve-fds", "2", "--bundle", b, "pf2"], { fds: [fd] });
    closeSync(fd);
    expect(p.code).toBe(1);
    expect(p.stderr.trim()).toBe(
      "mini: --preserve-fds 2: fd 4 was not passed to mini (fds 3 to 4 go to the container)",
    );
    expect(p.stdout).toBe("");
  });
});

describe("bad input, global flags, small verbs", () => {
  test("unknown container, duplicate id, malformed config, no id: exit 1, one line, nothing left", async () => {
    for (const v of [
      ["state", "nope"],
      ["start", "nope"],
      ["kill", "nope", "KILL"],
      ["delete", "nope"],
      ["pause", "nope"],
      ["exec", "nope", "true"],
    ]) {
      const r = await oci(v);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^mini: container "nope" does not exist\n$/);
    }
    const b = await bundle();
    expect((await oci(["create", "--bundle", b, "dup"])).code).toBe(0);
    const dup = await oci(["create", "--bundle", b, "dup"]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toBe('mini: container "dup" already exists\n');
    await oci(["delete", "--force", "dup"]);
    const broken = `${work}/broken`;
    mkdirSync(broken);
    writeFileSync(
      `${broken}/config.json`,
      '{"ociVersion": "1.1.0", "root": {"path": "rootfs"}, "process": {"cwd": "/", "user": {"uid": 0, "gid": 0}, "args": "not-a-list"}}',
    );
    const m = await oci(["create", "--bundle", broken, "bad1"]);
    expect(m.code).toBe(1);
    expect(m.stderr.trim().split("\n").length).toBe(1);
    expect(m.stderr).toMatch(/process\.args/);
    expect((await oci(["state", "bad1"])).code).toBe(1);
    expect((await oci(["create", "--bundle", b])).code).toBe(1);
    expect((await oci(["create", "--bundle", b, "../escape"])).stderr).toMatch(/invalid container id/);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });

  test("--log with --log-format json gets the error as a JSON line; --systemd-cgroup is refused clearly", async () => {
    const logf = `${work}/log.json`;
    const r = await oci(["state", "ghost"], { global: ["--log", logf, "--log-format", "json"] });
    expect(r.code).toBe(1);
    const line = JSON.parse(readFileSync(logf, "utf8").trim().split("\n").pop()!);
    expect(line).toMatchObject({ level: "error", msg: 'container "ghost" does not exist' });
    const s = await oci(["list"], { global: ["--systemd-cgroup"] });
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/systemd/);
    expect(
      (await oci(["list"], { global: ["--cgroup-manager", "cgroupfs", "--rootless", "false", "--debug"] })).code,
    ).toBe(0);
  });

  test("--version, features, spec", async () => {
    const v = await oci(["--version"]);
    expect(v.stdout).toMatch(/^mini version \d+\.\d+\.\d+\ncommit: \S+\nspec: 1\.2\.1\n$/);
    const f = JSON.parse((await oci(["features"])).stdout);
    expect(f).toMatchObject({ ociVersionMin: "1.0.0", ociVersionMax: "1.2.1" });
    expect(f.hooks).toContain("poststop");
    expect(f.linux.namespaces).toContain("user");
    const dir = `${work}/specdir`;
    mkdirSync(dir);
    expect((await oci(["spec", "--bundle", dir])).code).toBe(0);
    expect(JSON.parse(readFileSync(`${dir}/config.json`, "utf8")).ociVersion).toMatch(/^1\./);
    expect((await oci(["spec", "--bundle", dir])).code).not.toBe(0); // exists already
  });
});

describe("host safety", () => {
  test("CVE-2019-5736: a container process holding /proc/1/exe of the waiting child stage can't write mini", async () => {
    const before5736 = Bun.hash(readFileSync(MINI)).toString();
    await oci([
      "create",
      "--bundle",
      await bundle((c) => {
        c.process.args = ["sh", "-c", "sleep 5"];
        c.process.capabilities = {
          bounding: ["CAP_SYS_PTRACE", "CAP_DAC_OVERRIDE"],
          effective: ["CAP_SYS_PTRACE", "CAP_DAC_OVERRIDE"],
          permitted: ["CAP_SYS_PTRACE", "CAP_DAC_OVERRIDE"],
        };
      }),
      "cve1",
    ]);
    // While PID 1 is still mini's child stage: keep its exe open, wait for the exec and for
    // `mini start` to be gone (no process runs the binary: else the write fails with ETXTBSY
    // whatever mini does), then write through it.
    const attack =
      "exec 3</proc/1/exe; while grep -q __child /proc/1/cmdline; do sleep 0.05; done; sleep 1.5; (echo pwned >> /proc/self/fd/3) 2> /tmp/result; echo status=$? >> /tmp/result";
    expect((await oci(["exec", "--detach", "cve1", "sh", "-c", attack])).code).toBe(0);
    await Bun.sleep(300);
    expect((await oci(["start", "cve1"])).code).toBe(0);
    try {
      await until(
        async () =>
          existsSync(`${rootfs}/tmp/result`) && readFileSync(`${rootfs}/tmp/result`, "utf8").includes("status="),
        { what: "the attack to finish" },
      );
    } catch (e) {
      await oci(["delete", "--force", "cve1"]);
      throw e;
    }
    const result = readFileSync(`${rootfs}/tmp/result`, "utf8");
    rmSync(`${rootfs}/tmp/result`);
    await oci(["delete", "--force", "cve1"]);
    expect(result).toMatch(/Read-only file system\nstatus=1\n$/);
    expect(Bun.hash(readFileSync(MINI)).toString()).toBe(before5736);
  });

  test("CVE-2024-21626: the container's process and exec'd ones get no host fd beyond stdio", async () => {
    const init = await oci([
      "run",
      "--bundle",
      await bundle((c) => {
        c.process.args = ["ls", "/proc/self/fd"];
      }),
      "fd0",
    ]);
    expect(init.stdout.trim().split("\n").map(Number).sort()).toEqual([0, 1, 2, 3]); // 3: ls's own directory
    await oci(["run", "--detach", "--bundle", await bundle(), "fd1"]);
    const ex = await oci(["exec", "fd1", "ls", "/proc/self/fd"]);
    expect(ex.stdout.trim().split("\n").map(Number).sort()).toEqual([0, 1, 2, 3]);
    await oci(["delete", "--force", "fd1"]);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});
