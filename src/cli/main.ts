// The CLI stage's entry (main.ts loads it for everything but the child stage). `mini run` starts
// its child stage first (early-run.ts), then the rest of the CLI loads.
import { earlyRun } from "./early-run.ts";

export function cliMain(argv: string[]): void {
  // A command whose promise can no longer settle (nothing left in the event loop: a bug, e.g. a
  // promise nobody resolves) must not end as a silent exit 0 with its work half done.
  let finished = false;
  process.on("beforeExit", () => {
    if (finished) return;
    process.stderr.write("mini: internal error: the command stopped before it finished\n");
    process.exit(125);
  });
  const earlyChild = argv[0] === "run" ? earlyRun(argv.slice(1)) : undefined;
  const { main } = require("./index.ts") as typeof import("./index.ts");
  main(argv, { earlyChild }).then((code) => {
    finished = true;
    process.exit(code);
  });
}
