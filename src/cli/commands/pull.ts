// mini pull IMAGE
import type { CommandDef } from "citty";
import type { OptDefs, OptValues } from "../argv.ts";
import { UserError } from "../../common/errors.ts";
import { parsePlatform } from "../../image/platform.ts";
import { progressFor } from "../../image/progress.ts";
import { pull } from "../../image/pull.ts";
import { printOut } from "../../common/stdout.ts";

const pullArgs = {
  platform: { type: "string", description: "Platform os/arch[/variant] (default: this host's)", valueHint: "platform" },
  quiet: { type: "boolean", alias: "q", description: "No progress output" },
  "insecure-registry": { type: "boolean", description: "Allow plain HTTP and unverified TLS for this registry" },
  image: { type: "positional", description: "Image reference: name[:tag] or name@sha256:digest" },
} as const satisfies OptDefs;

export default {
  meta: { name: "pull", description: "Pull an image from a registry into the local store" },
  args: pullArgs,
} satisfies CommandDef<OptDefs>;

export async function run(values: OptValues, operands: string[]): Promise<number> {
  if (operands.length !== 1) throw new UserError("mini pull takes exactly one IMAGE");
  const img = await pull(operands[0], {
    platform: typeof values.platform === "string" ? parsePlatform(values.platform) : undefined,
    insecure: !!values["insecure-registry"],
    progress: progressFor(!!values.quiet),
  });
  printOut(`${img.repoTags[0] ?? img.repoDigests[0]}\n`);
  return 0;
}
