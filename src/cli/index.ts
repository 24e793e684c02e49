// The command line: global options, then a verb. Commands load lazily so `mini run` doesn't pay
// for the others. citty holds the definitions and renders help; the argv pre-pass (argv.ts)
// parses, because `run` must hand everything after ROOTFS to the container untouched.
import type { CommandDef } from "citty";
import { parseOptions, type OptDefs, type OptValues } from "./argv.ts";
import { logLevelArg } from "./shared.ts";
import { isOciInvocation, OCI_ONLY, OCI_SHARED, ociGlobalArgs } from "./oci/args.ts";
import * as log from "../log.ts";
import { SyscallError } from "../sys/error.ts";
import { UserError } from "../common/errors.ts";
import pkg from "../../package.json" with { type: "json" };
import { versionText } from "../common/version.ts";
import { printOut } from "../common/stdout.ts";

/** What the entry did before the CLI loaded: `mini run`'s early child stage (early-run.ts). */
export interface VerbContext {
  earlyChild?: import("../runtime/start-child.ts").LaunchedChild;
}

interface Verb {
  load: () => {
    default: CommandDef<OptDefs>;
    run: (values: OptValues, operands: string[], ctx?: VerbContext) => Promise<number> | number;
  };
  /** Operands after the first one belong to the container (run, exec). */
  passThrough?: boolean;
  /** Internal verbs, left out of the help. */
  hidden?: boolean;
}

const verbs: Record<string, Verb> = {
  run: { load: () => require("./commands/run.ts"), passThrough: true },
  spec: { load: () => require("./commands/spec.ts") },
  pull: { load: () => require("./commands/pull.ts") },
  images: { load: () => require("./commands/images.ts") },
  rmi: { load: () => require("./commands/rmi.ts") },
  image: { load: () => require("./commands/image.ts") },
  import: { load: () => require("./commands/import.ts") },
  load: { load: () => require("./commands/load.ts") },
  save: { load: () => require("./commands/save.ts") },
  tag: { load: () => require("./commands/tag.ts") },
  login: { load: () => require("./commands/login.ts") },
  logout: { load: () => require("./commands/logout.ts") },
  ps: { load: () => require("./commands/ps.ts") },
  logs: { load: () => require("./commands/logs.ts") },
  exec: { load: () => require("./commands/exec.ts"), passThrough: true },
  stop: { load: () => require("./commands/stop.ts") },
  kill: { load: () => require("./commands/kill.ts") },
  rm: { load: () => require("./commands/rm.ts") },
  start: { load: () => require("./commands/start.ts") },
  wait: { load: () => require("./commands/wait.ts") },
  inspect: { load: () => require("./commands/inspect.ts") },
  stats: { load: () => require("./commands/stats.ts") },
  update: { load: () => require("./commands/update.ts") },
  top: { load: () => require("./commands/top.ts") },
  network: { load: () => require("./commands/network.ts"), passThrough: true },
  port: { load: () => require("./commands/port.ts") },
  __reap: { load: () => require("./commands/reap.ts"), hidden: true },
};

const globalArgs = {
  ...logLevelArg,
  version: { type: "boolean", alias: "v", description: "Print the version" },
  ...ociGlobalArgs,
} as const satisfies OptDefs;

const root = {
  meta: {
    name: "mini",
    version: pkg.version,
    description: "A small Linux container runtime: docker's run, runc's OCI verbs, one binary",
  },
  args: globalArgs,
  subCommands: Object.fromEntries(
    Object.entries(verbs)
      .filter(([, v]) => !v.hidden)
      .map(([k, v]) => [k, () => v.load().default]),
  ),
} satisfies CommandDef<OptDefs>;

async function help(cmd: CommandDef<OptDefs>, parent?: CommandDef<OptDefs>): Promise<number> {
  // citty loads node:util (~9 ms): only help needs it. No colour codes into pipes and files.
  if (!process.stdout.isTTY) process.env.NO_COLOR = "1";
  const { renderUsage } = await import("citty");
  printOut(`${await renderUsage(cmd, parent)}\n`);
  return 0;
}

async function dispatch(argv: string[], ctx: VerbContext): Promise<number> {
  const globalOpts = parseOptions(argv, globalArgs, true);
  if (typeof globalOpts.values["log-level"] === "string") log.setLogLevel(globalOpts.values["log-level"]);
  if (globalOpts.values.version) {
    printOut(versionText());
    return 0;
  }
  const [name, ...rest] = globalOpts.operands;
  if (name && (OCI_ONLY.has(name) || OCI_SHARED.has(name))) {
    const root = typeof globalOpts.values.root === "string" ? globalOpts.values.root : undefined;
    // The OCI store loads only when an operand may name an OCI container (not for a plain `mini run`).
    const exists = (id: string) => {
      const { OciStore } = require("../oci/state.ts") as typeof import("../oci/state.ts");
      return new OciStore(root).exists(id);
    };
    if (isOciInvocation(globalOpts.values, name, rest, exists))
      // The OCI verbs and what they use load only for an OCI invocation.
      return (require("./oci/index.ts") as typeof import("./oci/index.ts")).ociMain(globalOpts.values, name, rest);
  }
  // `help VERB` for runc's verbs in runc's layout (shared verbs when a global OCI flag says so).
  const topic = name === "help" ? rest[0] : undefined;
  if (
    topic &&
    (OCI_ONLY.has(topic) ||
      (OCI_SHARED.has(topic) && Object.keys(ociGlobalArgs).some((k) => globalOpts.values[k] !== undefined)))
  ) {
    printOut((require("./oci/help.ts") as typeof import("./oci/help.ts")).ociHelp(topic));
    return 0;
  }
  if (globalOpts.help || !name || name === "help") return help(root);
  const verb = verbs[name];
  if (!verb) throw new UserError(`unknown command "${name}" (see mini --help)`);
  const mod = verb.load();
  const cmd = mod.default;
  const parsed = parseOptions(rest, (cmd.args ?? {}) as OptDefs, !!verb.passThrough);
  if (parsed.help) return help(cmd, root);
  if (typeof parsed.values["log-level"] === "string") log.setLogLevel(parsed.values["log-level"]);
  return mod.run(parsed.values, parsed.operands, ctx);
}

/** Runs the CLI and returns the process exit code (docker's: 125 when mini itself fails). */
export async function main(argv: string[], ctx: VerbContext = {}): Promise<number> {
  try {
    return await dispatch(argv, ctx);
  } catch (e) {
    if (e instanceof UserError) {
      log.error(e.message);
      return e.exitCode;
    }
    if (e instanceof SyscallError) {
      log.error(e.message);
      return 125;
    }
    log.error(e instanceof Error ? e.message : String(e));
    if (log.isDebug() && e instanceof Error && e.stack) log.debug(e.stack);
    return 125;
  }
}
