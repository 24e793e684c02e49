// -t: the container gets a pty (Bun.spawn's terminal: setsid + controlling tty in the child).
// The host terminal goes to raw mode and is always restored; the window size follows SIGWINCH.
import type { Subprocess } from "bun";

export interface AttachedTerminal {
  options: { cols: number; rows: number; data: (d: Uint8Array) => void };
  start(proc: { terminal?: Subprocess["terminal"] }): void;
  /** Called when the user's side goes away (stdin EOF or error). */
  onHangup(cb: () => void): void;
  /** Waits for the pty's last output (bounded), then restores the host terminal. */
  stop(): Promise<void>;
}

export function attachTerminal(): AttachedTerminal {
  const stdin = process.stdin;
  const stdout = process.stdout;
  const isTTY = !!stdin.isTTY;
  let proc: { terminal?: Subprocess["terminal"] } | undefined;
  let hangup: (() => void) | undefined;
  let closed: () => void = () => {};
  const drained = new Promise<void>((r) => (closed = r));
  const restore = () => { if (isTTY) try { stdin.setRawMode(false); } catch { /* terminal gone */ } };
  const onWinch = () => proc?.terminal?.resize(stdout.columns || 80, stdout.rows || 24);
  const onData = (d: Buffer) => proc?.terminal?.write(d);
  const onEnd = () => hangup?.();

  return {
    options: {
      cols: stdout.columns || 80,
      rows: stdout.rows || 24,
      data: (d) => { stdout.write(d); },
    },
    start(p) {
      proc = p;
      // Bun reports the pty's EOF through the terminal's exit callback only when given at spawn;
      // polling `closed` is simpler and bounded.
      const t = p.terminal;
      if (t) {
        const poll = setInterval(() => { if (t.closed) { clearInterval(poll); closed(); } }, 20);
      }
      if (isTTY) stdin.setRawMode(true);
      process.on("exit", restore);
      process.on("SIGWINCH", onWinch);
      stdin.on("data", onData);
      stdin.on("end", onEnd);
      stdin.on("error", onEnd);
      stdin.resume();
    },
    onHangup(cb) { hangup = cb; },
    async stop() {
      await Promise.race([drained, Bun.sleep(300)]);
      stdin.off("data", onData);
      stdin.off("end", onEnd);
      stdin.off("error", onEnd);
      stdin.pause();
      process.off("SIGWINCH", onWinch);
      restore();
      proc?.terminal?.close();
    },
  };
}
