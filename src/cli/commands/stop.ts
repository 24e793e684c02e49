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
    description:
      "Seconds to wait after the stop signal before SIGKILL (default: the container's --stop-timeout, else 10)",
    valueHint: "seconds",
  },
} as const satisfies OptDefs;

export default {
  meta: { name: "stop", description: "Stop running containers: the stop signal (SIGTERM), then SIGKILL" },
  args,
} satisfies CommandDef<OptDefs>;

export async function run(values: OptValues, operands: string[]): Promise<number> {
  const t = values.time === undefined ? undefined : Number(values.time);
  if (t !== undefined && (!Number.isFinite(t) || t < 0))
    throw new UserError(`invalid --time ${values.time}: give seconds`, 1);
  // Without -t: the container's --stop-timeout (-1: no timeout), else docker's 10 s.
  const timeout = (recorded: number | undefined) => (recorded === -1 ? 1e9 : (recorded ?? 10));
  return forEachContainer("stop", operands, (rec, q) =>
    stopContainer(rec, t ?? timeout(rec.stopTimeout)).then(() => q),
  );
}
