// mini __reap ID (hidden): run by a detached container's monitor after it recorded the exit.
import type { CommandDef } from "citty";
import type { OptDefs, OptValues } from "../argv.ts";

export default {
  meta: { name: "__reap", description: "internal: clean up after a detached container exited", hidden: true },
  args: {},
} satisfies CommandDef<OptDefs>;

export async function run(_values: OptValues, operands: string[]): Promise<number> {
  const { reap } = require("../../runtime/lifecycle.ts") as typeof import("../../runtime/lifecycle.ts");
  await reap(operands[0] ?? "");
  return 0;
}
