// Entry point. The hidden child-stage verb runs the container side with as little loaded as
// possible; everything else is the CLI. No top-level await (bun build --bytecode needs that).
import { CHILD_VERB } from "./runtime/child-config.ts";

if (process.argv[2] === CHILD_VERB || process.argv[1] === CHILD_VERB) {
  import("./runtime/child.ts").then((m) => m.childMain());
} else {
  import("./cli/index.ts")
    .then((m) => m.main(process.argv.slice(2)))
    .then((code) => process.exit(code));
}
