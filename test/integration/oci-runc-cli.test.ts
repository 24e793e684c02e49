// runc 1.3's command-line contract, as engines and their harnesses rely on it: events, exec's
// flags (--ignore-paused, --additional-gids, --cgroup, --preserve-fds, --pidfd-socket), ps with
// ps(1)'s options, list, kill 0, exit statuses (255 for exec), hook errors, logrus logs, version
// and help, and cgroups as runc manages them (named after the container, a busy or frozen one
// refused, the hybrid host's cgroup2 hierarchy joined, device rules updated). Container ids start
// with "mini-" so that the leak check sees their cgroups.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { leftBehind, NOTHING, snapshot, type Snapshot } from "../helpers/leaks.ts";
import { ensureBuilt, MINI, mini, readUntil } from "../helpers/mini.ts";
import { OciEnv } from "../helpers/oci.ts";
import { cleanupRootfses } from "../helpers/rootfs.ts";
import { until } from "../helpers/until.ts";

setDefaultTimeout(60_000);

let o: OciEnv;
let before: Snapshot;

beforeAll(() => {
  ensureBuilt();
  o = new OciEnv();
  before = snapshot();
});
afterAll(async () => {
  await o.cleanup();
  cleanupRootfses();
});

/** This process's cgroup in a v1 hierarchy (mini's, since the tests spawn it). */
const ownCgroup = (controller: string) =>
  readFileSync("/proc/self/cgroup", "utf8")
    .split("\n")
    .find((l) => l.split(":")[1]?.split(",").includes(controller))!
    .split(":")[2]!;
const cgroupDir = (controller: string, name: string) =>
  `/sys/fs/cgroup/${controller}${ownCgroup(controller).replace(/\/$/, "")}/${name}`;

async function detached(id: string, edit: (c: any) => void = () => {}): Promise<number> {
  const r = await o.run(["run", "--detach", "--bundle", await o.bundle(edit), id]);
  if (r.code !== 0) throw new Error(`run -d ${id}: ${r.stderr}`);
  return (await o.state(id)).pid;
}

describe("events", () => {
  test("--stats prints runc's stats once; streaming: stats every --interval, oom when the OOM killer acts, until it stops", async () => {
    await detached("mini-ev", (c) => {
      c.linux.resources.memory = { limit: 16 * 1024 * 1024 };
      // tail buffers a line that never ends: page faults past the limit, and the OOM killer.
      c.process.args = ["sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.05; done; tail /dev/zero; sleep 1000"];
      c.process.terminal = false;
    });
    const once = await o.run(["events", "--stats", "mini-ev"]);
    const ev = JSON.parse(once.stdout);
    expect(ev).toMatchObject({ type: "stats", id: "mini-ev" });
    expect(ev.data.memory.usage.limit).toBe(16 * 1024 * 1024);
    expect(ev.data.pids.current).toBeGreaterThanOrEqual(1);
    expect(Array.isArray(ev.data.cpu.usage.percpu)).toBe(true);
    const stream = Bun.spawn([MINI, "--root", o.root, "events", "--interval", "100ms", "mini-ev"], { stdout: "pipe" });
    try {
      const { seen, reader } = await readUntil(stream.stdout as ReadableStream<Uint8Array>, '"type":"stats"');
      // Let the container fill its memory: the kernel kills tail, an oom line follows.
      writeFileSync(`${o.rootfs}/tmp/go`, "");
      let out = seen;
      const dec = new TextDecoder();
      while (!out.includes('"type":"oom"')) {
        const { value, done } = await reader.read();
        if (done) break;
        out += dec.decode(value);
      }
      expect(out.includes('{"type":"oom","id":"mini-ev"}')).toBe(true);
      expect((await o.run(["kill", "mini-ev", "KILL"])).code).toBe(0);
      expect(await stream.exited).toBe(0); // it stops with the container
    } finally {
      stream.kill();
      await o.run(["delete", "-f", "mini-ev"]);
      rmSync(`${o.rootfs}/tmp/go`, { force: true });
    }
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});

describe("exec", () => {
  test("--additional-gids, --cgroup (a sub-cgroup), --preserve-fds, --pidfd-socket", async () => {
    await detached("mini-ex");
    const g = await o.run([
      "exec",
      "--additional-gids",
      "10",
      "-g",
      "20",
      "--user",
      "1000:1000",
      "mini-ex",
      "id",
      "-G",
    ]);
    expect(g.stdout).toBe("1000 10 20\n");
    const sub = `${cgroupDir("pids", "mini-ex")}/sub`;
    mkdirSync(sub);
    try {
      const c = await o.run(["exec", "--cgroup", "pids:sub", "mini-ex", "grep", "pids", "/proc/self/cgroup"]);
      expect(c.stdout).toMatch(/^\d+:pids:\/sub\n$/); // the container's cgroup namespace: its root is mini-ex
      const bad = await o.run(["exec", "--cgroup", "a", "--cgroup", "b", "mini-ex", "true"]);
      expect(bad.code).toBe(255);
      expect(bad.stderr).toMatch(/missing <controller>: prefix/);
    } finally {
      await until(
        () => {
          try {
            rmdirSync(sub);
            return true;
          } catch {
            return false;
          }
        },
        { what: "the sub-cgroup to empty" },
      );
    }
    writeFileSync(`${o.work}/three`, "three\n");
    const fd = openSync(`${o.work}/three`, "r");
    try {
      const p = await o.run(["exec", "--preserve-fds", "1", "mini-ex", "sh", "-c", "cat <&3"], { fds: [fd] });
      expect(p.stdout).toBe("three\n");
    } finally {
      closeSync(fd);
    }
    const sock = await o.listen("pidfd");
    const d = await o.run([
      "exec",
      "--detach",
      "--pid-file",
      `${o.work}/ex.pid`,
      "--pidfd-socket",
      sock.path,
      "mini-ex",
      "sleep",
      "100",
    ]);
    expect(d.code).toBe(0);
    const [r] = await sock.results();
    expect(r.pid).toBe(Number(readFileSync(`${o.work}/ex.pid`, "utf8")));
    expect((await o.run(["delete", "-f", "mini-ex"])).code).toBe(0);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });

  test("a paused container: 255 and runc's message, unless --ignore-paused (the process then runs once resumed)", async () => {
    await detached("mini-pause");
    expect((await o.run(["pause", "mini-pause"])).code).toBe(0);
    const refused = await o.run(["exec", "mini-pause", "true"]);
    expect(refused.code).toBe(255);
    expect(refused.stderr).toBe(
      "mini: exec failed: cannot exec in a paused container (use --ignore-paused to override)\n",
    );
    const pending = o.run(["exec", "--ignore-paused", "mini-pause", "sh", "-c", "echo ran"]);
    expect((await o.run(["resume", "mini-pause"])).code).toBe(0);
    const r = await pending;
    expect(r.stdout).toBe("ran\n");
    const missing = await o.run(["exec", "mini-pause", "no-such-command"]);
    expect(missing.code).toBe(255);
    expect((await o.run(["delete", "-f", "mini-pause"])).code).toBe(0);
    const stopped = await o.run(["exec", "mini-pause", "true"]);
    expect(stopped.code).toBe(1); // gone: runc's "container does not exist"
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});

describe("ps, list, kill", () => {
  test("ps runs ps(1) with its options; list is sorted by id; kill 0 checks; --pidfd-socket at create", async () => {
    const sock = await o.listen("pidfd");
    const b = await o.bundle();
    expect((await o.run(["create", "--pidfd-socket", sock.path, "--bundle", b, "mini-zz"])).code).toBe(0);
    const [r] = await sock.results();
    expect(r.pid).toBe((await o.state("mini-zz")).pid);
    expect((await o.run(["start", "mini-zz"])).code).toBe(0);
    const pid = await detached("mini-aa");
    const ps = await o.run(["ps", "mini-aa", "-o", "pid,comm"]);
    expect(ps.stdout).toMatch(new RegExp(`^\\s*PID COMMAND\\n\\s*${pid} sh\\n\\s*\\d+ sleep\\n$`));
    expect((await o.run(["ps", "mini-aa"])).stdout).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD\n/);
    expect((await o.run(["list", "-q"])).stdout).toBe("mini-aa\nmini-zz\n");
    expect(JSON.parse((await o.run(["list", "--format", "json"])).stdout).map((s: any) => s.id)).toEqual([
      "mini-aa",
      "mini-zz",
    ]);
    const empty = await mini(["--root", `${o.work}/empty-root`, "list", "--format", "json"]);
    expect(empty.stdout).toBe("null\n");
    expect((await o.run(["kill", "mini-aa", "0"])).code).toBe(0);
    expect((await o.run(["kill", "--all", "mini-aa", "KILL"])).code).toBe(0);
    await until(async () => (await o.state("mini-aa")).status === "stopped", { what: "mini-aa to stop" });
    expect((await o.run(["kill", "mini-aa", "0"])).code).toBe(1);
    for (const id of ["mini-aa", "mini-zz"]) expect((await o.run(["delete", "-f", id])).code).toBe(0);
    expect((await o.run(["delete", "--force", "mini-aa"])).code).toBe(0); // gone already: still 0
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});

describe("hooks", () => {
  test("a failing prestart or createRuntime hook fails create with runc's message; startContainer hooks get the process's env", async () => {
    for (const phase of ["prestart", "createRuntime"]) {
      const b = await o.bundle((c) => {
        c.hooks = { [phase]: [{ path: "/bin/sh", args: ["sh", "-c", "echo out; echo err >&2; exit 3"] }] };
      });
      const r = await o.run(["create", "--bundle", b, "mini-hookfail"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`mini: error running ${phase} hook #0: exit status 3, stdout: out, stderr: err\n`);
      expect((await o.run(["state", "mini-hookfail"])).code).toBe(1);
    }
    const b = await o.bundle((c) => {
      c.process.env.push("FROM_PROCESS=yes");
      c.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "env > /tmp/hook-env"] }] };
    });
    expect((await o.run(["run", "--detach", "--bundle", b, "mini-hookenv"])).code).toBe(0);
    expect(readFileSync(`${o.rootfs}/tmp/hook-env`, "utf8")).toContain("FROM_PROCESS=yes\n");
    expect((await o.run(["delete", "-f", "mini-hookenv"])).code).toBe(0);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});

describe("logs, version, help", () => {
  test("--debug and --log FILE --log-format text|json write logrus-shaped lines", async () => {
    const d = await o.run(["run", "--bundle", await o.bundle((c) => (c.process.args = ["true"])), "mini-dbg"], {
      global: ["--debug"],
    });
    expect(d.code).toBe(0);
    expect(d.stderr).toMatch(/^time="[^"]+" level=debug msg="/m);
    const text = `${o.work}/log.txt`;
    expect((await o.run(["state", "mini-ghost"], { global: ["--log", text, "--log-format", "text"] })).code).toBe(1);
    expect(readFileSync(text, "utf8")).toMatch(
      /^time="\S+" level=error msg="container \\"mini-ghost\\" does not exist"\n$/,
    );
    const json = `${o.work}/log.json`;
    await o.run(["kill", "mini-ghost"], { global: ["--log", json, "--log-format", "json", "--debug"] });
    expect(JSON.parse(readFileSync(json, "utf8").trim().split("\n").pop()!)).toMatchObject({ level: "error" });
  });

  test("--version in runc's shape; -h and help VERB in runc's layout", async () => {
    const v = await mini(["--version"]);
    expect(v.stdout).toMatch(/^mini version \S+\ncommit: \S+\nspec: 1\.2\.1\n$/);
    const h = await o.run(["exec", "-h"]);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(
      /^NAME:\n {3}mini exec - run a process in a running container\n\nUSAGE:\n {3}mini exec \[command options\] <container-id> <command>/,
    );
    expect(h.stdout).toContain("   --ignore-paused ");
    const help = await mini(["help", "create"]);
    expect(help.stdout).toStartWith("NAME:\n   mini create - create a container\n");
    expect((await mini(["delete", "-h"])).stdout).toContain("--force, -f");
  });
});

describe("cgroups as runc manages them", () => {
  test("without cgroupsPath: a cgroup named after the container below the runtime's; the hybrid host's cgroup2 hierarchy joined by exec too", async () => {
    await detached("mini-cg");
    expect(existsSync(cgroupDir("pids", "mini-cg"))).toBe(true);
    const unified = existsSync("/sys/fs/cgroup/unified/cgroup.procs");
    const e = await o.run(["exec", "mini-cg", "cat", "/proc/self/cgroup"]);
    const pid = Number(
      (await o.run(["exec", "-d", "--pid-file", `${o.work}/cg.pid`, "mini-cg", "sleep", "60"])).code === 0 &&
        readFileSync(`${o.work}/cg.pid`, "utf8"),
    );
    if (unified) {
      expect(e.stdout).toContain("\n0::/\n"); // its cgroup namespace's root: the container's cgroup2 leaf
      expect(readFileSync(`/proc/${pid}/cgroup`, "utf8")).toMatch(/\n0::\/mini-cg\n$/);
      // The container's own process too: moved there while its child stage built the rootfs.
      const init = JSON.parse((await o.run(["state", "mini-cg"])).stdout).pid;
      expect(readFileSync(`/proc/${init}/cgroup`, "utf8")).toMatch(/\n0::\/mini-cg\n$/);
    }
    expect((await o.run(["delete", "-f", "mini-cg"])).code).toBe(0);
    expect(existsSync(cgroupDir("pids", "mini-cg"))).toBe(false);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });

  test("an existing cgroup with processes, or a frozen one, is refused untouched (no hang, nothing left)", async () => {
    const busy = "/sys/fs/cgroup/pids/mini-busy-test";
    mkdirSync(busy);
    const sleeper = Bun.spawn(["sleep", "60"]);
    try {
      writeFileSync(`${busy}/cgroup.procs`, String(sleeper.pid));
      const r = await o.run([
        "create",
        "--bundle",
        await o.bundle((c) => (c.linux.cgroupsPath = "/mini-busy-test")),
        "mini-busy",
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`mini: container's cgroup is not empty: 1 process(es) found (${busy})\n`);
      expect(sleeper.exitCode).toBeNull(); // not the container's to kill
      expect(readFileSync(`${busy}/cgroup.procs`, "utf8").trim()).toBe(String(sleeper.pid));
    } finally {
      sleeper.kill();
      await sleeper.exited;
      await until(
        () => {
          try {
            rmdirSync(busy);
            return true;
          } catch {
            return false;
          }
        },
        { what: "the busy cgroup to empty" },
      );
    }
    const frozen = "/sys/fs/cgroup/freezer/mini-frozen-test";
    mkdirSync(frozen);
    try {
      writeFileSync(`${frozen}/freezer.state`, "FROZEN");
      const r = await o.run([
        "run",
        "--bundle",
        await o.bundle((c) => (c.linux.cgroupsPath = "/mini-frozen-test")),
        "mini-frozen",
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`mini: container's cgroup unexpectedly frozen (${frozen})\n`);
      expect(readFileSync(`${frozen}/freezer.state`, "utf8").trim()).toBe("FROZEN");
    } finally {
      writeFileSync(`${frozen}/freezer.state`, "THAWED");
      rmdirSync(frozen);
    }
    // Frozen while being set up (a createContainer hook freezes the container's own cgroup): an
    // error within seconds, not a hang, and nothing left.
    const leaf = cgroupDir("freezer", "mini-frz");
    const b = await o.bundle((c) => {
      c.hooks = { createContainer: [{ path: "/bin/sh", args: ["sh", "-c", `echo FROZEN > ${leaf}/freezer.state`] }] };
    });
    const r = await o.run(["create", "--bundle", b, "mini-frz"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("mini: container's cgroup was frozen while the container was being set up\n");
    expect(existsSync(leaf)).toBe(false);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });

  test("update of device rules: only the changed rules are written", async () => {
    await detached("mini-dev");
    const list = () => readFileSync(`${cgroupDir("devices", "mini-dev")}/devices.list`, "utf8");
    const rules = (extra: object[]) => JSON.stringify({ devices: [{ allow: false, access: "rwm" }, ...extra] });
    writeFileSync(`${o.work}/dev1.json`, rules([{ allow: true, type: "c", major: 10, minor: 200, access: "rwm" }]));
    const u = await o.run(["update", "--resources", `${o.work}/dev1.json`, "mini-dev"], { global: ["--debug"] });
    expect(u.code).toBe(0);
    // One write: the added device (the default is never reset, so nothing open is cut off).
    expect(u.stderr.match(/msg="write \S+devices\.(allow|deny) /g)).toEqual([expect.stringContaining("devices.allow")]);
    expect(list()).toContain("c 10:200 rwm\n");
    writeFileSync(`${o.work}/dev2.json`, rules([]));
    expect((await o.run(["update", "--resources", `${o.work}/dev2.json`, "mini-dev"])).code).toBe(0);
    expect(list()).not.toContain("c 10:200");
    expect(list()).toContain("c 1:3 rwm\n"); // always allowed
    expect((await o.run(["delete", "-f", "mini-dev"])).code).toBe(0);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});
