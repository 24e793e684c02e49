// -t: the user's side of a container's pty (console.ts has the container's side).
// The host terminal goes to raw mode and is always restored; the window size follows SIGWINCH.
import * as sys from "../sys/calls.ts";
import type { TerminalLike } from "./console.ts";
import { OPOST, TCGETS, TCSETS } from "../sys/constants.ts";

export interface AttachedTerminal {
  options: { cols: number; rows: number; data: (d: Uint8Array) => void };
  /** Relays between the user's terminal and `terminal` (the container's pty master). */
  start(terminal: TerminalLike): void;
  /** Called when the user's side goes away (stdin EOF or error, or the terminal refusing output). */
  onHangup(cb: () => void): void;
  /** Waits for the pty's last output (bounded), then restores the host terminal. */
  stop(): Promise<void>;
}

function getTermios(fd: number): Uint8Array | undefined {
  const buf = new Uint8Array(64); // kernel struct termios is 36 bytes (60 for termios2)
  try {
    sys.ioctl(fd, TCGETS, buf, "TCGETS");
    return buf;
  } catch {
    return undefined;
  }
}

function setTermios(fd: number, t: Uint8Array): void {
  try {
    sys.ioctl(fd, TCSETS, t, "TCSETS");
  } catch {
    /* terminal gone */
  }
}

/**
 * `interactive` (-i): the host's stdin is forwarded, its terminal goes raw, and its EOF hangs up.
 * Without it (-t alone) docker attaches no input: the terminal stays as it is and stdin is unread.
 */
export function attachTerminal(opts: { interactive?: boolean } = {}): AttachedTerminal {
  const interactive = opts.interactive ?? true;
  const stdin = process.stdin;
  const stdout = process.stdout;
  const isTTY = interactive && !!stdin.isTTY;
  let pty: TerminalLike | undefined;
  let hangup: (() => void) | undefined;
  let closed: () => void = () => {};
  const drained = new Promise<void>((r) => (closed = r));
  let saved: Uint8Array | undefined;
  let raw = false;
  let outputDead = false;
  const restore = () => {
    if (!raw) return;
    raw = false;
    try {
      stdin.setRawMode(false);
    } catch {
      /* terminal gone */
    }
    // Exactly what we found (setRawMode(false) leaves c_oflag to us).
    if (saved) setTermios(0, saved);
  };
  const makeRaw = () => {
    saved = getTermios(0);
    stdin.setRawMode(true);
    raw = true;
    // Like cfmakeraw (docker's MakeRaw): no output processing either, or the host would turn
    // every bare "\n" a full-screen program sends into "\r\n" (libuv's raw mode keeps ONLCR).
    const t = getTermios(0);
    if (t) {
      const v = new DataView(t.buffer);
      v.setUint32(4, v.getUint32(4, true) & ~OPOST, true);
      setTermios(0, t);
    }
  };
  const onWinch = () => pty?.resize(stdout.columns || 80, stdout.rows || 24);
  const onData = (d: Buffer) => pty?.write(d);
  const onEnd = () => hangup?.();
  // The host terminal hung up: writes fail with EIO. Never let that kill mini (its clean-up
  // would be skipped): drop the output and end the session as on stdin's EOF.
  const onOutputError = () => {
    if (outputDead) return;
    outputDead = true;
    hangup?.();
  };

  return {
    options: {
      cols: stdout.columns || 80,
      rows: stdout.rows || 24,
      data: (d) => {
        if (outputDead) return;
        try {
          stdout.write(d);
        } catch {
          onOutputError();
        }
      },
    },
    start(t) {
      pty = t;
      // The relay notices the pty's EOF on its own; polling `closed` keeps this side simple.
      {
        const poll = setInterval(() => {
          if (t.closed) {
            clearInterval(poll);
            closed();
          }
        }, 20);
      }
      stdout.on("error", onOutputError);
      process.on("exit", restore);
      process.on("SIGWINCH", onWinch);
      if (!interactive) return;
      if (isTTY) makeRaw();
      stdin.on("data", onData);
      stdin.on("end", onEnd);
      stdin.on("error", onEnd);
      stdin.resume();
    },
    onHangup(cb) {
      hangup = cb;
    },
    async stop() {
      await Promise.race([drained, Bun.sleep(300)]);
      if (interactive) {
        stdin.off("data", onData);
        stdin.off("end", onEnd);
        stdin.off("error", onEnd);
        stdin.pause();
      }
      process.off("SIGWINCH", onWinch);
      restore();
      stdout.off("error", onOutputError);
      pty?.close();
    },
  };
}
