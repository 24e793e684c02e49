// Starts the child stage: the re-executed mini binary, inside the namespaces the parent prepared.
// It is started first and handed its config later, so its start-up (a whole Bun runtime) runs
// while the parent sets up cgroups.
import { closeSync, writeSync } from "node:fs";
import type { Subprocess } from "bun";
import { CHILD_VERB, type ChildConfig } from "./child-config.ts";
import { withNamespaces, type NamespaceSetup } from "./namespaces.ts";

export interface StdioChoice {
  /** Keep stdin open (-i); otherwise the container's stdin is /dev/null. */
  interactive: boolean;
  /** A pty: Bun.spawn's terminal (the child gets it as controlling tty, via setsid + TIOCSCTTY). */
  terminal?: { cols: number; rows: number; data: (data: Uint8Array) => void };
  /** Kill the container when this process dies (foreground runs). */
  dieWithParent: boolean;
}

export interface StartedChild {
  proc: Subprocess;
  /** Sends the config; the child waits for it before doing anything. */
  send(cfg: ChildConfig): void;
  /** The child's error channel: a JSON line when setup or exec failed, EOF when exec succeeded. */
  errorFd: number;
}

/** argv that re-executes this program in its child-stage mode. */
export function selfArgv(args: string[]): string[] {
  // Compiled: /proc/self/exe is mini itself. From source (bun src/main.ts): bun + the entry file.
  return Bun.main.startsWith("/$bunfs/") ? ["/proc/self/exe", ...args] : [process.execPath, Bun.main, ...args];
}

export function spawnChild(ns: NamespaceSetup, io: StdioChoice): StartedChild {
  const args = io.dieWithParent ? [CHILD_VERB, String(process.pid)] : [CHILD_VERB];
  const proc = withNamespaces(ns, () =>
    Bun.spawn(selfArgv(args), {
      stdio: [io.interactive ? "inherit" : "ignore", "inherit", "inherit", "pipe", "pipe"],
      env: {},
      ...(io.terminal && {
        terminal: { cols: io.terminal.cols, rows: io.terminal.rows, data: (_t: unknown, d: Uint8Array) => io.terminal!.data(d) },
      }),
    } as Parameters<typeof Bun.spawn>[1]),
  );
  const configFd = proc.stdio[3] as unknown as number;
  return {
    proc,
    errorFd: proc.stdio[4] as unknown as number,
    send(cfg) {
      const data = Buffer.from(JSON.stringify(cfg));
      let off = 0;
      while (off < data.length) off += writeSync(configFd, data, off);
      closeSync(configFd);
    },
  };
}
