// mini logs [-f] [--tail N] [-t] CONTAINER
import type { CommandDef } from "citty";
import type { OptDefs, OptValues } from "../argv.ts";
import { resolveContainer } from "../../state/containers.ts";
import { UserError } from "../../common/errors.ts";
import { followLogs } from "../../state/logs.ts";
import { normalJit } from "../../common/jit.ts";

const args = {
  follow: { type: "boolean", alias: "f", description: "Keep printing new output until the container exits" },
  tail: { type: "string", alias: "n", description: "Only the last N lines (default: all)", valueHint: "N" },
  timestamps: { type: "boolean", alias: "t", description: "Prefix each line with its time (RFC 3339, nanoseconds)" },
} as const satisfies OptDefs;

export default {
  meta: { name: "logs", description: "Print a detached container's stdout and stderr" },
  args,
} satisfies CommandDef<OptDefs>;

export async function run(values: OptValues, operands: string[]): Promise<number> {
  normalJit();
  if (operands.length !== 1) throw new UserError('"mini logs" needs exactly one CONTAINER', 1);
  let tail: number | undefined;
  if (typeof values.tail === "string" && values.tail !== "all") {
    tail = Number(values.tail);
    if (!Number.isInteger(tail) || tail < 0)
      throw new UserError(`invalid --tail ${values.tail}: give a number of lines`, 1);
  }
  const rec = resolveContainer(operands[0]!);
  await followLogs(rec, { follow: !!values.follow, timestamps: !!values.timestamps, tail });
  return 0;
}
