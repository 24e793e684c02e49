// mini run -it / -t / -i, driven through a real pty as a user at a terminal would: mini's own
// stdin/stdout/stderr are the slave of a Bun.Terminal this test holds the master of.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import type { Terminal } from "bun";
import { ensureBuilt, mini } from "../helpers/mini.ts";
import { leftBehind, NOTHING, snapshot, type Snapshot } from "../helpers/leaks.ts";
import { cleanupRootfses, makeRootfs } from "../helpers/rootfs.ts";
import { disposeSessions, Session as PtySession } from "../helpers/pty-session.ts";
import { until } from "../helpers/until.ts";

/** A pty session of `mini ARGS` with this file's environment. */
class Session extends PtySession {
  constructor(args: string[], size = { cols: 100, rows: 30 }) {
    super(args, env, size);
  }
}

// termios bits (Linux): c_lflag, c_oflag.
const ISIG = 0o1;
const ICANON = 0o2;
const ECHO = 0o10;
const OPOST = 0o1;
const COOKED = ISIG | ICANON | ECHO;

const PROMPT = /\/ # /;
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", TERM: "vt100" };

let rootfs: string;
let before: Snapshot;
/** What a fresh pty looks like: what mini's terminal must be again when it exits. */
let fresh: { input: number; output: number; local: number; control: number };

const flagsOf = (t: Terminal) => ({
  input: t.inputFlags,
  output: t.outputFlags,
  local: t.localFlags,
  control: t.controlFlags,
});

beforeAll(() => {
  ensureBuilt();
  rootfs = makeRootfs();
  const t = new Bun.Terminal({ cols: 80, rows: 24 });
  fresh = flagsOf(t);
  t.close();
  expect(fresh.local & COOKED).toBe(COOKED);
  expect(fresh.output & OPOST).toBe(OPOST);
  before = snapshot();
});

afterAll(() => {
  cleanupRootfses();
});

afterEach(disposeSessions);

/** Starts `mini run FLAGS rootfs sh` and waits for its prompt. */
async function shell(flags = ["-it"]): Promise<Session> {
  const s = new Session(["run", ...flags, rootfs, "sh"]);
  await s.waitFor(PROMPT);
  return s;
}

/** Runs a command line at the prompt and returns the output after it (up to the next prompt). */
async function command(s: Session, line: string, expect: RegExp, ms = 5000): Promise<RegExpMatchArray> {
  const from = s.mark();
  s.send(`${line}\r`);
  return s.waitFor(expect, from, ms);
}

interface Proc {
  pid: number;
  start: string;
  comm: string;
}

function readProc(pid: number): (Proc & { ppid: number; state: string }) | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
      pid,
      comm: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
      state: rest[0],
      ppid: Number(rest[1]),
      start: rest[19],
    };
  } catch {
    return undefined;
  }
}

/** All processes below `root` on the host (the container's among them, by their host pids). */
function descendants(root: number): Proc[] {
  const children = new Map<number, Proc[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProc(Number(name));
    if (!p) continue;
    children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  }
  const out: Proc[] = [];
  const queue = [root];
  while (queue.length) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c.pid);
    }
  }
  return out;
}

/** Still there (the same process, not a recycled pid, and not a zombie waiting to be reaped)? */
const alive = (p: Proc) => {
  const now = readProc(p.pid);
  return !!now && now.start === p.start && now.state !== "Z";
};

/** Waits until `sleep` runs in the container of session `s`; returns the container's processes. */
async function waitForSleep(s: Session): Promise<Proc[]> {
  let procs: Proc[] = [];
  await s.until(() => (procs = descendants(s.pid)).some((p) => p.comm === "sleep"), "sleep to start in the container");
  return procs;
}

describe("mini run -it: an interactive shell", () => {
  test("a shell prompt appears", async () => {
    const s = await shell();
    expect(s.out).toMatch(PROMPT);
    expect(performance.now() - s.started).toBeLessThan(5000);
  });

  test("stdin, stdout and stderr are a terminal, a pty", async () => {
    const s = await shell();
    await command(s, '[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo "TTY=""yes"', /TTY=yes/);
    const m = await command(s, 'echo "FD0=$(readlink /proc/self/fd/0)="', /FD0=([^$=\r\n][^=\r\n]*)=/);
    expect(m[1]).toMatch(/^\/dev\/pts\/\d+$/);
  });

  // Known bug (not in tty.ts): the pty is allocated from the host's devpts (Bun.spawn's terminal,
  // in mini), but the container mounts a new devpts instance on /dev/pts, which has no entry for
  // it; ttyname() fails and `tty` says "not a tty". Docker/runc allocate the pty inside the
  // container's own devpts (/dev/pts/0). Drop `.failing` once that is fixed.
  test("`tty` prints a /dev/pts path of the container's own devpts; /dev/console is that pty", async () => {
    const s = await shell();
    const m = await command(s, 'echo "T=$(tty)="', /T=([^$=\r\n][^=\r\n]*)=/);
    expect(m[1]).toMatch(/^\/dev\/pts\/\d+$/);
    // It exists inside, and /dev/console is the same pty (bound over it, as docker and runc do).
    const c = await command(
      s,
      `echo "C=$(stat -c %t:%T ${m[1]})/$(stat -c %t:%T /dev/console)="`,
      /C=([^$=\r\n][^=\r\n]*)=/,
    );
    const [own, console] = c[1]!.split("/");
    expect(own).toMatch(/^88:\d+$/); // major 136: a pty slave
    expect(console).toBe(own);
  });

  test("-it with --userns: a terminal too (the pty comes from the container's devpts)", async () => {
    const s = await shell(["-it", "--userns"]);
    const m = await command(s, 'echo "T=$(tty)="', /T=([^$=\r\n][^=\r\n]*)=/);
    expect(m[1]).toMatch(/^\/dev\/pts\/\d+$/);
    const u = await command(s, "echo \"U=$(awk '{print $1, $2, $3}' /proc/self/uid_map)=\"", /U=([^$=\r\n][^=\r\n]*)=/);
    expect(u[1]!.trim().split(/\s+/)).toEqual(["0", "100000", "65536"]);
  });

  test("the window size is mini's terminal's: stty size prints 30 100", async () => {
    const s = await shell();
    const m = await command(s, 'echo "S=$(stty size)="', /S=(\d+ \d+)=/);
    expect(m[1]).toBe("30 100");
  });

  test("the window size follows a resize of mini's terminal (SIGWINCH)", async () => {
    const s = await shell();
    expect((await command(s, 'echo "S=$(stty size)="', /S=(\d+ \d+)=/))[1]).toBe("30 100");
    s.term.resize(120, 40); // the kernel sends SIGWINCH to mini, the terminal's foreground process
    // mini handles the signal asynchronously: ask again until the new size shows (bounded).
    let size = "";
    await until(async () => (size = (await command(s, 'echo "S=$(stty size)="', /S=(\d+ \d+)=/))[1]) === "40 120", {
      timeoutMs: 5000,
      intervalMs: 50,
      what: () => `stty size to say 40 120 (last: ${size})`,
    });
    expect(size).toBe("40 120");
  });

  test("TERM is xterm inside, whatever the host's is", async () => {
    const s = await shell();
    const m = await command(s, 'echo "T=$TERM="', /T=([^$=\s]*)=/);
    expect(m[1]).toBe("xterm");
  });

  test("Ctrl-C interrupts the running command; the shell survives", async () => {
    const s = await shell();
    s.send("sleep 30\r");
    await waitForSleep(s);
    const from = s.mark();
    const t0 = performance.now();
    s.send("\x03");
    await s.waitFor(PROMPT, from, 3000);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(descendants(s.pid).some((p) => p.comm === "sleep")).toBe(false);
    // The shell is still there and saw its child die of SIGINT.
    expect((await command(s, 'echo "RC=$?="', /RC=(\d+)=/))[1]).toBe("130");
    expect((await command(s, 'echo "ALIVE""OK"', /ALIVEOK/))[0]).toBe("ALIVEOK");
  });

  test("exit 3 ends the session with mini's exit code 3", async () => {
    const s = await shell();
    s.send("exit 3\r");
    expect(await s.exited()).toBe(3);
  });

  test("mini's terminal is raw while the session runs and restored when it ends", async () => {
    const s = await shell();
    // Raw as cfmakeraw (docker's MakeRaw): no echo, no line editing, no signals, no output processing.
    await s.until(() => (s.term.localFlags & COOKED) === 0, "raw mode");
    expect(s.term.outputFlags & OPOST).toBe(0);
    // So a bare "\n" from the container reaches the terminal unchanged.
    const m = await command(s, "stty -opost; printf 'L1\\nL2\\n'; stty opost", /L1(\r?\n)L2/);
    expect(m[1]).toBe("\n");
    s.send("exit\r");
    expect(await s.exited()).toBe(0);
    // The master stays open after mini's exit, and termios getters on the master read the slave's
    // settings: exactly those of a fresh pty again.
    expect(flagsOf(s.term)).toEqual(fresh);
  });

  test("the terminal is restored when the command cannot even start", async () => {
    const s = new Session(["run", "-it", rootfs, "/no/such/command"]);
    expect(await s.exited()).toBe(127);
    expect(s.out).toContain("/no/such/command");
    expect(flagsOf(s.term)).toEqual(fresh);
  });

  test("closing the terminal (hang-up) ends mini within seconds and leaves no process", async () => {
    const s = await shell();
    s.send("sleep 30\r");
    const container = await waitForSleep(s);
    expect(container.length).toBeGreaterThanOrEqual(2); // sh (the container's pid 1) and sleep
    const t0 = performance.now();
    s.term.close();
    // SIGHUP to the container, SIGKILL 2 s later (pid 1 ignores SIGHUP without a handler).
    const code = await s.exited(6000);
    expect(performance.now() - t0).toBeLessThan(4000);
    expect(code).not.toBe(0);
    await s.until(() => !container.some(alive), "the container's processes to go", 2000);
  });

  test("hang-up while the container is writing: mini survives the dead terminal and cleans up", async () => {
    // Writing to a hung-up terminal fails (EIO); that must end the session, not crash mini
    // (a crash would skip its clean-up: the cgroups and the state directory would stay).
    const snap = snapshot();
    const s = new Session(["run", "-it", rootfs, "sh", "-c", "while :; do echo tick; sleep 0.02; done"]);
    await s.waitFor(/tick/);
    const container = descendants(s.pid);
    s.term.close();
    const code = await s.exited(6000);
    expect(code).toBe(128 + 9); // killed at the end of the grace period, not a crash (1)
    await s.until(() => !container.some(alive), "the container's processes to go", 2000);
    expect(await leftBehind(snap)).toEqual(NOTHING);
  });
});

/** What is left compared with `snap`, polled briefly so a slow reap is not a false alarm. */

describe("-t without -i, -i without -t (as docker)", () => {
  test("-t alone: the command has a terminal of mini's size", async () => {
    const s = new Session([
      "run",
      "-t",
      rootfs,
      "sh",
      "-c",
      '[ -t 0 ] && [ -t 1 ] && echo "TTY=yes"; echo "S=$(stty size)="; exit 4',
    ]);
    expect(await s.exited()).toBe(4);
    expect(s.out).toContain("TTY=yes");
    expect(s.out).toMatch(/S=30 100=/);
  });

  // Known bug: docker attaches no stdin without -i (its terminal is not made raw, what is typed
  // never reaches the container, stdin's EOF ends nothing). tty.ts supports this through
  // attachTerminal({ interactive }), but run.ts calls attachTerminal() without it.
  // Drop `.failing` once run.ts passes { interactive: o.interactive }.
  test("-t alone: mini's terminal stays cooked and typed input does not reach the command", async () => {
    const s = new Session(["run", "-t", rootfs, "sh", "-c", 'echo "READY"; read -t 1 x; echo "got[$x]"']);
    await s.waitFor(/READY/);
    expect(s.term.localFlags & COOKED).toBe(COOKED);
    s.send("secret\r");
    expect(await s.exited()).toBe(0);
    expect(s.out).toContain("got[]");
  });

  test("-i alone: a pipe on stdin reaches the command", async () => {
    const r = await mini(["run", "-i", rootfs, "cat"], { stdin: "hi\n", timeoutMs: 10000 });
    expect(r).toEqual({ code: 0, stdout: "hi\n", stderr: "" });
  });

  test("-i alone at a terminal: typed lines reach the command, the terminal stays cooked", async () => {
    const s = new Session(["run", "-i", rootfs, "sh", "-c", 'echo "READY"; read x; echo "got[$x]"']);
    await s.waitFor(/READY/);
    expect(s.term.localFlags & COOKED).toBe(COOKED);
    s.send("abc\r");
    expect(await s.exited()).toBe(0);
    expect(s.out).toContain("got[abc]");
    expect(flagsOf(s.term)).toEqual(fresh);
  });

  // Known divergence (spawn-child.ts, not tty.ts): with -i the container inherits mini's stdin
  // itself, here the host's terminal (and shares mini's session, which has it as controlling
  // tty), where docker gives it a pipe. Drop `.failing` once stdin is relayed through a pipe.
  test("-i alone at a terminal: the command's stdin is not the host's terminal", async () => {
    const s = new Session(["run", "-i", rootfs, "sh", "-c", '[ -t 0 ] && echo "STDIN=tty" || echo "STDIN=notty"']);
    expect(await s.exited()).toBe(0);
    expect(s.out).toContain("STDIN=notty");
  });

  test("neither: stdin is /dev/null, even with data waiting on mini's stdin", async () => {
    const r = await mini(["run", rootfs, "cat"], { stdin: "hello\n", timeoutMs: 10000 });
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  test("neither, at a terminal: cat reads /dev/null and exits 0 at once", async () => {
    const s = new Session(["run", rootfs, "sh", "-c", 'readlink /proc/self/fd/0; cat; echo "END"']);
    expect(await s.exited(3000)).toBe(0);
    expect(s.out).toMatch(/\/dev\/null\r?\nEND/);
    expect(performance.now() - s.started).toBeLessThan(3000);
  });
});

test("nothing is left behind", async () => {
  expect(await leftBehind(before)).toEqual(NOTHING);
});
