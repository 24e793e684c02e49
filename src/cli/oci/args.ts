// runc's command line as data: the global flags, the verbs only the OCI CLI has, and each verb's
// flags (citty's arg shapes, parsed by argv.ts; descriptions for `-h` in runc's layout, help.ts);
// and which invocations are runc's. Loaded by every mini command: keep it free of imports beyond
// argv's types.
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
  "events",
  "checkpoint",
  "restore",
]);
export const OCI_SHARED = new Set(["start", "kill", "ps", "exec", "run", "spec", "update"]);

/** Each verb's flags. */
const createArgs = {
  bundle: { type: "string", alias: "b", description: "the bundle's directory (default: the current one)" },
  "console-socket": {
    type: "string",
    description: "an AF_UNIX socket that gets the master of the container's pseudoterminal",
  },
  "pidfd-socket": { type: "string", description: "an AF_UNIX socket that gets a pidfd of the container's process" },
  "pid-file": { type: "string", description: "write the container process's pid to this file" },
  "no-pivot": { type: "boolean", description: "chroot instead of pivot_root (a rootfs on the initramfs)" },
  "no-new-keyring": { type: "boolean", description: "accepted; mini makes no session keyring" },
  "preserve-fds": { type: "string", description: "pass N more fds (3 to 3+N-1) to the container" },
} as const satisfies OptDefs;

export const OCI_VERB_ARGS = {
  create: createArgs,
  run: {
    ...createArgs,
    detach: { type: "boolean", alias: "d", description: "return once the container runs" },
    keep: { type: "boolean", description: "accepted; keep the container after it exits" },
  },
  kill: { all: { type: "boolean", alias: "a", description: "signal every process of the container" } },
  delete: { force: { type: "boolean", alias: "f", description: "kill the container first when it runs" } },
  list: {
    format: { type: "enum", options: ["table", "json"], alias: "f", description: "table or json" },
    quiet: { type: "boolean", alias: "q", description: "only the container ids" },
  },
  ps: { format: { type: "enum", options: ["table", "json"], alias: "f", description: "table or json" } },
  events: {
    stats: { type: "boolean", description: "print the container's statistics once and return" },
    interval: { type: "string", description: "time between statistics (a Go duration, default 5s)" },
  },
  update: {
    resources: { type: "string", alias: "r", description: "linux.resources JSON from this file (- for stdin)" },
    memory: { type: "string", description: "memory limit in bytes" },
    "memory-swap": { type: "string", description: "memory + swap limit in bytes" },
    "pids-limit": { type: "string", description: "maximum number of processes" },
    "cpu-quota": { type: "string", description: "CFS quota in microseconds" },
    "cpu-period": { type: "string", description: "CFS period in microseconds" },
    "cpu-shares": { type: "string", description: "relative CPU weight" },
    "cpu-rt-period": { type: "string", description: "real-time period in microseconds" },
    "cpu-rt-runtime": { type: "string", description: "real-time runtime in microseconds" },
    "cpuset-cpus": { type: "string", description: "CPUs the container may use (0-3,7)" },
    "cpuset-mems": { type: "string", description: "memory nodes the container may use" },
    "memory-reservation": { type: "string", description: "memory soft limit in bytes" },
    "blkio-weight": { type: "string", description: "block I/O weight (10 to 1000)" },
  },
  exec: {
    "console-socket": {
      type: "string",
      description: "an AF_UNIX socket that gets the master of the process's pseudoterminal",
    },
    "pidfd-socket": { type: "string", description: "an AF_UNIX socket that gets a pidfd of the process" },
    cwd: { type: "string", description: "working directory in the container" },
    env: { type: "string", alias: "e", repeat: true, description: "add an environment variable (K=V)" },
    tty: { type: "boolean", alias: "t", description: "a pseudoterminal for the process" },
    user: { type: "string", alias: "u", description: "UID[:GID] to run as" },
    "additional-gids": { type: "string", alias: "g", repeat: true, description: "more supplementary group ids" },
    process: { type: "string", alias: "p", description: "the process as an OCI process.json" },
    detach: { type: "boolean", alias: "d", description: "return once the process runs" },
    "pid-file": { type: "string", description: "write the process's pid to this file" },
    "process-label": { type: "string", description: "accepted (no SELinux here)" },
    apparmor: { type: "string", description: "accepted (no AppArmor here)" },
    "no-new-privs": { type: "boolean", description: "set no_new_privs for the process" },
    cap: { type: "string", alias: "c", repeat: true, description: "add a capability to the process's sets" },
    "preserve-fds": { type: "string", description: "pass N more fds (3 to 3+N-1) to the process" },
    cgroup: { type: "string", repeat: true, description: "run in this sub-cgroup ([CONTROLLER:]PATH)" },
    "ignore-paused": { type: "boolean", description: "exec even into a paused container" },
  },
  spec: {
    bundle: { type: "string", alias: "b", description: "write config.json into this directory" },
    rootless: { type: "boolean", description: "accepted (mini needs root)" },
  },
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
    return rest.some((a) =>
      /^--(detach|pid-file|console-socket|preserve-fds|no-new-keyring|keep|pidfd-socket)(=|$)/.test(a),
    );
  if (verb === "exec" && rest.some((a) => a === "-p" || a === "--process" || a.startsWith("--process="))) return true;
  // `update` is docker's unless runc's --resources is given or the id is an OCI container's.
  if (verb === "update" && rest.some((a) => a === "-r" || a === "--resources" || a.startsWith("--resources=")))
    return true;
  return rest.some((a) => !a.startsWith("-") && /^[\w+.-]+$/.test(a) && exists(a));
}
