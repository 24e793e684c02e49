// mini exec [-i] [-t] [-d] [-e K=V] [-u USER] [-w DIR] CONTAINER COMMAND [ARG...]
import type { CommandDef } from "citty";
import { list, type OptDefs, type OptValues } from "../argv.ts";
import { logLevelArg } from "../shared.ts";
import { UserError } from "../../common/errors.ts";

export const execArgs = {
  interactive: { type: "boolean", alias: "i", description: "Keep stdin open" },
  tty: { type: "boolean", alias: "t", description: "Give the command a pseudo-terminal" },
  detach: { type: "boolean", alias: "d", description: "Start the command and return (its output is discarded)" },
  env: {
    type: "string",
    alias: "e",
    repeat: true,
    description: "Set a variable (KEY=VAL, or KEY to pass the host's value); repeatable",
    valueHint: "KEY=VAL",
  },
  user: {
    type: "string",
    alias: "u",
    description: "User: name|uid[:group|gid] from the container's /etc/passwd (default: the container's)",
    valueHint: "user",
  },
  workdir: {
    type: "string",
    alias: "w",
    description: "Working directory inside the container (default: the container's)",
    valueHint: "dir",
  },
  ...logLevelArg,
  container: { type: "positional", description: "Container name or ID (a unique prefix will do)", required: false },
  command: { type: "positional", description: "Command and its arguments", required: false },
} as const satisfies OptDefs;

export default {
  meta: { name: "exec", description: "Run a command in a running container" },
  args: execArgs,
} satisfies CommandDef<OptDefs>;

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const;

export async function run(values: OptValues, operands: string[]): Promise<number> {
  const [query, ...command] = operands;
  if (!query || !command.length)
    throw new UserError('"mini exec" needs a CONTAINER and a COMMAND: mini exec [OPTIONS] CONTAINER COMMAND [ARG...]');
  const { resolveContainer } = require("../../state/containers.ts") as typeof import("../../state/containers.ts");
  const { requireRunning } = require("../../runtime/lifecycle.ts") as typeof import("../../runtime/lifecycle.ts");
  const { envObject, shimExecArgv } = require("../../runtime/exec.ts") as typeof import("../../runtime/exec.ts");
  const log = require("../../log.ts") as typeof import("../../log.ts");
  const rec = resolveContainer(query);
  const st = requireRunning(rec);
  log.debug(`exec in ${rec.name} (pid ${st.pid})`);
  const base: Partial<import("../../config/types.ts").Process> = rec.spec.process ?? {};
  let user = base.user;
  let capabilities = base.capabilities;
  const { mergeEnv, parseEnvFlag } = require("../../config/env.ts") as typeof import("../../config/env.ts");
  const overrides: string[] = [];
  if (typeof values.user === "string") {
    const { resolveUser, rootfsReader } = require("../../config/user.ts") as typeof import("../../config/user.ts");
    const { ociCapabilities } =
      require("../../config/capabilities.ts") as typeof import("../../config/capabilities.ts");
    const r = resolveUser("/", values.user, { readFile: rootfsReader(`/proc/${st.pid}/root`) });
    user = r.user;
    if (capabilities?.bounding) capabilities = ociCapabilities(capabilities.bounding, r.user.uid);
    overrides.push(`HOME=${r.home}`);
  }
  for (const e of list(values.env)) overrides.push(parseEnvFlag(e));
  const env = mergeEnv(base.env ?? [], overrides);
  const tty = !!values.tty,
    detach = !!values.detach,
    interactive = !!values.interactive && !detach;
  const argv = shimExecArgv({
    pid: st.pid!,
    process: {
      ...base,
      user: user ?? { uid: 0, gid: 0 },
      capabilities,
      env,
      args: command,
      cwd: typeof values.workdir === "string" ? values.workdir : (base.cwd ?? "/"),
      terminal: tty,
    },
    cgroupProcs: rec.cgroups?.procs ?? [],
    tty: tty && !detach,
    detach,
    seccomp: rec.spec.linux?.seccomp,
  });
  const term =
    tty && !detach
      ? (require("../../runtime/tty.ts") as typeof import("../../runtime/tty.ts")).attachTerminal({ interactive })
      : undefined;
  const { relayStdin, stdinChoice } =
    require("../../runtime/spawn-child.ts") as typeof import("../../runtime/spawn-child.ts");
  const stdin = detach || term ? "ignore" : stdinChoice({ interactive, dieWithParent: false });
  const proc = Bun.spawn(argv, {
    env: envObject(env),
    stdio: [stdin, detach ? "ignore" : "inherit", detach ? "ignore" : "inherit"],
    detached: !term,
    ...(term && {
      terminal: {
        cols: term.options.cols,
        rows: term.options.rows,
        data: (_t: unknown, d: Uint8Array) => term.options.data(d),
      },
    }),
  } as Parameters<typeof Bun.spawn>[1]);
  log.debug(`mini-shim exec started, pid ${proc.pid}: ${argv.slice(1).join(" ")}`);
  if (stdin === "pipe") relayStdin(proc.stdin as import("bun").FileSink);
  term?.start(proc as never);
  const handlers = FORWARDED.map((sig) => {
    const h = () => proc.kill(sig);
    process.on(sig, h);
    return [sig, h] as const;
  });
  term?.onHangup(() => proc.kill("SIGHUP"));
  const code = await proc.exited;
  for (const [sig, h] of handlers) process.off(sig, h);
  await term?.stop();
  return code;
}
