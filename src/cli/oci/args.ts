// runc's command line as data: the global flags, the verbs only the OCI CLI has, and each verb's
// flags (citty's arg shapes, parsed by argv.ts); and which invocations are runc's. Loaded by every
// mini command: keep it free of imports beyond argv's types.
import type { OptDefs, OptValues } from "../argv.ts";

export const ociGlobalArgs = {
  root: { type: "string", description: "Directory of the OCI containers' state (default /run/mini-oci)" },
  log: { type: "string", description: "Also write errors (and with --debug, debug lines) to this file" },
  "log-format": { type: "enum", options: ["text", "json"], description: "Format of --log lines" },
  debug: { type: "boolean", description: "Debug logging" },
  "systemd-cgroup": { type: "boolean", description: "Use systemd for cgroups (not available: an error)" },
  "cgroup-manager": {
    type: "enum",
    options: ["cgroupfs", "systemd", "disabled"],
    description: "cgroupfs (default), systemd or disabled",
  },
  rootless: { type: "string", description: "Accepted: true|false|auto (mini needs root)" },
} as const satisfies OptDefs;

/** Verbs only the OCI CLI has; others are OCI when a global OCI flag is given or the id is an OCI container's. */
export const OCI_ONLY = new Set([
  "create",
  "state",
  "delete",
  "list",
  "pause",
  "resume",
  "features",
  "checkpoint",
  "restore",
]);
export const OCI_SHARED = new Set(["start", "kill", "ps", "exec", "run", "spec", "update"]);

/** Each verb's flags. */
const createArgs = {
  bundle: { type: "string", alias: "b" },
  "pid-file": { type: "string" },
  "console-socket": { type: "string" },
  "preserve-fds": { type: "string" },
  "no-pivot": { type: "boolean" },
  "no-new-keyring": { type: "boolean" },
} as const satisfies OptDefs;

export const OCI_VERB_ARGS = {
  create: createArgs,
  run: {
    ...createArgs,
    detach: { type: "boolean", alias: "d" },
    keep: { type: "boolean" },
  },
  kill: { all: { type: "boolean", alias: "a" } },
  delete: { force: { type: "boolean", alias: "f" } },
  list: { format: { type: "enum", options: ["table", "json"], alias: "f" }, quiet: { type: "boolean", alias: "q" } },
  ps: { format: { type: "enum", options: ["table", "json"], alias: "f" } },
  update: {
    resources: { type: "string", alias: "r" },
    memory: { type: "string" },
    "memory-swap": { type: "string" },
    "pids-limit": { type: "string" },
    "cpu-quota": { type: "string" },
    "cpu-period": { type: "string" },
    "cpu-shares": { type: "string" },
    "cpu-rt-period": { type: "string" },
    "cpu-rt-runtime": { type: "string" },
    "cpuset-cpus": { type: "string" },
    "cpuset-mems": { type: "string" },
    "memory-reservation": { type: "string" },
    "blkio-weight": { type: "string" },
  },
  exec: {
    process: { type: "string", alias: "p" },
    tty: { type: "boolean", alias: "t" },
    detach: { type: "boolean", alias: "d" },
    "pid-file": { type: "string" },
    "console-socket": { type: "string" },
    cwd: { type: "string" },
    env: { type: "string", alias: "e", repeat: true },
    user: { type: "string", alias: "u" },
    cap: { type: "string", alias: "c", repeat: true },
    "no-new-privs": { type: "boolean" },
    "preserve-fds": { type: "string" },
    "process-label": { type: "string" },
    apparmor: { type: "string" },
  },
  spec: { bundle: { type: "string", alias: "b" }, rootless: { type: "boolean" } },
  none: {},
} satisfies Record<string, OptDefs>;

/** True when `argv` (after the global flags) is meant for the OCI CLI. */
export function isOciInvocation(
  globalValues: OptValues,
  verb: string,
  rest: string[],
  exists: (id: string) => boolean,
): boolean {
  if (OCI_ONLY.has(verb)) return true;
  if (!OCI_SHARED.has(verb)) return false;
  if (Object.keys(ociGlobalArgs).some((k) => globalValues[k] !== undefined)) return true;
  // `run` is docker's unless a flag only runc's run has says otherwise (`mini run --bundle DIR` is docker's too).
  if (verb === "run")
    return rest.some((a) => /^--(detach|pid-file|console-socket|preserve-fds|no-new-keyring|keep)(=|$)/.test(a));
  if (verb === "exec" && rest.some((a) => a === "-p" || a === "--process" || a.startsWith("--process="))) return true;
  // `update` is docker's unless runc's --resources is given or the id is an OCI container's.
  if (verb === "update" && rest.some((a) => a === "-r" || a === "--resources" || a.startsWith("--resources=")))
    return true;
  return rest.some((a) => !a.startsWith("-") && /^[\w+.-]+$/.test(a) && exists(a));
}
