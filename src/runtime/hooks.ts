// OCI hooks: each runs with the container's state JSON on stdin, its own args (args[0] is argv0)
// and env, and an optional timeout in seconds. A failing prestart/createRuntime/createContainer/
// startContainer hook fails the operation; poststart and poststop failures are only warned about.
// The same runner serves the runtime's phases and the child stage's (createContainer and
// startContainer run there, so they inherit the container's namespaces).
import { UserError } from "../common/errors.ts";
import { envRecord } from "../config/env.ts";
import type { Hook, Hooks } from "../config/types.ts";
import * as log from "../log.ts";

export type HookPhase = keyof Hooks;

const FATAL: HookPhase[] = ["prestart", "createRuntime", "createContainer", "startContainer"];

/** Runs one hook; its failure as a sentence, or undefined. */
function runHook(phase: HookPhase, i: number, h: Hook, state: string, env: string[]): string | undefined {
  const t0 = performance.now();
  const name = `hooks.${phase}[${i}] ${h.path}`;
  let r: ReturnType<typeof Bun.spawnSync>;
  try {
    r = Bun.spawnSync([h.path, ...(h.args ?? []).slice(1)], {
      argv0: h.args?.[0] ?? h.path,
      env: envRecord(h.env ?? env),
      stdin: new TextEncoder().encode(state),
      stdout: "inherit",
      stderr: "pipe",
      ...(h.timeout ? { timeout: h.timeout * 1000, killSignal: "SIGKILL" } : {}),
    } as Parameters<typeof Bun.spawnSync>[1]);
  } catch (e) {
    return `${name}: ${(e as Error).message}`;
  }
  log.debug(`hook ${phase}[${i}] ${h.path} exited ${r.exitCode ?? r.signalCode}`, performance.now() - t0);
  if (r.exitCode === 0) return undefined;
  if (r.exitedDueToTimeout) return `${name}: timed out after ${h.timeout} s`;
  const last = r.stderr?.toString().trim().split("\n").pop();
  const why = r.exitCode === null ? `killed (${r.signalCode})` : `exit status ${r.exitCode}`;
  return `${name}: ${why}${last ? `: ${last}` : ""}`;
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
    if (FATAL.includes(phase)) throw new UserError(failure, 1);
    log.warn(failure);
  }
}
