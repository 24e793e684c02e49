// A mini process whose stdin/stdout/stderr are the slave of a pty this test holds the master of,
// as a user at a terminal would run it. Call disposeSessions() after each test.
import type { Subprocess, Terminal } from "bun";
import { defaultNetworkEnv, MINI } from "./mini.ts";
import { until } from "./until.ts";

/** A mini process whose stdio is a pty; its output accumulates in `out`. */
export class Session {
  out = "";
  readonly proc: Subprocess;
  readonly started = performance.now();

  /** `program` defaults to dist/mini (podman in the engine tests). */
  constructor(args: string[], env: Record<string, string>, size = { cols: 100, rows: 30 }, program = MINI) {
    const dec = new TextDecoder();
    this.proc = Bun.spawn([program, ...args], {
      env: { ...defaultNetworkEnv(), ...env },
      terminal: {
        ...size,
        data: (_t, d) => {
          this.out += dec.decode(d, { stream: true });
        },
      },
    });
    sessions.add(this);
  }

  get term(): Terminal {
    return this.proc.terminal!;
  }
  get pid(): number {
    return this.proc.pid;
  }
  /** Where the output is now: look for what comes next from here. */
  mark(): number {
    return this.out.length;
  }
  send(s: string): void {
    this.term.write(s);
  }

  /** Polls the output after `from` for `re`; fails (with the output so far) after `ms`. */
  waitFor(re: RegExp, from = 0, ms = 5000): Promise<RegExpMatchArray> {
    return until(() => this.out.slice(from).match(re), {
      timeoutMs: ms,
      intervalMs: 10,
      what: () => `${re}; output: ${JSON.stringify(this.out.slice(from))}`,
    });
  }

  /** Polls until `cond` holds; fails with `what` (and the output so far) after `ms`. */
  async until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
    await until(cond, { timeoutMs: ms, intervalMs: 10, what: () => `${what}; output: ${JSON.stringify(this.out)}` });
  }

  /** mini's exit code, or a failure if it is still running after `ms`. */
  async exited(ms = 5000): Promise<number> {
    const timeout = Bun.sleep(ms).then(() => "timeout" as const);
    const r = await Promise.race([this.proc.exited, timeout]);
    if (r === "timeout") throw new Error(`mini still running after ${ms} ms; output: ${JSON.stringify(this.out)}`);
    return r;
  }

  /** Ends what is left: mini by its pid (the container dies with it), then the pty. */
  async dispose(): Promise<void> {
    sessions.delete(this);
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill("SIGKILL");
      await this.proc.exited;
    }
    if (!this.term.closed) this.term.close();
  }
}

const sessions = new Set<Session>();

/** Ends every session still open: mini by its pid, then the pty. */
export async function disposeSessions(): Promise<void> {
  for (const s of [...sessions]) await s.dispose();
}
