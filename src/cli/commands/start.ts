// mini start [-a] CONTAINER...: starts stopped (or created) containers again, detached
import type { CommandDef } from "citty";
import { rmSync, statSync } from "node:fs";
import type { OptDefs, OptValues } from "../argv.ts";
import { forEachContainer } from "../containers.ts";
import { withContainerLock } from "../../state/containers.ts";
import { statusOf } from "../../state/status.ts";
import { containerPaths as files } from "../../common/paths.ts";

const args = {
  attach: { type: "boolean", alias: "a", description: "Follow the container's output and return its exit code" },
} as const satisfies OptDefs;

export default { meta: { name: "start", description: "Start stopped containers" }, args } satisfies CommandDef<OptDefs>;

export async function run(values: OptValues, operands: string[]): Promise<number> {
  const { startContainer } = require("../run-container.ts") as typeof import("../run-container.ts");
  let last: import("../../state/containers.ts").ContainerRecord | undefined;
  let offset = 0;
  const code = await forEachContainer("start", operands, async (rec, q) => {
    last = rec;
    await withContainerLock(rec.id, async () => {
      if (statusOf(rec).status === "running" || statusOf(rec).status === "paused") return;
      for (const f of [files.exit(rec.id), files.result(rec.id), files.state(rec.id)]) rmSync(f, { force: true });
      try {
        offset = statSync(files.log(rec.id)).size;
      } catch {
        offset = 0;
      }
      await startContainer({ ...rec, detached: true });
    });
    return values.attach ? "" : q;
  });
  if (!values.attach || code || !last) return code;
  const { followLogs } = require("../../state/logs.ts") as typeof import("../../state/logs.ts");
  const { waitExit } = require("../../runtime/lifecycle.ts") as typeof import("../../runtime/lifecycle.ts");
  await followLogs(last, { follow: true, timestamps: false, fromOffset: offset });
  return (await waitExit(last)).exitCode ?? 0;
}
