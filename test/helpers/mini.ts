// Runs dist/mini (or any other command) as a user would and captures what happened.
//
//   import { mini, run } from "../helpers/mini.ts";
//   const r = await mini(["run", rootfs, "true"], { env: { MINI_ROOT: store } });
//   const t = await run(["tar", "-cf", file, "."], { cwd: dir });
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { BunFile } from "bun";

export const MINI = resolve(import.meta.dir, "../../dist/mini");

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Variables for the command, over a bare PATH (or over this process's environment: inheritEnv). */
  env?: Record<string, string>;
  /** Start from this process's whole environment instead of PATH alone. */
  inheritEnv?: boolean;
  /** What the command reads: text, bytes or a file. Default: nothing (/dev/null). */
  stdin?: string | Uint8Array | BunFile;
  /** The command is SIGKILLed after this long. Default 30 s. */
  timeoutMs?: number;
  /** Its working directory. Default: this process's. */
  cwd?: string;
  /**
   * Capture stdout and stderr through files in this directory (removed after) instead of pipes:
   * for a command that hands its stdio on to a process that outlives it (an OCI `create`), whose
   * pipe would never reach EOF.
   */
  captureDir?: string;
  /** Open file descriptors the command gets as its fds 3, 4, … */
  fds?: number[];
}

/** MINI_DEFAULT_NETWORK as the test run sets it (none: test/setup.ts), for an env built from scratch. */
export const defaultNetworkEnv = (): Record<string, string> =>
  process.env.MINI_DEFAULT_NETWORK === undefined ? {} : { MINI_DEFAULT_NETWORK: process.env.MINI_DEFAULT_NETWORK };

export function ensureBuilt(): void {
  if (!existsSync(MINI)) throw new Error(`${MINI} is missing: run "bun run build" first`);
}

let captures = 0;

/** Runs `argv` to its end (or its timeout) and returns its exit code and output. */
export async function run(argv: string[], opts: RunOptions = {}): Promise<Result> {
  const env = {
    ...(opts.inheritEnv ? process.env : { PATH: process.env.PATH ?? "/usr/bin:/bin", ...defaultNetworkEnv() }),
    ...opts.env,
  };
  const stdin = typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : (opts.stdin ?? "ignore");
  const n = captures++;
  const files = opts.captureDir
    ? {
        out: join(opts.captureDir, `stdout-${process.pid}-${n}`),
        err: join(opts.captureDir, `stderr-${process.pid}-${n}`),
      }
    : undefined;
  const proc = Bun.spawn(argv, {
    cwd: opts.cwd,
    env,
    stdio: [stdin, files ? Bun.file(files.out) : "pipe", files ? Bun.file(files.err) : "pipe", ...(opts.fds ?? [])],
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
  try {
    if (!files) {
      const [stdout, stderr, code] = await Promise.all([
        new Response(proc.stdout as ReadableStream<Uint8Array>).text(),
        new Response(proc.stderr as ReadableStream<Uint8Array>).text(),
        proc.exited,
      ]);
      return { code, stdout, stderr };
    }
    const code = await proc.exited;
    const read = (f: string) => {
      try {
        return readFileSync(f, "utf8");
      } catch {
        return "";
      }
    };
    return { code, stdout: read(files.out), stderr: read(files.err) };
  } finally {
    clearTimeout(timer);
    if (files) for (const f of [files.out, files.err]) rmSync(f, { force: true });
  }
}

/** Runs dist/mini with `args`. */
export function mini(args: string[], opts: RunOptions = {}): Promise<Result> {
  return run([MINI, ...args], opts);
}

/** Runs `sh -c SCRIPT` in a container of `rootfs`, with extra mini flags before it. */
export function sh(rootfs: string, script: string, flags: string[] = []): Promise<Result> {
  return mini(["run", ...flags, rootfs, "sh", "-c", script]);
}

/**
 * Reads a running command's output until it contains `text`; fails if the stream ends first.
 * Returns what was read and the reader, to read on.
 */
export async function readUntil(stream: ReadableStream<Uint8Array>, text: string) {
  const reader = stream.getReader();
  const dec = new TextDecoder();
  let seen = "";
  while (!seen.includes(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended before "${text}": ${JSON.stringify(seen)}`);
    seen += dec.decode(value, { stream: true });
  }
  return { seen, reader };
}
