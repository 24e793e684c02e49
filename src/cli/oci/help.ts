// `mini VERB -h` and `mini help VERB` for runc's verbs, in runc's layout (urfave/cli's):
// NAME, USAGE (with the operands explained), DESCRIPTION, OPTIONS with the flags aligned.
import type { OptDefs } from "../argv.ts";
import { OCI_VERB_ARGS } from "./args.ts";

interface VerbHelp {
  usage: string;
  args: string;
  description?: string;
}

const ID = `<container-id>

Where "<container-id>" names the container: an id unique under --root.`;

export const VERB_HELP: Record<string, VerbHelp> = {
  create: {
    usage: "create a container",
    args: ID,
    description: `Sets up a container from a bundle (a directory with config.json and a root
filesystem) and leaves its process waiting: "start" runs the config's process.args.`,
  },
  start: { usage: "run the process of a created container", args: ID },
  run: {
    usage: "create and start a container",
    args: ID,
    description: `create, then start. In the foreground (without --detach) mini waits for the
process, relays signals and the terminal, deletes the container and returns its exit status.`,
  },
  state: { usage: "print the state of a container (JSON)", args: ID },
  kill: {
    usage: "send a signal to a container's process",
    args: `<container-id> [signal]

Where "<container-id>" names the container and "[signal]" is a name (TERM, SIGKILL) or a
number (0 checks that it is alive). The default is SIGTERM.`,
  },
  delete: { usage: "delete a container and what it holds", args: ID },
  list: { usage: "list the containers under --root", args: "" },
  ps: {
    usage: "show a container's processes",
    args: `<container-id> [ps options]

Where "[ps options]" are passed to ps(1) (default -ef); its lines of the container's
processes are kept.`,
  },
  pause: { usage: "freeze every process of a container", args: ID },
  resume: { usage: "thaw a paused container", args: ID },
  events: {
    usage: "print a container's events and statistics",
    args: ID,
    description: `JSON lines: "stats" every --interval, "oom" when the OOM killer acts in the
container's memory cgroup; until the container stops.`,
  },
  exec: {
    usage: "run a process in a running container",
    args: `<container-id> <command> [command options]  || -p process.json <container-id>

Where "<command>" is run in the container; it may be left out with -p.`,
  },
  update: { usage: "change a container's resource limits", args: ID },
  features: { usage: "print the runtime-spec features mini implements (JSON)", args: "" },
  spec: { usage: "write a default config.json", args: "" },
};

/** "--bundle value, -b value" / "--detach, -d" */
function flagName(name: string, def: OptDefs[string]): string {
  const value = def.type === "boolean" ? "" : " value";
  const alias = (def as { alias?: string }).alias;
  return `--${name}${value}${alias ? `, -${alias}${value}` : ""}`;
}

export function ociHelp(verb: string): string {
  const h = VERB_HELP[verb];
  if (!h) return "";
  const defs = (OCI_VERB_ARGS as Record<string, OptDefs>)[verb] ?? {};
  const flags = Object.entries(defs)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, def]) => [flagName(name, def), (def as { description?: string }).description ?? ""] as const);
  const width = Math.max(0, ...flags.map(([n]) => n.length));
  const options = flags.length ? flags : ([["--help, -h", "show help"]] as const);
  const w = Math.max(width, 10);
  let out = `NAME:\n   mini ${verb} - ${h.usage}\n\nUSAGE:\n   mini ${verb}${flags.length ? " [command options]" : ""}${h.args ? ` ${h.args}` : ""}\n`;
  if (h.description) out += `\nDESCRIPTION:\n   ${h.description}\n`;
  out += `\nOPTIONS:\n${options.map(([n, d]) => `   ${n.padEnd(w)}  ${d}`.trimEnd()).join("\n")}\n`;
  return out;
}
