// mini rm [-f] CONTAINER...
import type { CommandDef } from "citty";
import type { OptDefs, OptValues } from "../argv.ts";
import { forEachContainer } from "../containers.ts";
import { removeContainer } from "../../runtime/lifecycle.ts";

const args = {
  force: { type: "boolean", alias: "f", description: "Kill and remove running containers too" },
} as const satisfies OptDefs;

export default {
  meta: { name: "rm", description: "Remove containers (their processes, cgroups, state and logs)" },
  args,
} satisfies CommandDef<OptDefs>;

export async function run(values: OptValues, operands: string[]): Promise<number> {
  return forEachContainer("rm", operands, (rec, q) => removeContainer(rec, !!values.force).then(() => q));
}
