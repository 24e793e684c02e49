// The CLI stage's entry (main.ts loads it for everything but the child stage).
import { main } from "./index.ts";

export function cliMain(argv: string[]): void {
  // A command whose promise can no longer settle (nothing left in the event loop: a bug, e.g. a
  // promise nobody resolves) must not end as a silent exit 0 with its work half done.
  let finished = false;
  process.on("beforeExit", () => {
    if (finished) return;
    process.stderr.write("mini: internal error: the command stopped before it finished\n");
    process.exit(125);
  });
  main(argv).then((code) => {
    finished = true;
    process.exit(code);
  });
}
