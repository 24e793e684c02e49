// containerd driving mini through its runc shim (`ctr run --runc-binary dist/mini`), with a
// containerd the test starts itself: private root, state dir and socket, stopped by its pid.
// The image is the busybox rootfs imported into a private mini store and saved as an OCI archive.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Subprocess } from "bun";
import { ensureBuilt, MINI, type Result, run as runCommand } from "../helpers/mini.ts";
import { cleanupRootfses, makeRootfs } from "../helpers/rootfs.ts";
import { disposeSessions, Session } from "../helpers/pty-session.ts";
import { until } from "../helpers/until.ts";

const have =
  Bun.which("containerd") !== null && Bun.which("ctr") !== null && Bun.which("containerd-shim-runc-v2") !== null;
const IMAGE = "docker.io/localtest/busybox:latest";
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", TERM: "vt100" };
let work: string;
let daemon: Subprocess | undefined;
let ctr: string[];

const run = (cmd: string[], extraEnv: Record<string, string> = {}): Promise<Result> =>
  runCommand(cmd, { env: { ...env, ...extraEnv }, timeoutMs: 60_000 });

beforeAll(async () => {
  ensureBuilt();
  if (!have) return;
  work = mkdtempSync(`${tmpdir()}/mini-containerd-`);
  writeFileSync(
    `${work}/config.toml`,
    [
      "version = 2",
      `root = "${work}/root"`,
      `state = "${work}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      "[grpc]",
      `  address = "${work}/c.sock"`,
      "[ttrpc]",
      `  address = "${work}/c.sock.ttrpc"`,
      "[debug]",
      `  address = "${work}/debug.sock"`,
      "",
    ].join("\n"),
  );
  daemon = Bun.spawn(["containerd", "--config", `${work}/config.toml`], {
    stdout: "ignore",
    stderr: Bun.file(`${work}/containerd.log`),
    env,
  });
  ctr = ["ctr", "-a", `${work}/c.sock`, "-n", "minitest"];
  await until(async () => (await run([...ctr, "version"])).code === 0, {
    timeoutMs: 15_000,
    intervalMs: 50,
    what: "containerd to answer",
  });
  const store = { MINI_ROOT: `${work}/store` };
  expect((await run([MINI, "import", makeRootfs(), "localtest/busybox:latest"], store)).code).toBe(0);
  expect((await run([MINI, "save", "-o", `${work}/busybox.tar`, "localtest/busybox:latest"], store)).code).toBe(0);
  const imp = await run([...ctr, "image", "import", `${work}/busybox.tar`]);
  expect(imp.code).toBe(0);
}, 120_000);

afterEach(disposeSessions);

afterAll(async () => {
  if (!have) return;
  for (const id of (await run([...ctr, "task", "ls", "-q"])).stdout.split("\n").filter(Boolean))
    await run([...ctr, "task", "kill", "-s", "KILL", id]);
  for (const id of (await run([...ctr, "container", "ls", "-q"])).stdout.split("\n").filter(Boolean))
    await run([...ctr, "container", "rm", id]);
  await run([...ctr, "image", "rm", IMAGE]);
  daemon?.kill("SIGTERM");
  await daemon?.exited;
  for (const m of readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((p) => p?.startsWith(work))
    .reverse()) {
    Bun.spawnSync(["umount", "-l", m!]);
  }
  rmSync(work, { recursive: true, force: true });
  cleanupRootfses();
}, 120_000);

describe.skipIf(!have)("ctr run --runc-binary dist/mini", () => {
  test("--rm IMAGE id echo hi", async () => {
    const r = await run([...ctr, "run", "--runc-binary", MINI, "--rm", IMAGE, "c1", "echo", "hi"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("hi\n");
    expect(r.code).toBe(0);
    const code = await run([...ctr, "run", "--runc-binary", MINI, "--rm", IMAGE, "c2", "sh", "-c", "exit 4"]);
    expect(code.code).toBe(4);
    expect((await run([...ctr, "container", "ls", "-q"])).stdout).toBe("");
  }, 60_000);

  test("-t: a terminal through the console socket", async () => {
    const s = new Session(
      ["-a", `${work}/c.sock`, "-n", "minitest", "run", "-t", "--runc-binary", MINI, "--rm", IMAGE, "c3", "sh"],
      env,
      { cols: 100, rows: 30 },
      "ctr",
    );
    await s.waitFor(/\/ # /, 0, 20_000);
    const from = s.mark();
    s.send("tty; [ -t 1 ] && echo out-is-tty\r");
    await s.waitFor(/\/dev\/pts\/0\r*\n(.|\n)*out-is-tty/, from);
    s.send("exit 6\r");
    expect(await s.exited(20_000)).toBe(6);
  }, 60_000);
});
