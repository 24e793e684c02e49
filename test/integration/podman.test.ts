// podman driving mini as its OCI runtime (`--runtime mini`), as a user of podman would: run,
// -it through a real pty, -d + exec + logs + stop + rm, limits, the default bridge network
// (netavark hands mini a network namespace path), pause/unpause, update. podman runs with
// private storage; /etc/containers/{containers,storage}.conf are written for the test (conmon
// reads only those) and restored after, byte for byte.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { ensureBuilt, MINI, type Result, run } from "../helpers/mini.ts";
import { cleanupRootfses, makeRootfs } from "../helpers/rootfs.ts";
import { disposeSessions, Session } from "../helpers/pty-session.ts";
import { until } from "../helpers/until.ts";

const CONF = "/etc/containers/containers.conf";
const STORAGE = "/etc/containers/storage.conf";
const NETWORKS = "/etc/containers/networks";
const saved = new Map<string, string | undefined>();
let hadNetworks = false;
/** podman's own cgroup parent (libpod_parent, with conmon's cgroup in it), if the test made it. */
const cgroupParents = () =>
  readdirSync("/sys/fs/cgroup")
    .map((h) => `/sys/fs/cgroup/${h}/libpod_parent`)
    .filter((d) => existsSync(d));
let parentsBefore: string[] = [];
let work: string;
let base: string[];
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", TERM: "vt100" };
const IMAGE = "localhost/mini-test-busybox";
const havePodman = Bun.which("podman") !== null && Bun.which("conmon") !== null;

// cwd: conmon drops an "oom" file into its working directory when a container is OOM-killed.
const podman = (args: string[], timeoutMs = 60_000): Promise<Result> =>
  run([...base, ...args], { env, cwd: work, timeoutMs });

beforeAll(async () => {
  ensureBuilt();
  if (!havePodman) return;
  for (const f of [CONF, STORAGE]) saved.set(f, existsSync(f) ? readFileSync(f, "utf8") : undefined);
  hadNetworks = existsSync(NETWORKS);
  parentsBefore = cgroupParents();
  ociBefore = ociStates();
  writeFileSync(
    CONF,
    [
      "[containers]",
      'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
      "[engine]",
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      'runtime_supports_json = ["crun", "runc", "kata", "runsc", "youki", "krun", "mini"]',
      'runtime_supports_nocgroups = ["crun", "krun", "mini"]',
      "[engine.runtimes]",
      `mini = ["${MINI}"]`,
      "",
    ].join("\n"),
  );
  writeFileSync(
    STORAGE,
    '[storage]\ndriver = "overlay"\nrunroot = "/run/containers/storage"\ngraphroot = "/var/lib/containers/storage"\n',
  );
  work = mkdtempSync(`${tmpdir()}/mini-podman-`);
  base = [
    "podman",
    "--root",
    `${work}/root`,
    "--runroot",
    `${work}/run`,
    "--storage-driver",
    "overlay",
    "--runtime",
    "mini",
  ];
  const rootfs = makeRootfs();
  const tar = Bun.spawn(["tar", "-C", rootfs, "-c", "."], { stdout: "pipe" });
  const imp = Bun.spawn([...base, "import", "-", IMAGE], { stdin: tar.stdout, stdout: "ignore", stderr: "pipe", env });
  expect(await imp.exited).toBe(0);
}, 120_000);

afterEach(disposeSessions);

afterAll(async () => {
  if (!havePodman) return;
  await podman(["rm", "-f", "-t", "0", "--all"]);
  await podman(["system", "reset", "-f"]);
  for (const m of readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((p) => p?.startsWith(work))
    .reverse()) {
    Bun.spawnSync(["umount", "-l", m!]);
  }
  rmSync(work, { recursive: true, force: true });
  for (const [f, text] of saved)
    if (text === undefined) rmSync(f, { force: true });
    else writeFileSync(f, text);
  if (!hadNetworks) rmSync(NETWORKS, { recursive: true, force: true });
  for (const d of cgroupParents().filter((p) => !parentsBefore.includes(p))) {
    for (const sub of [`${d}/conmon`, d])
      try {
        rmdirSync(sub);
      } catch {
        /* busy or gone */
      }
  }
  cleanupRootfses();
}, 120_000);

let ociBefore: string[] = [];
const ociStates = () => {
  try {
    return readdirSync("/run/mini-oci");
  } catch {
    return [];
  }
};

/** Nothing of mini's is left for a removed podman container: its OCI state and cgroups. */
function miniLeftovers(): string[] {
  const out: string[] = ociStates().filter((id) => !ociBefore.includes(id));
  for (const h of ["pids", "memory", "freezer", "cpu", "devices"]) {
    try {
      out.push(
        ...readdirSync(`/sys/fs/cgroup/${h}/libpod_parent`)
          .filter((n) => n.startsWith("libpod-") && n.length > 20)
          .map((n) => `${h}/${n}`),
      );
    } catch {
      /* no such hierarchy */
    }
  }
  return out;
}

describe.skipIf(!havePodman)("podman --runtime mini", () => {
  test("run --rm echo hi", async () => {
    const r = await podman(["run", "--rm", "--network", "none", IMAGE, "echo", "hi"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("hi\n");
    expect(r.code).toBe(0);
    const code = await podman(["run", "--rm", "--network", "none", IMAGE, "sh", "-c", "exit 7"]);
    expect(code.code).toBe(7);
    expect(miniLeftovers()).toEqual([]);
  });

  test("-it: a shell on a pty of the container's own devpts, exit code back", async () => {
    const s = new Session(
      [...base.slice(1), "run", "--rm", "-it", "--network", "none", IMAGE, "sh"],
      env,
      { cols: 100, rows: 30 },
      "podman",
    );
    await s.waitFor(/\/ # /, 0, 20_000);
    let from = s.mark();
    s.send("tty; [ -t 0 ] && [ -t 1 ] && echo both-tty\r");
    await s.waitFor(/\/dev\/pts\/0\r?\n(.|\n)*both-tty/, from);
    from = s.mark();
    s.send("exit 5\r");
    expect(await s.exited(20_000)).toBe(5);
  });

  test("-d, then exec, logs, stop, rm", async () => {
    const run = await podman([
      "run",
      "-d",
      "--network",
      "none",
      "--name",
      "svc",
      IMAGE,
      "sh",
      "-c",
      "trap 'exit 0' TERM; echo up; sleep 1000 & wait",
    ]);
    expect(run.code).toBe(0);
    const ex = await podman(["exec", "svc", "sh", "-c", "echo from-exec; exit 3"]);
    expect(ex.stdout).toBe("from-exec\n");
    expect(ex.code).toBe(3);
    await until(async () => (await podman(["logs", "svc"])).stdout === "up\n", {
      timeoutMs: 15_000,
      intervalMs: 100,
      what: "svc's log line",
    });
    expect((await podman(["logs", "svc"])).stdout).toBe("up\n");
    expect((await podman(["stop", "-t", "5", "svc"])).code).toBe(0);
    expect((await podman(["ps", "-a", "--format", "{{.Names}} {{.Status}}"])).stdout).toMatch(/^svc Exited \(0\)/m);
    expect((await podman(["rm", "svc"])).code).toBe(0);
    expect(miniLeftovers()).toEqual([]);
  }, 60_000);

  test("--memory and --pids-limit are enforced", async () => {
    const r = await podman([
      "run",
      "--rm",
      "--network",
      "none",
      "--memory",
      "32m",
      "--pids-limit",
      "10",
      IMAGE,
      "sh",
      "-c",
      "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; for i in $(seq 20); do sleep 1 & done 2>&1 | tail -1",
    ]);
    expect(r.stdout).toMatch(/^33554432\n10\nsh: can't fork/);
    const oom = await podman([
      "run",
      "--rm",
      "--network",
      "none",
      "--memory",
      "16m",
      "--memory-swap",
      "16m",
      IMAGE,
      "sh",
      "-c",
      "x=a; while true; do x=$x$x; done",
    ]);
    expect(oom.code).toBe(137);
  }, 60_000);

  test("the default bridge network: netavark's namespace, joined by path", async () => {
    const r = await podman(["run", "--rm", IMAGE, "sh", "-c", "ip -4 addr show eth0 | grep -o 'inet [0-9.]*'"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^inet 10\.88\.\d+\.\d+\n$/);
  }, 60_000);

  test("pause, unpause, update --memory", async () => {
    expect((await podman(["run", "-d", "--network", "none", "--name", "p1", IMAGE, "sleep", "1000"])).code).toBe(0);
    expect((await podman(["pause", "p1"])).code).toBe(0);
    expect((await podman(["inspect", "-f", "{{.State.Status}}", "p1"])).stdout.trim()).toBe("paused");
    expect((await podman(["unpause", "p1"])).code).toBe(0);
    expect((await podman(["inspect", "-f", "{{.State.Status}}", "p1"])).stdout.trim()).toBe("running");
    expect((await podman(["update", "--memory", "64m", "p1"])).code).toBe(0);
    const lim = await podman(["exec", "p1", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]);
    expect(lim.stdout.trim()).toBe(String(64 * 1024 * 1024));
    expect((await podman(["rm", "-f", "-t", "0", "p1"])).code).toBe(0);
    expect(miniLeftovers()).toEqual([]);
  }, 60_000);
});
