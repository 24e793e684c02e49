// mini stop [-t SECONDS] CONTAINER...
import type { CommandDef } from "citty";
import type { OptDefs, OptValues } from "../argv.ts";
import { forEachContainer } from "../containers.ts";
import { UserError } from "../../common/errors.ts";
import { stopContainer } from "../../runtime/lifecycle.ts";

const args = {
  time: {
    type: "string",
    alias: "t",
    description: "Seconds to wait after the stop signal before SIGKILL (default 10)",
    valueHint: "seconds",
  },
} as const satisfies OptDefs;

export default {
  meta: { name: "stop", description: "Stop running containers: the stop signal (SIGTERM), then SIGKILL" },
  args,
} satisfies CommandDef<OptDefs>;

export async function run(values: OptValues, operands: string[]): Promise<number> {
  const t = values.time === undefined ? 10 : Number(values.time);
  if (!Number.isFinite(t) || t < 0) throw new UserError(`invalid --time ${values.time}: give seconds`, 1);
  return forEachContainer("stop", operands, (rec, q) => stopContainer(rec, t).then(() => q));
}
