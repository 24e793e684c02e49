// Starts the child stage: the re-executed mini binary, inside the namespaces the parent prepared.
import { closeSync, writeSync } from "node:fs";
import type { Subprocess } from "bun";
import { CHILD_VERB, type ChildConfig } from "./child-config.ts";
import { withNamespaces, type NamespaceSetup } from "./namespaces.ts";

export interface StdioChoice {
  /** Keep stdin open (-i); otherwise the container's stdin is /dev/null. */
  interactive: boolean;
  /** A pty: Bun.spawn's terminal (the child gets it as controlling tty, via setsid + TIOCSCTTY). */
  terminal?: { cols: number; rows: number; data: (data: Uint8Array) => void };
}

/** argv that re-executes this program in its child-stage mode. */
export function selfArgv(verb: string): string[] {
  // Compiled: /proc/self/exe is mini itself. From source (bun src/main.ts): bun + the entry file.
  return Bun.main.startsWith("/$bunfs/") ? ["/proc/self/exe", verb] : [process.execPath, Bun.main, verb];
}

export function spawnChild(ns: NamespaceSetup, cfg: ChildConfig, io: StdioChoice): { proc: Subprocess; errorFd: number } {
  const proc = withNamespaces(ns, () =>
    Bun.spawn(selfArgv(CHILD_VERB), {
      stdio: [io.interactive ? "inherit" : "ignore", "inherit", "inherit", "pipe", "pipe"],
      env: {},
      ...(io.terminal && {
        terminal: { cols: io.terminal.cols, rows: io.terminal.rows, data: (_t: unknown, d: Uint8Array) => io.terminal!.data(d) },
      }),
    } as Parameters<typeof Bun.spawn>[1]),
  );
  const configFd = proc.stdio[3] as unknown as number;
  const errorFd = proc.stdio[4] as unknown as number;
  const data = Buffer.from(JSON.stringify(cfg));
  let off = 0;
  while (off < data.length) off += writeSync(configFd, data, off);
  closeSync(configFd);
  return { proc, errorFd };
}
