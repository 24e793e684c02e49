// mini wait CONTAINER...: blocks until each stops, prints its exit code
import type { CommandDef } from "citty";
import type { OptDefs, OptValues } from "../argv.ts";
import { forEachContainer } from "../containers.ts";
import { waitExit } from "../../runtime/lifecycle.ts";

export default {
  meta: { name: "wait", description: "Wait for containers to stop and print their exit codes" },
  args: {},
} satisfies CommandDef<OptDefs>;

export async function run(_values: OptValues, operands: string[]): Promise<number> {
  return forEachContainer("wait", operands, async (rec) => String((await waitExit(rec)).exitCode ?? -1));
}
