// OCI hooks: each runs with the container's state JSON on stdin, its own args (args[0] is argv0)
// and env, and an optional timeout in seconds. A failing prestart/createRuntime/createContainer/
// startContainer hook fails the operation; poststart and poststop failures are only warned about.
import type { Hook, Hooks } from "../config/types.ts";
import * as log from "../log.ts";
import { UserError } from "../common/errors.ts";
import { envRecord } from "../config/env.ts";

export type HookPhase = keyof Hooks;

const FATAL: HookPhase[] = ["prestart", "createRuntime", "createContainer", "startContainer"];

async function runHook(phase: HookPhase, i: number, h: Hook, state: string): Promise<string | undefined> {
  const t0 = performance.now();
  let proc: import("bun").Subprocess;
  try {
    proc = Bun.spawn([h.path, ...(h.args ?? []).slice(1)], {
      argv0: h.args?.[0] ?? h.path,
      env: envRecord(h.env ?? []),
      stdin: new TextEncoder().encode(state),
      stdout: "inherit",
      stderr: "pipe",
    } as Parameters<typeof Bun.spawn>[1]);
  } catch (e) {
    return `hooks.${phase}[${i}] ${h.path}: ${(e as Error).message}`;
  }
  let timedOut = false;
  const timer = h.timeout
    ? setTimeout(() => {
        timedOut = true;
        proc.kill("SIGKILL");
      }, h.timeout * 1000)
    : undefined;
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr as ReadableStream).text()]);
  if (timer) clearTimeout(timer);
  log.debug(`hook ${phase}[${i}] ${h.path} exited ${code}`, performance.now() - t0);
  if (timedOut) return `hooks.${phase}[${i}] ${h.path}: timed out after ${h.timeout} s`;
  if (code !== 0)
    return `hooks.${phase}[${i}] ${h.path}: exit status ${code}${err.trim() ? `: ${err.trim().split("\n").pop()}` : ""}`;
  return undefined;
}

/** Runs the phase's hooks in order; the first failure of a fatal phase throws. */
export async function runHooks(hooks: Hooks | undefined, phase: HookPhase, state: object): Promise<void> {
  const list = hooks?.[phase] ?? [];
  const text = JSON.stringify(state);
  for (let i = 0; i < list.length; i++) {
    const failure = await runHook(phase, i, list[i]!, text);
    if (!failure) continue;
    if (FATAL.includes(phase)) throw new UserError(failure, 1);
    log.warn(failure);
  }
}
