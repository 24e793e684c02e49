// Signals, hang-ups, kills, and that no kind of ending leaves anything behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { ensureBuilt, MINI, mini, readUntil } from "../helpers/mini.ts";
import { leftBehind, NOTHING, snapshot, type Snapshot } from "../helpers/leaks.ts";
import { cleanupRootfses, makeRootfs } from "../helpers/rootfs.ts";
import { until } from "../helpers/until.ts";

let rootfs: string;
let before: Snapshot;
beforeAll(() => {
  ensureBuilt();
  rootfs = makeRootfs();
  before = snapshot();
});
afterAll(() => cleanupRootfses());

function start(flags: string[], script: string) {
  return Bun.spawn([MINI, "run", ...flags, rootfs, "sh", "-c", script], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
}

/** Running (a zombie waiting for its new parent to reap it counts as dead). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};
const childOf = (pid: number) => Number(readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(" ")[0]);

describe("signals", () => {
  for (const sig of ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const) {
    test(`${sig} is forwarded to the container`, async () => {
      const name = sig.slice(3);
      const p = start([], `trap 'echo got-${name}; exit 7' ${name}; echo ready; while :; do sleep 0.05; done`);
      const { reader } = await readUntil(p.stdout, "ready");
      p.kill(sig);
      let out = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
      expect(out).toContain(`got-${name}`);
      expect(await p.exited).toBe(7);
    });
  }

  test("a hang-up ends a container that ignores SIGHUP", async () => {
    const p = start([], "trap '' HUP; echo ready; sleep 30");
    await readUntil(p.stdout, "ready");
    const t0 = Date.now();
    p.kill("SIGHUP");
    const code = await p.exited;
    expect(Date.now() - t0).toBeLessThan(10000);
    expect(code).toBe(137);
  });

  test("container killed with SIGKILL: 137, nothing left", async () => {
    const p = start([], "echo ready; sleep 30");
    await readUntil(p.stdout, "ready");
    process.kill(childOf(p.pid), "SIGKILL");
    expect(await p.exited).toBe(137);
  });

  test("mini killed with SIGKILL: the container dies too; the next mini removes the rest", async () => {
    const p = start(["-m", "64m"], "echo ready; sleep 30");
    await readUntil(p.stdout, "ready");
    const container = childOf(p.pid);
    p.kill("SIGKILL");
    await p.exited;
    await until(() => !alive(container), { timeoutMs: 2000, intervalMs: 20, what: "the container's PID 1 to end" });
    expect(alive(container)).toBe(false);
    // Any later mini run sweeps the dead run's cgroups and state.
    expect((await mini(["run", rootfs, "true"])).code).toBe(0);
  });
});

describe("failures at each stage leave nothing", () => {
  test("a volume whose source vanished, a bad user, a bad workdir", async () => {
    expect((await mini(["run", "-v", "/no/such/dir:/x", rootfs, "true"])).code).toBe(125);
    expect((await mini(["run", "-u", "ghost", rootfs, "true"])).code).toBe(125);
    expect((await mini(["run", "-w", "/etc/passwd", rootfs, "true"])).code).toBe(125);
    expect((await mini(["run", rootfs, "/no/such/bin"])).code).toBe(127);
  });
});

test("nothing is left behind", async () => {
  expect(await leftBehind(before)).toEqual(NOTHING);
});
