// Entry point. The hidden child-stage verb runs the container side with as little loaded as
// possible; everything else is the CLI. Modules load with require(): a dynamic import() costs
// ~3.5 ms of start-up each in a compiled binary, require() of a bundled module next to nothing.
// No top-level await (bun build --bytecode needs that).
import { CHILD_VERB } from "./runtime/child-config.ts";

const verbAt = process.argv.indexOf(CHILD_VERB);
if (verbAt === 1 || verbAt === 2) {
  (require("./runtime/child.ts") as typeof import("./runtime/child.ts")).childMain(process.argv[verbAt + 1]);
} else {
  // A command whose promise can no longer settle (nothing left in the event loop: a bug, e.g. a
  // promise nobody resolves) must not end as a silent exit 0 with its work half done.
  let finished = false;
  process.on("beforeExit", () => {
    if (finished) return;
    process.stderr.write("mini: internal error: the command stopped before it finished\n");
    process.exit(125);
  });
  (require("./cli/index.ts") as typeof import("./cli/index.ts")).main(process.argv.slice(2)).then((code) => {
    finished = true;
    process.exit(code);
  });
}
