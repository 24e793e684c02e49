// mini __reap ID (hidden): run by a detached container's monitor after it recorded the exit.
import type { CommandDef } from "citty";
import type { OptDefs, OptValues } from "../argv.ts";
import { reap } from "../../runtime/lifecycle.ts";

export default {
  meta: { name: "__reap", description: "internal: clean up after a detached container exited", hidden: true },
  args: {},
} satisfies CommandDef<OptDefs>;

export async function run(_values: OptValues, operands: string[]): Promise<number> {
  await reap(operands[0] ?? "");
  return 0;
}
