// Polling: try a condition until it holds, or fail saying what was waited for.
//
//   import { until } from "../helpers/until.ts";
//   await until(async () => (await state("c1")).status === "stopped", { what: "c1 to stop" });
//   const m = await until(() => out.match(/ready/), { timeoutMs: 5000, intervalMs: 10, what: "ready" });

export interface UntilOptions {
  /** What is waited for, for the error; a function is called only then (to show the state at that moment). */
  what: string | (() => string);
  /** Give up after this long. Default 10 s. */
  timeoutMs?: number;
  /** Pause between tries. Default 25 ms. */
  intervalMs?: number;
}

/** What until() throws when the condition never held in time. */
export class UntilTimeout extends Error {
  override name = "UntilTimeout";
}

type Truthy<T> = Exclude<T, false | 0 | 0n | "" | null | undefined>;

/**
 * Calls `fn` until it returns something truthy and returns that. Throws UntilTimeout once
 * `timeoutMs` has passed with no such answer; an error thrown by `fn` ends the wait at once.
 */
export async function until<T>(fn: () => T | Promise<T>, opts: UntilOptions): Promise<Truthy<T>> {
  const { timeoutMs = 10_000, intervalMs = 25 } = opts;
  const end = performance.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value as Truthy<T>;
    if (performance.now() > end) {
      const what = typeof opts.what === "function" ? opts.what() : opts.what;
      throw new UntilTimeout(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await Bun.sleep(intervalMs);
  }
}
