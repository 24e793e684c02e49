// Signals a user's terminal or an engine sends to mini, passed on to what mini runs for them
// (the container's init, an exec'd command), and signal names as users write them.
import { UserError } from "../common/errors.ts";
import { signalNumber } from "../sys/constants.ts";

/** What docker forwards to a foreground container (SIGHUP is the caller's to handle: see foreground.ts). */
const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const;

/**
 * Passes each of `signals` this process gets on to `deliver` until the returned function is
 * called. A handler replaces Bun's default action, so mini itself is not killed by them.
 */
export function forwardSignals(
  deliver: (sig: NodeJS.Signals) => void,
  signals: readonly NodeJS.Signals[] = FORWARDED_SIGNALS,
  overrides: Partial<Record<NodeJS.Signals, () => void>> = {},
): () => void {
  const handlers = signals.map((sig) => {
    const h = overrides[sig] ?? (() => deliver(sig));
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h);
  };
}

/** SIGTERM, TERM, 15, RTMIN+3 → its number; anything else is a user error (exit 1, docker's). */
export function parseSignal(s: string): number {
  const n = signalNumber(s);
  if (n === undefined) throw new UserError(`invalid signal: ${s}`, 1);
  return n;
}
