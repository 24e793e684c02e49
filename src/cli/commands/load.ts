// mini load [-i FILE|DIR]: images from an OCI layout (tar, compressed tar, directory) or a
// docker-archive tar; stdin without -i
import type { CommandDef } from "citty";
import type { OptDefs, OptValues } from "../argv.ts";
import { UserError } from "../../common/errors.ts";
import * as log from "../../log.ts";
import { existsSync } from "node:fs";
import { familiarName, parseReference } from "../../image/reference.ts";
import { loadImages } from "../../image/load-archive.ts";
import { printOut } from "../../common/stdout.ts";
import { isTerminal } from "../../common/terminal.ts";

const args = {
  input: {
    type: "string",
    alias: "i",
    description: "Read from FILE (a tar, maybe compressed) or an OCI layout DIR instead of stdin",
    valueHint: "file",
  },
  quiet: { type: "boolean", alias: "q", description: "Only the loaded names" },
} as const satisfies OptDefs;

export default {
  meta: { name: "load", description: "Load images from a tar archive or an OCI layout directory" },
  args,
} satisfies CommandDef<OptDefs>;

export async function run(values: OptValues, operands: string[]): Promise<number> {
  if (operands.length) throw new UserError(`mini load takes no operands (use -i ${operands[0]})`);
  const input = typeof values.input === "string" && values.input !== "-" ? values.input : undefined;
  if (input !== undefined && !existsSync(input)) throw new UserError(`mini load: ${input}: no such file or directory`);
  if (input === undefined && isTerminal(0))
    throw new UserError("mini load: no archive on stdin (it is a terminal): use -i FILE or redirect stdin");
  const loaded = await loadImages(
    input !== undefined ? { path: input } : { stream: Bun.stdin.stream() },
    values.quiet ? undefined : (m) => log.info(m),
  );
  for (const img of loaded) {
    if (!img.names.length) printOut(`Loaded image ID: ${img.id}\n`);
    for (const n of img.names) printOut(`Loaded image: ${familiarName(parseReference(n))}\n`);
  }
  return 0;
}
