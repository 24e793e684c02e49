// mini run [OPTIONS] ROOTFS COMMAND [ARG...]   |   mini run --bundle DIR
import type { CommandDef } from "citty";
import type { OptValues } from "../argv.ts";
import type { OptDefs } from "../argv.ts";
import { runArgs } from "../run-args.ts";
import type { VerbContext } from "../index.ts";
import { UserError } from "../../common/errors.ts";
import { runFromFlags, runFromBundle } from "../run-container.ts";

export { runArgs };

export default {
  meta: { name: "run", description: "Run a command in a new container from an image or a rootfs directory" },
  args: runArgs,
} satisfies CommandDef<OptDefs>;

/** Runs the command; `operands` are ROOTFS COMMAND [ARG...] exactly as given; `ctx.earlyChild`: cli/early-run.ts. */
export async function run(values: OptValues, operands: string[], ctx: VerbContext = {}): Promise<number> {
  if (values.bundle) {
    if (operands.length)
      throw new UserError("--bundle takes no ROOTFS or COMMAND: the bundle's config.json says what to run");
    return runFromBundle(String(values.bundle), values);
  }
  return runFromFlags(values, operands, ctx.earlyChild);
}
