// Arg definitions shared by several commands.
import type { OptDefs } from "./argv.ts";

export const logLevelArg = {
  "log-level": {
    type: "enum",
    options: ["silent", "error", "warn", "info", "debug", "trace"],
    description: "Log detail on stderr; debug shows every setup step with its duration",
    valueHint: "level",
  },
} as const satisfies OptDefs;

/** -e KEY=VAL (run, exec). */
export const envArg = {
  env: {
    type: "string",
    alias: "e",
    repeat: true,
    description: "Set a variable (KEY=VAL, or KEY to pass the host's value); repeatable",
    valueHint: "KEY=VAL",
  },
} as const satisfies OptDefs;
