// runc's command line, for engines (podman/conmon, containerd-shim) and the OCI test suites:
//   mini [--root DIR] [--log FILE] [--log-format text|json] [--debug] [--systemd-cgroup]
//        [--cgroup-manager cgroupfs|systemd|disabled] [--rootless true|false|auto] VERB ...
// Errors go to stderr and, with --log, to that file as logrus lines (`time=… level=error msg=…`,
// JSON lines with --log-format json, the way engines read the last error); --debug adds debug
// lines (to the file, else to stderr in the same shape). Exit status 1 as runc's (255 for an exec
// that never ran its command). Each verb is a small adapter from its parsed flags to one call into
// src/oci/.
import { appendFileSync, readFileSync } from "node:fs";
import { UserError } from "../../common/errors.ts";
import * as log from "../../log.ts";
import { createContainerFromBundle } from "../../oci/create.ts";
import { ociExec } from "../../oci/exec.ts";
import { waitForeground } from "../../runtime/foreground.ts";
import { features } from "../../oci/features.ts";
import { events, parseDuration } from "../../oci/events.ts";
import { ps } from "../../oci/ps.ts";
import { ociHelp } from "./help.ts";
import * as lifecycle from "../../oci/lifecycle.ts";
import { DEFAULT_ROOT, OciStore } from "../../oci/state.ts";
import { SyscallError } from "../../sys/error.ts";
import { list, type OptValues, parseOptions } from "../argv.ts";
import { printTable } from "../format.ts";
import { OCI_VERB_ARGS } from "./args.ts";
import { resourcesFromFlags } from "./update-flags.ts";
import * as spec from "../commands/spec.ts";
import { printOut } from "../../common/stdout.ts";

/** logrus's text formatter quotes a value only when it needs to. */
const logrusValue = (s: string) => (/^[\w./:@+-]+$/.test(s) ? s : JSON.stringify(s));

/** A sink writing runc's (logrus's) lines to `file`, or to stderr. */
function logrusSink(file: string | undefined, json: boolean): log.LogSink {
  return (level, msg) => {
    const time = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const line = json ? JSON.stringify({ level, msg, time }) : `time="${time}" level=${level} msg=${logrusValue(msg)}`;
    try {
      if (file) appendFileSync(file, `${line}\n`);
      else if (level === "debug" || level === "info") process.stderr.write(`${line}\n`);
    } catch {
      /* the engine's problem */
    }
  };
}

function one(operands: string[], verb: string, extra = 0): string {
  if (operands.length < 1 || operands.length > 1 + extra)
    throw new UserError(`"${verb}" requires a container id${extra ? " (and at most one more argument)" : ""}`, 1);
  return operands[0]!;
}

export async function ociMain(globals: OptValues, verb: string, rest: string[]): Promise<number> {
  const logFile = typeof globals.log === "string" ? globals.log : undefined;
  if (globals.debug) log.setLogLevel("debug");
  if (logFile || globals.debug) log.setLogSink(logrusSink(logFile, globals["log-format"] === "json"));
  try {
    if (globals["systemd-cgroup"] || globals["cgroup-manager"] === "systemd") {
      if (!existsSystemd())
        throw new UserError(
          "systemd cgroup manager requested but systemd is not running (use --cgroup-manager cgroupfs)",
          1,
        );
      throw new UserError("the systemd cgroup manager is not supported yet (use --cgroup-manager cgroupfs)", 1);
    }
    const store = new OciStore(typeof globals.root === "string" ? globals.root : DEFAULT_ROOT);
    const handler = VERBS[verb];
    if (!handler) throw new UserError(`unknown command "${verb}"`, 1);
    const defs = (OCI_VERB_ARGS as Record<string, (typeof OCI_VERB_ARGS)["none"]>)[verb] ?? OCI_VERB_ARGS.none;
    // exec's command and ps's options follow the id untouched.
    const { values, operands, help } = parseOptions(rest, defs, verb === "exec" || verb === "ps");
    if (help) {
      printOut(ociHelp(verb));
      return 0;
    }
    return await handler(store, values, operands, verb);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    log.error(msg);
    if (log.isDebug() && e instanceof Error && e.stack && !(e instanceof UserError) && !(e instanceof SyscallError))
      log.debug(e.stack);
    // runc's statuses: 255 for an exec that never ran its command, 1 for everything else.
    return e instanceof UserError && e.exitCode === 255 ? 255 : 1;
  }
}

function existsSystemd(): boolean {
  try {
    return readFileSync("/proc/1/comm", "utf8").trim() === "systemd";
  } catch {
    return false;
  }
}

type Handler = (store: OciStore, flags: OptValues, operands: string[], verb: string) => Promise<number> | number;

const str = (flags: OptValues, k: string) => (typeof flags[k] === "string" ? (flags[k] as string) : undefined);

/** create, and run (create + start, then in the foreground wait and delete). */
const createOrRun: Handler = async (store, flags, operands, verb) => {
  const id = one(operands, verb);
  const { container } = await createContainerFromBundle(store, {
    id,
    bundle: str(flags, "bundle") ?? ".",
    pidFile: str(flags, "pid-file"),
    consoleSocket: str(flags, "console-socket"),
    noPivot: !!flags["no-pivot"],
    preserveFds: Number(str(flags, "preserve-fds") ?? 0),
    pidfdSocket: str(flags, "pidfd-socket"),
    // runc's run in the foreground without --console-socket: process.terminal is the caller's terminal.
    attachTerminal: verb === "run" && !flags.detach && !str(flags, "console-socket"),
  });
  if (verb === "create") return 0;
  await lifecycle.startContainer(store, id);
  if (flags.detach) return 0;
  // In the foreground: signals forwarded, the terminal relayed, the exit status as runc returns it.
  const code = await waitForeground(container);
  await lifecycle.deleteContainer(store, id, true);
  return code;
};

const VERBS: Record<string, Handler> = {
  create: createOrRun,
  run: createOrRun,
  start: async (store, _v, operands, verb) => {
    await lifecycle.startContainer(store, one(operands, verb));
    return 0;
  },
  state: (store, _v, operands, verb) => {
    const id = one(operands, verb);
    printOut(`${JSON.stringify(store.stateJson(store.read(id)), null, 2)}\n`);
    return 0;
  },
  kill: (store, flags, operands, verb) => {
    lifecycle.killContainer(store, one(operands, verb, 1), operands[1] ?? "SIGTERM", !!flags.all);
    return 0;
  },
  events: async (store, flags, operands, verb) => {
    const interval = str(flags, "interval");
    return events(store, one(operands, verb), !!flags.stats, interval ? parseDuration(interval) : 5000);
  },
  delete: async (store, flags, operands, verb) => {
    await lifecycle.deleteContainer(store, one(operands, verb), !!flags.force);
    return 0;
  },
  pause: (store, _v, operands, verb) => {
    lifecycle.pauseContainer(store, one(operands, verb), true);
    return 0;
  },
  resume: (store, _v, operands, verb) => {
    lifecycle.pauseContainer(store, one(operands, verb), false);
    return 0;
  },
  list: (store, flags) => {
    // Sorted by id, as runc lists them; an empty JSON list is runc's `null`.
    const states = store
      .ids()
      .sort()
      .map((id) => store.stateJson(store.read(id)));
    if (flags.quiet) printOut(states.map((s) => `${s.id}\n`).join(""));
    else if (flags.format === "json") printOut(`${states.length ? JSON.stringify(states) : "null"}\n`);
    else
      printTable([
        ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"],
        ...states.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, "root"]),
      ]);
    return 0;
  },
  ps: (store, flags, operands) => {
    const [id, ...psArgs] = operands;
    if (!id) throw new UserError('"ps" requires a container id', 1);
    return ps(store, id, str(flags, "format"), psArgs);
  },
  update: (store, flags, operands, verb) => {
    const id = one(operands, verb);
    const file = str(flags, "resources");
    lifecycle.updateContainer(store, id, resourcesFromFlags(file ? lifecycle.readResources(file) : {}, flags));
    return 0;
  },
  exec: (store, flags, operands) => {
    const [id, ...command] = operands;
    if (!id) throw new UserError('"exec" requires a container id', 1);
    const preserve = str(flags, "preserve-fds");
    if (preserve !== undefined && !/^\d+$/.test(preserve))
      throw new UserError(`exec failed: --preserve-fds ${preserve}: give a number of fds`, 255);
    return ociExec(store, {
      id,
      command,
      processFile: str(flags, "process"),
      tty: !!flags.tty,
      detach: !!flags.detach,
      pidFile: str(flags, "pid-file"),
      consoleSocket: str(flags, "console-socket"),
      cwd: str(flags, "cwd"),
      env: list(flags.env),
      user: str(flags, "user"),
      caps: list(flags.cap),
      noNewPrivs: !!flags["no-new-privs"],
      additionalGids: list(flags["additional-gids"]),
      cgroups: list(flags.cgroup),
      ignorePaused: !!flags["ignore-paused"],
      preserveFds: Number(preserve ?? 0),
      pidfdSocket: str(flags, "pidfd-socket"),
    });
  },
  features: () => {
    printOut(`${JSON.stringify(features(), null, 2)}\n`);
    return 0;
  },
  spec: (_store, flags, operands) => {
    return spec.run({ bundle: str(flags, "bundle") ?? "." }, operands);
  },
  checkpoint: (_s, _v, _o, verb) => {
    throw new UserError(`${verb} is not supported`, 1);
  },
  restore: (_s, _v, _o, verb) => {
    throw new UserError(`${verb} is not supported`, 1);
  },
};
