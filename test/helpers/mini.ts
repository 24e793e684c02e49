// Runs dist/mini as a user would and captures what happened.
import { existsSync } from "node:fs";
import { resolve } from "node:path";

export const MINI = resolve(import.meta.dir, "../../dist/mini");

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function ensureBuilt(): void {
  if (!existsSync(MINI)) throw new Error(`${MINI} is missing: run "bun run build" first`);
}

export async function mini(
  args: string[],
  opts: { stdin?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Result> {
  const proc = Bun.spawn([MINI, ...args], {
    stdin: opts.stdin !== undefined ? new TextEncoder().encode(opts.stdin) : "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...opts.env },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 30000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Runs `sh -c SCRIPT` in a container of `rootfs`, with extra mini flags before it. */
export function sh(rootfs: string, script: string, flags: string[] = []): Promise<Result> {
  return mini(["run", ...flags, rootfs, "sh", "-c", script]);
}
