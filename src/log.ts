// Logging to stderr, never stdout (stdout belongs to the container). consola is loaded only when
// something is logged: importing it and touching process.stderr cost ~20 ms, too much for the
// start-up path of every container.
import { writeSync } from "node:fs";
import type { ConsolaInstance } from "consola/basic";

const LEVELS: Record<string, number> = { silent: -1, error: 0, warn: 1, info: 3, debug: 4, trace: 5 };
let level = 1;
let consola: ConsolaInstance | undefined;

export function setLogLevel(name: string): void {
  if (!(name in LEVELS)) throw new Error(`invalid --log-level "${name}": use ${Object.keys(LEVELS).join(", ")}`);
  level = LEVELS[name];
}

export const isDebug = () => level >= 4;

/** Another destination for log lines (the OCI CLI's --log FILE, runc's logrus shape). */
export type LogSink = (level: "debug" | "info" | "warning" | "error", msg: string) => void;
let sink: LogSink | undefined;
/** With a sink, debug and info lines go only there; warnings and errors also to stderr. */
export function setLogSink(s: LogSink | undefined): void {
  sink = s;
}

function instance(): ConsolaInstance {
  if (!consola) {
    const { createConsola } = require("consola/basic") as typeof import("consola/basic");
    consola = createConsola({
      level,
      stdout: process.stderr,
      stderr: process.stderr,
      formatOptions: { date: false, colors: false },
    });
  }
  return consola;
}

export function debug(msg: string, ms?: number): void {
  if (level < 4) return;
  const text = ms === undefined ? msg : `${msg} (${ms.toFixed(2)} ms)`;
  if (sink) sink("debug", text);
  else instance().debug(text);
}

export function info(msg: string): void {
  if (level < 3) return;
  if (sink) sink("info", msg);
  else instance().info(msg);
}

export function warn(msg: string): void {
  if (level < 1) return;
  instance().warn(msg);
  sink?.("warning", msg);
}

/** The one line a user sees when mini fails. Written directly: it must appear even at exit. */
export function error(msg: string): void {
  if (level < 0) return;
  writeSync(2, `mini: ${msg}\n`);
  sink?.("error", msg);
}

/** Times `fn` and logs it at debug level. */
export function timed<T>(what: string, fn: () => T): T {
  if (level < 4) return fn();
  const t0 = performance.now();
  const r = fn();
  debug(what, performance.now() - t0);
  return r;
}
