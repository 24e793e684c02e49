// Container lifecycle, driven through dist/mini as a user would: run -d, ps, logs, exec, stop,
// kill, start, wait, inspect, stats, top, rm. Private stores (MINI_ROOT, MINI_RUN_ROOT), so the
// test sees only its own containers; every test leaves nothing behind.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { ensureBuilt, MINI, mini, type Result } from "../helpers/mini.ts";
import { until } from "../helpers/until.ts";
import { leftBehind, NOTHING, snapshot, type Snapshot } from "../helpers/leaks.ts";
import { cleanupRootfses, makeRootfs } from "../helpers/rootfs.ts";
import { type PrivateStore, privateStore } from "../helpers/private-store.ts";
import { disposeSessions, Session } from "../helpers/pty-session.ts";

let rootfs: string;
let before: Snapshot;
let dirs: string;
let store: PrivateStore;
let env: Record<string, string>;

beforeAll(() => {
  ensureBuilt();
  rootfs = makeRootfs();
  store = privateStore("lifecycle");
  dirs = store.dir;
  env = store.env;
  before = snapshot();
});

afterEach(async () => {
  // Whatever a failed test left: removed through mini itself, by id.
  const ids = (await m(["ps", "-aq"])).stdout.split("\n").filter(Boolean);
  if (ids.length) await m(["rm", "-f", ...ids]);
});

afterAll(async () => {
  cleanupRootfses();
  store.remove();
});

/** mini ARGS with this file's private stores. */
const m = (args: string[], timeoutMs = 60_000): Promise<Result> => mini(args, { env, timeoutMs });

/** run -d; the id it printed. */
async function runD(script: string, flags: string[] = []): Promise<string> {
  const r = await m(["run", "-d", ...flags, rootfs, "sh", "-c", script]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const id = r.stdout.trim();
  expect(id).toMatch(/^[0-9a-f]{64}$/);
  return id;
}

interface PsEntry {
  id: string;
  name: string;
  state: string;
  status: string;
  pid: number;
  exitCode: number | null;
}
async function ps(all = true): Promise<PsEntry[]> {
  const r = await m(["ps", ...(all ? ["-a"] : []), "--format", "json"]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

/** A shell that ends on SIGTERM with 0 (PID 1 ignores signals it has no handler for). */
const SERVICE = (ready: string) => `trap 'exit 0' TERM; echo ${ready}; sleep 1000 & wait`;

describe("one detached container", () => {
  test("run -d → ps → logs → exec → stop → start → wait → inspect → rm", async () => {
    const id = await runD(`${SERVICE("hello")}`, ["--name", "web", "-e", "GREETING=hi"]);
    let list = await ps(false);
    expect(list.map((c) => [c.id, c.name, c.state])).toEqual([[id, "web", "running"]]);
    await until(async () => (await m(["logs", "web"])).stdout === "hello\n", { what: "the log line" });

    const ex = await m(["exec", "web", "sh", "-c", 'echo "$GREETING from $$"; exit 4']);
    expect(ex.code).toBe(4);
    expect(ex.stdout).toMatch(/^hi from \d+\n$/);

    expect((await m(["stop", "-t", "5", id.slice(0, 12)])).stdout).toBe(`${id.slice(0, 12)}\n`);
    list = await ps();
    expect(list[0]).toMatchObject({ state: "exited", exitCode: 0 });
    expect((await ps(false)).length).toBe(0);

    expect((await m(["start", "web"])).code).toBe(0);
    expect((await ps(false))[0]?.state).toBe("running");
    await until(async () => (await m(["logs", "web"])).stdout === "hello\nhello\n", {
      what: "the second start's line",
    });
    expect((await m(["kill", "-s", "TERM", "web"])).code).toBe(0);
    const w = await m(["wait", "web"]);
    expect(w.stdout).toBe("0\n");

    const [info] = JSON.parse((await m(["inspect", "web"])).stdout);
    expect(info).toMatchObject({
      Id: id,
      Name: "web",
      State: { Status: "exited", Running: false, ExitCode: 0, OOMKilled: false },
    });
    expect(Date.parse(info.State.FinishedAt)).toBeGreaterThanOrEqual(Date.parse(info.State.StartedAt));

    expect((await m(["rm", "web"])).code).toBe(0);
    expect(await ps()).toEqual([]);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });

  test("exec joins every namespace and the cgroups, with the container's capabilities", async () => {
    const id = await runD(SERVICE("up"), ["--cap-drop", "NET_RAW", "--security-opt", "no-new-privileges", "-m", "64m"]);
    const pid = (await ps())[0]!.pid;
    const ex = await m([
      "exec",
      id,
      "sh",
      "-c",
      "for n in user mnt pid net uts ipc cgroup; do readlink /proc/self/ns/$n; done; grep -E '^(CapBnd|NoNewPrivs)' /proc/self/status; cat /proc/self/cgroup",
    ]);
    expect(ex.code).toBe(0);
    const lines = ex.stdout.trim().split("\n");
    const theirs = ["user", "mnt", "pid", "net", "uts", "ipc", "cgroup"].map((n) =>
      readlinkSync(`/proc/${pid}/ns/${n}`),
    );
    expect(lines.slice(0, 7)).toEqual(theirs);
    const bnd = BigInt(`0x${lines.find((l) => l.startsWith("CapBnd"))!.split(/\s+/)[1]}`);
    expect(bnd & (1n << 13n)).toBe(0n); // CAP_NET_RAW dropped, as in the container
    expect(lines).toContain("NoNewPrivs:\t1");
    // The container's memory cgroup (its cgroup namespace shows it as the root).
    expect(lines.some((l) => /:memory:\/$/.test(l))).toBe(true);
    const memFile = readFileSync(`/proc/${pid}/cgroup`, "utf8")
      .split("\n")
      .find((l) => l.includes(":memory:"))!;
    expect(memFile).toContain(`mini-${id}`);
    // -u from the container's /etc/passwd; -w; exit codes 126/127 for a command that can't run.
    const u = await m([
      "exec",
      "-u",
      "nobody",
      "-w",
      "/tmp",
      id,
      "sh",
      "-c",
      "id -u; pwd; grep CapEff /proc/self/status",
    ]);
    expect(u.stdout).toBe("65534\n/tmp\nCapEff:\t0000000000000000\n");
    const nf = await m(["exec", id, "no-such-command"]);
    expect(nf.code).toBe(127);
    expect(nf.stderr).toBe("mini: exec no-such-command: ENOENT\n");
    expect((await m(["exec", id, "/etc/passwd"])).code).toBe(126);
    await m(["rm", "-f", id]);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });

  test("exec gets the container's seccomp filter", async () => {
    writeFileSync(
      `${dirs}/deny-mkdir.json`,
      JSON.stringify({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
      }),
    );
    const id = await runD(SERVICE("up"), ["--security-opt", `seccomp=${dirs}/deny-mkdir.json`]);
    const r = await m([
      "exec",
      id,
      "sh",
      "-c",
      "mkdir /x; grep -E '^Seccomp(_filters)?:' /proc/self/status; echo listed",
    ]);
    expect(r.stderr).toMatch(/mkdir: can't create directory '\/x': Operation not permitted/);
    expect(r.stdout).toBe("Seccomp:\t2\nSeccomp_filters:\t1\nlisted\n");
    await m(["rm", "-f", id]);
  });

  test("exec into a --userns container joins its user namespace: root inside, uid 100000 outside", async () => {
    const id2 = await runD(SERVICE("up"), ["--userns"]);
    const pid2 = (await ps())[0]!.pid;
    const r = await m(["exec", id2, "sh", "-c", "readlink /proc/self/ns/user; id -u; cat /proc/self/uid_map"]);
    expect(r.code).toBe(0);
    const [ns, uid, map] = r.stdout.trim().split("\n");
    expect(ns).toBe(readlinkSync(`/proc/${pid2}/ns/user`));
    expect(ns).not.toBe(readlinkSync("/proc/self/ns/user"));
    expect(uid).toBe("0");
    expect(map!.trim().split(/\s+/)).toEqual(["0", "100000", "65536"]);
    await m(["rm", "-f", id2]);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });

  test("--rm removes the container when it exits; an OOM kill is recorded", async () => {
    await runD("echo bye; exit 3", ["--rm"]);
    await until(async () => (await ps()).length === 0, { what: "the --rm container to go" });
    const id = await runD("x=a; while true; do x=$x$x; done", ["-m", "16m", "--memory-swap", "16m"]);
    await until(async () => (await ps())[0]?.state === "exited", { what: "the OOM kill" });
    const [info] = JSON.parse((await m(["inspect", id])).stdout);
    expect(info.State).toMatchObject({ ExitCode: 137, OOMKilled: true });
    expect((await ps())[0]!.status).toMatch(/^Exited \(137\)/);
    await m(["rm", id]);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });

  test("stats and top read the container's cgroups", async () => {
    const id = await runD(SERVICE("up"), ["-m", "64m", "--name", "busy"]);
    const st = await m(["stats", "--no-stream", "busy"]);
    expect(st.code).toBe(0);
    const [head, row] = st.stdout.trim().split("\n");
    expect(head).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
    expect(row).toMatch(
      new RegExp(
        `^${id.slice(0, 12)}\\s+busy\\s+[\\d.]+%\\s+[\\d.]+[KM]?i?B / 64MiB\\s+[\\d.]+%\\s+--\\s+[\\d.]+[KM]?i?B / [\\d.]+[KM]?i?B\\s+2$`,
      ),
    );
    const top = await m(["top", "busy"]);
    expect(top.stdout).toMatch(/sh -c trap/);
    expect(top.stdout).toMatch(/sleep 1000/);
    await m(["rm", "-f", id]);
  });
});

describe("bad input: one clear line, docker's exit codes, nothing changed", () => {
  test("unknown, name in use, exec into a stopped one, rm of a running one", async () => {
    const a = await runD(SERVICE("a"), ["--name", "taken"]);
    const b = await runD("exit 0");
    await until(async () => (await ps()).find((c) => c.id === b)?.state === "exited", { what: "b to exit" });
    const listed = JSON.stringify(await ps());
    const check = (r: Result, code: number, re: RegExp) => {
      expect(r.code).toBe(code);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(re);
      expect(r.stderr.trim().split("\n").length).toBe(1);
    };
    check(await m(["stop", "nosuch"]), 1, /^mini: no such container: nosuch\n$/);
    check(await m(["logs", "nosuch"]), 1, /^mini: no such container: nosuch\n$/);
    check(
      await m(["run", "-d", "--name", "taken", rootfs, "true"]),
      125,
      /^mini: the container name "taken" is already in use/,
    );
    check(await m(["exec", b, "true"]), 1, /^mini: container \w+ is not running\n$/);
    check(await m(["rm", a]), 1, /^mini: container taken is running: stop it first, or use mini rm -f\n$/);
    check(await m(["kill", "-s", "NOPE", a]), 1, /^mini: invalid signal: NOPE\n$/);
    expect((await ps()).map((c) => [c.id, c.state])).toEqual(JSON.parse(listed).map((c: PsEntry) => [c.id, c.state]));
    await m(["rm", "-f", a, b]);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});

describe("many containers", () => {
  test("50 detached containers: started at once, listed, exec'd, logged, stopped, removed", async () => {
    const N = 50;
    const names = [...Array(N).keys()].map((i) => `c${i}`);
    const ids = await Promise.all(names.map((n, i) => runD(SERVICE(`ready-${i}`), ["--name", n, "-e", `N=${i}`])));
    expect(new Set(ids).size).toBe(N);
    let list = await ps(false);
    expect(list.length).toBe(N);
    expect(new Set(list.map((c) => c.name))).toEqual(new Set(names));
    expect(list.every((c) => c.state === "running" && c.pid > 0)).toBe(true);
    expect((await m(["ps", "-q"])).stdout.trim().split("\n").sort()).toEqual(ids.map((id) => id.slice(0, 12)).sort());

    // An id prefix several of 50 ids share is ambiguous.
    const first = new Map<string, number>();
    for (const id of ids) first.set(id[0]!, (first.get(id[0]!) ?? 0) + 1);
    const shared = [...first].find(([, n]) => n > 1)![0];
    const amb = await m(["exec", shared, "true"]);
    expect(amb.code).toBe(1);
    expect(amb.stderr).toMatch(/^mini: multiple containers match "\w"/);

    for (let i = 0; i < N; i += 10) {
      const batch = names.slice(i, i + 10);
      const out = await Promise.all(batch.map((n) => m(["exec", n, "sh", "-c", "echo $N $(hostname)"])));
      out.forEach((r, k) => {
        // docker's default hostname: the container's short id.
        const id = ids[names.indexOf(batch[k]!)]!.slice(0, 12);
        expect(r.stdout).toBe(`${i + k} ${id}\n`);
      });
    }
    await until(
      async () => (await Promise.all(names.map((n) => m(["logs", n])))).every((r, i) => r.stdout === `ready-${i}\n`),
      { what: "every log line" },
    );
    expect((await ps(false)).length).toBe(N);

    const stops = await Promise.all(names.map((n) => m(["stop", "-t", "10", n])));
    expect(stops.every((r) => r.code === 0)).toBe(true);
    list = await ps();
    expect(list.length).toBe(N);
    expect(list.every((c) => c.state === "exited" && c.exitCode === 0)).toBe(true);
    expect((await ps(false)).length).toBe(0);

    const rm = await m(["rm", ...names]);
    expect(rm.code).toBe(0);
    expect(await ps()).toEqual([]);
    expect(await leftBehind(before)).toEqual(NOTHING);
  }, 180_000);

  test("20 detached containers cost at most 2 MiB of host RSS each beyond their own processes", async () => {
    const ids = await Promise.all([...Array(20).keys()].map(() => runD("exec sleep 1000")));
    // Beyond the container's own processes there is its monitor (mini-shim) and nothing else.
    const monitors = ids.map((id) => {
      const pid = Number(JSON.parse(readFileSync(`${dirs}/run/${id}/state.json`, "utf8")).monitorPid);
      expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toContain("\0monitor\0");
      return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
    });
    const perContainerKiB = monitors.reduce((a, b) => a + b, 0) / monitors.length;
    console.log(`monitor RSS per detached container: ${perContainerKiB.toFixed(0)} KiB`);
    expect(perContainerKiB).toBeLessThanOrEqual(2048);
    await m(["rm", "-f", ...ids]);
    expect(await leftBehind(before)).toEqual(NOTHING);
  }, 120_000);
});

describe("logs", () => {
  test("logs -f follows 100 000 lines to the end, none lost, in order", async () => {
    const id = await runD("i=0; while [ $i -lt 100000 ]; do i=$((i+1)); echo line $i; done; echo to-stderr >&2");
    const f = await m(["logs", "-f", id], 120_000);
    expect(f.code).toBe(0);
    const lines = f.stdout.split("\n");
    expect(lines.pop()).toBe("");
    expect(lines.length).toBe(100_000);
    expect(lines.every((l, i) => l === `line ${i + 1}`)).toBe(true);
    expect(f.stderr).toBe("to-stderr\n");
    const tail = await m(["logs", "--tail", "2", "-t", id]);
    expect(tail.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line 100000\n$/);
    expect(tail.stderr).toMatch(/Z to-stderr\n$/);
    await m(["rm", id]);
  }, 150_000);
});

describe("exec -it", () => {
  afterEach(disposeSessions);

  test("a shell through a real pty: prompt, a terminal inside, window size, exit code", async () => {
    const id = await runD(SERVICE("up"));
    const s = new Session(["exec", "-it", id, "sh"], { ...env, TERM: "vt100" }, { cols: 100, rows: 30 });
    await s.waitFor(/\/ # /);
    let from = s.mark();
    s.send("[ -t 0 ] && [ -t 1 ] && echo both-tty; stty size\r");
    await s.waitFor(/both-tty\r?\n30 100/, from);
    // A pty of the container's own devpts: `tty` names a /dev/pts entry that exists inside.
    from = s.mark();
    s.send('t=$(tty); [ -c "$t" ] && echo "tty=$t"\r');
    await s.waitFor(/tty=\/dev\/pts\/\d+/, from);
    from = s.mark();
    s.send("sleep 30\r");
    await Bun.sleep(300);
    s.send("\x03"); // ^C reaches the command in the container, not mini
    await s.waitFor(/\/ # /, from);
    s.send("exit 5\r");
    expect(await s.exited()).toBe(5);
    await m(["rm", "-f", id]);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});

describe("crash safety: mini SIGKILLed at each step", () => {
  /** Runs `mini --log-level debug ARGS` and SIGKILLs it once its `step`-th debug line is out. */
  async function killAtStep(args: string[], step: number): Promise<number> {
    const p = Bun.spawn([MINI, "--log-level", "debug", ...args], {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
      env,
    });
    const reader = (p.stderr as ReadableStream<Uint8Array>).getReader();
    let seen = 0,
      text = "";
    while (seen <= step) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
      seen = (text.match(/^\[debug\]/gm) ?? []).length;
    }
    p.kill("SIGKILL");
    await p.exited;
    return seen;
  }

  /** The debug steps of an uninterrupted run. */
  async function steps(args: string[]): Promise<number> {
    const r = await m(["--log-level", "debug", ...args]);
    return (r.stderr.match(/^\[debug\]/gm) ?? []).length;
  }

  /** ps -a agrees with /proc: running ones have their process, no other container process exists. */
  async function psTellsTruth(): Promise<void> {
    await until(
      async () => {
        const list = await ps();
        const running = new Set(list.filter((c) => c.state === "running").map((c) => c.id));
        const procs = procsInContainers();
        return (
          list.every((c) => (c.state === "running") === !!procs.get(c.id)) &&
          [...procs.keys()].every((id) => running.has(id))
        );
      },
      { what: "ps -a to agree with the processes on the host" },
    );
  }

  /** Container id → pids of processes in its cgroups (as /proc says). */
  function procsInContainers(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const pid of require("node:fs")
      .readdirSync("/proc")
      .filter((n: string) => /^\d+$/.test(n))) {
      let cg = "";
      try {
        cg = readFileSync(`/proc/${pid}/cgroup`, "utf8");
      } catch {
        continue;
      }
      const id = /mini-([0-9a-f]{64})/.exec(cg)?.[1];
      if (!id) continue;
      try {
        if (/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, "utf8"))) continue;
      } catch {
        continue;
      }
      out.set(id, [...(out.get(id) ?? []), Number(pid)]);
    }
    return out;
  }

  async function cleanAfter(): Promise<void> {
    await psTellsTruth();
    const ids = (await m(["ps", "-aq"])).stdout.split("\n").filter(Boolean);
    if (ids.length) expect((await m(["rm", "-f", ...ids])).code).toBe(0);
    expect(await ps()).toEqual([]);
    expect(await leftBehind(before)).toEqual(NOTHING);
  }

  test("run -d", async () => {
    const args = ["run", "-d", rootfs, "sh", "-c", SERVICE("up")];
    const n = await steps(args);
    await m(["rm", "-f", ...(await m(["ps", "-aq"])).stdout.split("\n").filter(Boolean)]);
    expect(n).toBeGreaterThan(3);
    for (let k = 0; k < n; k++) {
      await killAtStep(args, k);
      await cleanAfter();
    }
  }, 120_000);

  for (const verb of ["exec", "stop", "rm"] as const) {
    test(verb, async () => {
      const args = (id: string) =>
        verb === "exec" ? ["exec", id, "sleep", "100"] : verb === "stop" ? ["stop", "-t", "1", id] : ["rm", "-f", id];
      const id0 = await runD(SERVICE("up"));
      const n = verb === "exec" ? 2 : await steps(args(id0));
      await m(["rm", "-f", id0]);
      expect(n).toBeGreaterThan(1);
      for (let k = 0; k < n; k++) {
        const id = await runD("sleep 1000 & wait"); // ignores SIGTERM: stop goes to SIGKILL
        await killAtStep(args(id), k);
        await cleanAfter();
      }
    }, 120_000);
  }
});

describe("logs are bounded", () => {
  test("--log-opt max-size rotates (one older file kept); logs -f follows across rotations, losing nothing", async () => {
    // Five bursts of 1000 lines (~50 KB each: at most one rotation per burst), a pause between
    // them; the follower starts before the first. A follower slower than two rotations would
    // lose lines: that is the price of a bound, as with docker's json-file max-size.
    const id = await runD(
      "while [ ! -e /tmp/go ]; do sleep 0.05; done; i=0; while [ $i -lt 5000 ]; do i=$((i+1)); echo line $i; [ $((i % 1000)) -eq 0 ] && sleep 0.4; done",
      ["--log-opt", "max-size=64k"],
    );
    const follow = m(["logs", "-f", id], 60_000);
    await Bun.sleep(200);
    await m(["exec", id, "touch", "/tmp/go"]);
    const f = await follow;
    const lines = f.stdout.trim().split("\n");
    expect(lines.length).toBe(5000);
    expect(lines.every((l, i) => l === `line ${i + 1}`)).toBe(true);
    // What stays is bounded: two files of at most 64 KiB (plus one record), the newest lines, none missing between.
    const dir = `${dirs}/lib/containers/${id}`;
    const size = (f: string) => Bun.file(`${dir}/${f}`).size;
    expect(size("container.log") + size("container.log.1")).toBeLessThanOrEqual(2 * 65536 + 200);
    const kept = (await m(["logs", id])).stdout.trim().split("\n");
    expect(kept.at(-1)).toBe("line 5000");
    expect(kept.length).toBeLessThan(5000);
    const firstKept = Number(kept[0]!.split(" ")[1]);
    expect(kept.every((l, i) => l === `line ${firstKept + i}`)).toBe(true);
    await m(["rm", id]);
  }, 90_000);
});

describe("start -a, exec -i and exec -d", () => {
  test("start -a prints the new run's output and returns its exit code", async () => {
    const id = await runD("echo run-$(cat /proc/sys/kernel/random/uuid | cut -c1-4); exit 7");
    await until(async () => (await ps())[0]?.state === "exited", { what: "the first run to end" });
    const r = await m(["start", "-a", id]);
    expect(r.code).toBe(7);
    expect(r.stdout).toMatch(/^run-[0-9a-f]{4}\n$/);
    expect((await m(["logs", id])).stdout.split("\n").filter(Boolean).length).toBe(2);
    await m(["rm", id]);
  });

  test("run -di: a shell whose stdin stays open keeps running, across a restart too", async () => {
    const r = await m(["run", "-di", rootfs, "sh"]);
    const id = r.stdout.trim();
    await Bun.sleep(300);
    expect((await ps())[0]).toMatchObject({ id, state: "running" });
    await m(["stop", "-t", "1", id]);
    await m(["start", id]);
    await Bun.sleep(300);
    expect((await ps())[0]).toMatchObject({ id, state: "running" });
    await m(["rm", "-f", id]);
  });

  test("exec -i reads stdin; exec -d returns at once and its command runs on", async () => {
    const id = await runD(SERVICE("up"));
    const i = await mini(["exec", "-i", id, "sh", "-c", "tr a-z A-Z"], { env, stdin: "piped in\n" });
    expect(i.stdout).toBe("PIPED IN\n");
    expect(i.code).toBe(0);
    const d = await m(["exec", "-d", id, "sh", "-c", "sleep 0.3; echo done > /tmp/marker"]);
    expect(d.code).toBe(0);
    expect(d.stdout).toBe("");
    await until(async () => (await m(["exec", id, "cat", "/tmp/marker"])).stdout === "done\n", {
      what: "the detached command to finish",
    });
    await m(["rm", "-f", id]);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});
