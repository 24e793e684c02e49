// mini start [-a] CONTAINER...: starts stopped (or created) containers again, detached
import type { CommandDef } from "citty";
import type { OptDefs, OptValues } from "../argv.ts";
import { forEachContainer } from "../containers.ts";
import { startStopped } from "../../runtime/run.ts";
import { followLogs } from "../../state/logs.ts";
import { waitExit } from "../../runtime/lifecycle.ts";

const args = {
  attach: { type: "boolean", alias: "a", description: "Follow the container's output and return its exit code" },
} as const satisfies OptDefs;

export default { meta: { name: "start", description: "Start stopped containers" }, args } satisfies CommandDef<OptDefs>;

export async function run(values: OptValues, operands: string[]): Promise<number> {
  let last: import("../../state/containers.ts").ContainerRecord | undefined;
  let offset = 0;
  const code = await forEachContainer("start", operands, async (rec, q) => {
    last = rec;
    offset = await startStopped(rec);
    return values.attach ? "" : q;
  });
  if (!values.attach || code || !last) return code;
  await followLogs(last, { follow: true, timestamps: false, fromOffset: offset });
  return (await waitExit(last)).exitCode ?? 0;
}
