// runc's command line, for engines (podman/conmon, containerd-shim) and the OCI test suites:
//   mini [--root DIR] [--log FILE] [--log-format text|json] [--debug] [--systemd-cgroup]
//        [--cgroup-manager cgroupfs|systemd|disabled] [--rootless true|false|auto] VERB ...
// Errors go to stderr and, with --log, to that file (JSON lines with --log-format json, the way
// engines read the last error); exit status 1 as runc's.
import { appendFileSync, readFileSync } from "node:fs";
import { list, parseOptions, type OptDefs, type OptValues } from "./argv.ts";
import * as log from "../log.ts";
import { SyscallError } from "../sys/error.ts";
import { UserError } from "../common/errors.ts";
import pkg from "../../package.json" with { type: "json" };

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
  "update",
  "features",
  "checkpoint",
  "restore",
]);
export const OCI_SHARED = new Set(["start", "kill", "ps", "exec", "run", "spec"]);

const A = {
  create: {
    bundle: { type: "string", alias: "b" },
    "pid-file": { type: "string" },
    "console-socket": { type: "string" },
    "preserve-fds": { type: "string" },
    "no-pivot": { type: "boolean" },
    "no-new-keyring": { type: "boolean" },
  },
  run: {
    bundle: { type: "string", alias: "b" },
    "pid-file": { type: "string" },
    "console-socket": { type: "string" },
    "preserve-fds": { type: "string" },
    "no-pivot": { type: "boolean" },
    "no-new-keyring": { type: "boolean" },
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

let logFile: string | undefined;
let logJson = false;

function logLine(level: "error" | "debug" | "warning", msg: string): void {
  if (!logFile) return;
  const line = logJson
    ? JSON.stringify({ level, msg, time: new Date().toISOString() })
    : `time="${new Date().toISOString()}" level=${level} msg=${JSON.stringify(msg)}`;
  try {
    appendFileSync(logFile, `${line}\n`);
  } catch {
    /* the engine's problem */
  }
}

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
  return rest.some((a) => !a.startsWith("-") && /^[\w+.-]+$/.test(a) && exists(a));
}

function one(operands: string[], verb: string, extra = 0): string {
  if (operands.length < 1 || operands.length > 1 + extra)
    throw new UserError(`"${verb}" requires a container id${extra ? " (and at most one more argument)" : ""}`, 1);
  return operands[0]!;
}

export async function ociMain(globals: OptValues, verb: string, rest: string[]): Promise<number> {
  logFile = typeof globals.log === "string" ? globals.log : undefined;
  logJson = globals["log-format"] === "json";
  if (globals.debug) log.setLogLevel("debug");
  try {
    if (globals["systemd-cgroup"] || globals["cgroup-manager"] === "systemd") {
      if (!existsSystemd())
        throw new UserError(
          "systemd cgroup manager requested but systemd is not running (use --cgroup-manager cgroupfs)",
          1,
        );
      throw new UserError("the systemd cgroup manager is not supported yet (use --cgroup-manager cgroupfs)", 1);
    }
    return await runVerb(globals, verb, rest);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    log.error(msg);
    logLine("error", msg);
    if (log.isDebug() && e instanceof Error && e.stack && !(e instanceof UserError) && !(e instanceof SyscallError))
      log.debug(e.stack);
    return 1;
  }
}

function existsSystemd(): boolean {
  try {
    return readFileSync("/proc/1/comm", "utf8").trim() === "systemd";
  } catch {
    return false;
  }
}

async function runVerb(globals: OptValues, verb: string, rest: string[]): Promise<number> {
  const { OciStore, DEFAULT_ROOT } = require("../oci/state.ts") as typeof import("../oci/state.ts");
  const store = new OciStore(typeof globals.root === "string" ? globals.root : DEFAULT_ROOT);
  const defs = (A as Record<string, OptDefs>)[verb] ?? A.none;
  const { values: v, operands } = parseOptions(rest, defs, verb === "exec");
  const lc = () => require("../oci/lifecycle.ts") as typeof import("../oci/lifecycle.ts");
  const str = (k: string) => (typeof v[k] === "string" ? (v[k] as string) : undefined);
  switch (verb) {
    case "create":
    case "run": {
      const id = one(operands, verb);
      const { createContainer } = require("../oci/create.ts") as typeof import("../oci/create.ts");
      const { child } = await createContainer(store, {
        id,
        bundle: str("bundle") ?? ".",
        pidFile: str("pid-file"),
        consoleSocket: str("console-socket"),
        noPivot: !!v["no-pivot"],
        preserveFds: Number(str("preserve-fds") ?? 0),
      });
      if (verb === "create") return 0;
      await lc().startContainer(store, id);
      if (v.detach) return 0;
      const code = await child.proc.exited;
      await lc().deleteContainer(store, id, true);
      return code;
    }
    case "start":
      await lc().startContainer(store, one(operands, verb));
      return 0;
    case "state": {
      const id = one(operands, verb);
      process.stdout.write(`${JSON.stringify(store.stateJson(store.read(id)), null, 2)}\n`);
      return 0;
    }
    case "kill": {
      const id = one(operands, verb, 1);
      lc().killContainer(store, id, operands[1] ?? "SIGTERM", !!v.all);
      return 0;
    }
    case "delete":
      await lc().deleteContainer(store, one(operands, verb), !!v.force);
      return 0;
    case "pause":
      lc().pauseContainer(store, one(operands, verb), true);
      return 0;
    case "resume":
      lc().pauseContainer(store, one(operands, verb), false);
      return 0;
    case "list": {
      const states = store.ids().map((id) => store.stateJson(store.read(id)));
      if (v.quiet) process.stdout.write(states.map((s) => `${s.id}\n`).join(""));
      else if (v.format === "json") process.stdout.write(`${JSON.stringify(states)}\n`);
      else {
        const { printTable } = require("./format.ts") as typeof import("./format.ts");
        printTable([
          ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"],
          ...states.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, "root"]),
        ]);
      }
      return 0;
    }
    case "ps": {
      const pids = lc().containerPids(store, one(operands, verb));
      if (v.format === "json") process.stdout.write(`${JSON.stringify(pids)}\n`);
      else process.stdout.write(`PID\n${pids.map((p) => `${p}\n`).join("")}`);
      return 0;
    }
    case "update": {
      const id = one(operands, verb);
      const r = str("resources") ? lc().readResources(str("resources")!) : {};
      const { parseBytes } = require("../config/units.ts") as typeof import("../config/units.ts");
      if (str("memory")) r.memory = { ...r.memory, limit: parseBytes(str("memory")!) };
      if (str("memory-swap")) r.memory = { ...r.memory, swap: parseBytes(str("memory-swap")!) };
      if (str("pids-limit")) r.pids = { limit: Number(str("pids-limit")) };
      if (str("cpu-quota")) r.cpu = { ...r.cpu, quota: Number(str("cpu-quota")) };
      if (str("cpu-period")) r.cpu = { ...r.cpu, period: Number(str("cpu-period")) };
      if (str("cpu-shares")) r.cpu = { ...r.cpu, shares: Number(str("cpu-shares")) };
      lc().updateContainer(store, id, r);
      return 0;
    }
    case "exec": {
      const { ociExec } = require("../oci/exec.ts") as typeof import("../oci/exec.ts");
      return ociExec(store, v, operands, list);
    }
    case "features":
      process.stdout.write(`${JSON.stringify(features(), null, 2)}\n`);
      return 0;
    case "spec": {
      const spec = require("./commands/spec.ts") as typeof import("./commands/spec.ts");
      return spec.run({ bundle: str("bundle") ?? "." }, operands);
    }
    case "checkpoint":
    case "restore":
      throw new UserError(`${verb} is not supported`, 1);
    default:
      throw new UserError(`unknown command "${verb}"`, 1);
  }
}

/** The runtime-spec features document: what this runtime understands. */
function features() {
  const { CAPABILITIES } = require("../config/capabilities.ts") as typeof import("../config/capabilities.ts");
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: "1.1.0",
    hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
    mountOptions: [
      "ro",
      "rw",
      "nosuid",
      "suid",
      "nodev",
      "dev",
      "noexec",
      "exec",
      "bind",
      "rbind",
      "private",
      "rprivate",
      "shared",
      "rshared",
      "slave",
      "rslave",
      "relatime",
      "norelatime",
      "strictatime",
      "nostrictatime",
      "noatime",
      "atime",
      "sync",
      "async",
      "remount",
      "mode",
      "size",
    ],
    linux: {
      namespaces: ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"],
      capabilities: CAPABILITIES,
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations: { "org.opencontainers.runtime-spec.version": "1.1.0", "io.github.mini.version": pkg.version },
  };
}
