// mini exec [-i] [-t] [-d] [-e K=V] [-u USER] [-w DIR] CONTAINER COMMAND [ARG...]
import type { CommandDef } from "citty";
import { list, type OptDefs, type OptValues } from "../argv.ts";
import { envArg, logLevelArg } from "../shared.ts";
import { UserError } from "../../common/errors.ts";
import { dockerExec } from "../../runtime/exec-docker.ts";
import { resolveContainer } from "../../state/containers.ts";

const execArgs = {
  interactive: { type: "boolean", alias: "i", description: "Keep stdin open" },
  tty: { type: "boolean", alias: "t", description: "Give the command a pseudo-terminal" },
  detach: { type: "boolean", alias: "d", description: "Start the command and return (its output is discarded)" },
  ...envArg,
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

export async function run(values: OptValues, operands: string[]): Promise<number> {
  const [query, ...command] = operands;
  if (!query || !command.length)
    throw new UserError('"mini exec" needs a CONTAINER and a COMMAND: mini exec [OPTIONS] CONTAINER COMMAND [ARG...]');
  const str = (v: OptValues[string]) => (typeof v === "string" ? v : undefined);
  return dockerExec(resolveContainer(query), {
    command,
    user: str(values.user),
    env: list(values.env),
    workdir: str(values.workdir),
    tty: !!values.tty,
    interactive: !!values.interactive,
    detach: !!values.detach,
  });
}
