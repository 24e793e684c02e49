// OCI hooks: each runs with the container's state JSON on stdin, its own args (args[0] is argv0)
// and env, and an optional timeout in seconds. A failing prestart/createRuntime/createContainer/
// startContainer hook fails the operation with runc's message ("error running createRuntime hook
// #0: exit status 1, stdout: …, stderr: …"); poststart and poststop failures are only warned
// about. The same runner serves the runtime's phases and the child stage's (createContainer and
// startContainer run there, so they inherit the container's namespaces).
import { UserError } from "../common/errors.ts";
import { envRecord } from "../config/env.ts";
import type { Hook, Hooks } from "../config/types.ts";
import * as log from "../log.ts";

export type HookPhase = keyof Hooks;

const FATAL: HookPhase[] = ["prestart", "createRuntime", "createContainer", "startContainer"];

/** Runs one hook; its failure as runc words it (after "error running PHASE hook #N: "), or undefined. */
function runHook(phase: HookPhase, i: number, h: Hook, state: string, env: string[]): string | undefined {
  const t0 = performance.now();
  let r: ReturnType<typeof Bun.spawnSync>;
  try {
    r = Bun.spawnSync([h.path, ...(h.args ?? []).slice(1)], {
      argv0: h.args?.[0] ?? h.path,
      env: envRecord(h.env?.length ? h.env : env),
      stdin: new TextEncoder().encode(state),
      stdout: "pipe",
      stderr: "pipe",
      ...(h.timeout ? { timeout: h.timeout * 1000, killSignal: "SIGKILL" } : {}),
    } as Parameters<typeof Bun.spawnSync>[1]);
  } catch (e) {
    return `${h.path}: ${(e as Error).message}`;
  }
  log.debug(`hook ${phase}[${i}] ${h.path} exited ${r.exitCode ?? r.signalCode}`, performance.now() - t0);
  if (r.exitCode === 0) return undefined;
  if (r.exitedDueToTimeout) return `hook ran past specified timeout of ${h.timeout!.toFixed(1)}s`;
  const why =
    r.exitCode === null
      ? `signal: ${String(r.signalCode ?? "")
          .replace(/^SIG/, "")
          .toLowerCase()}`
      : `exit status ${r.exitCode}`;
  const text = (b: Buffer | undefined) => b?.toString().trim() ?? "";
  return `${why}, stdout: ${text(r.stdout)}, stderr: ${text(r.stderr)}`;
}

/** mini's own environment, for hooks that name none (runc's behaviour). */
export const ownEnv = (): string[] => Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ""}`);

/**
 * Runs the phase's hooks in order; the first failure of a fatal phase throws (exit 1, runc's). A
 * hook without `env` gets `env` (mini's environment by default).
 */
export function runHooks(hooks: Hooks | undefined, phase: HookPhase, state: object, env: string[] = ownEnv()): void {
  const list = hooks?.[phase] ?? [];
  const text = JSON.stringify(state);
  for (let i = 0; i < list.length; i++) {
    const failure = runHook(phase, i, list[i]!, text, env);
    if (!failure) continue;
    const message = `error running ${phase} hook #${i}: ${failure}`;
    if (FATAL.includes(phase)) throw new UserError(message, 1);
    log.warn(message);
  }
}
