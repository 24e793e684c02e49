// `mini run`'s child stage, started before the rest of the CLI loads: its Bun start-up, the
// longest step of a run, then overlaps loading the CLI, finding the image, recording the container
// and creating its cgroups. It reads argv with the real parser and option table, and launches only
// in the plain case: docker's default namespaces, no -d, -t, user namespace, bundle or namespace
// option. runContainer checks the guess against the full parse and, where it doesn't hold, kills
// this child stage and starts another (start-child.ts: launchOrAdopt).
import type { Namespace } from "../config/types.ts";
import { setLogLevel } from "../log.ts";
import { type LaunchedChild, launch } from "../runtime/start-child.ts";
import { parseOptions } from "./argv.ts";
import { runArgs } from "./run-args.ts";

/** Options that change how the child stage is started: no early start with any of them. */
const LAUNCH_OPTIONS = ["detach", "tty", "userns", "uidmap", "gidmap", "bundle", "pid", "ipc", "uts", "cgroupns"];

/** The child stage for `mini run ARGS` (ARGS after "run"), or undefined when it can't be guessed here. */
export function earlyRun(args: string[]): LaunchedChild | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(args, runArgs, true);
  } catch {
    return undefined; // the full parse says what is wrong
  }
  const v = parsed.values;
  if (typeof v["log-level"] === "string") setLogLevel(v["log-level"]); // the launch's own debug lines
  if (parsed.help || LAUNCH_OPTIONS.some((k) => v[k] !== undefined && v[k] !== false)) return undefined;
  const network = typeof v.network === "string" ? v.network : process.env.MINI_DEFAULT_NETWORK || "bridge";
  if (network.startsWith("container:")) return undefined;
  const namespaces: Namespace[] = (["pid", "ipc", "uts", "mount", "cgroup"] as const).map((type) => ({ type }));
  if (network !== "host") namespaces.push({ type: "network" });
  try {
    return launch(namespaces, undefined, { mode: "direct", io: { interactive: !!v.interactive, dieWithParent: true } });
  } catch {
    return undefined; // the regular start reports it
  }
}
