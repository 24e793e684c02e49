// Entry point: picks the stage this process runs. The child stage (the hidden verb) and the CLI
// are separate entries of the executable (scripts/build.ts), so a process loads and evaluates only
// its own stage's code (the child stage's is a tenth of the CLI's). No top-level await (bun build
// --bytecode needs that).
import { CHILD_VERB } from "./runtime/child-config.ts";
import { versionText } from "./common/version.ts";

/** Loads a stage's entry at run time: a literal path would bundle it into this one. */
function stage<T>(path: string): T {
  return require(path) as T;
}

const verbAt = process.argv.indexOf(CHILD_VERB);
const args = process.argv.slice(2);
if (verbAt === 1 || verbAt === 2)
  stage<typeof import("./runtime/child.ts")>("./runtime/child.ts").childMain(process.argv[verbAt + 1]);
// A bare --version needs no stage (the CLI prints the same with global options around it).
else if (args.length === 1 && (args[0] === "--version" || args[0] === "-v")) console.log(versionText().trimEnd());
else stage<typeof import("./cli/main.ts")>("./cli/main.ts").cliMain(args);
