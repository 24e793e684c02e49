// mini save [-o FILE] IMAGE...: an OCI image layout tar (with docker's manifest.json too)
import type { CommandDef } from "citty";
import type { OptDefs, OptValues } from "../argv.ts";
import { UserError } from "../../common/errors.ts";
import { closeSync, openSync, renameSync, rmSync } from "node:fs";
import { fdSink } from "../../image/tar-write.ts";
import { saveImages } from "../../image/save-archive.ts";
import { isTerminal } from "../../common/terminal.ts";

const args = {
  output: {
    type: "string",
    alias: "o",
    description: 'Write to FILE instead of stdout ("-" = stdout)',
    valueHint: "file",
  },
  images: { type: "positional", description: "IMAGE... by name or id" },
} as const satisfies OptDefs;

export default {
  meta: { name: "save", description: "Save images to a tar archive (OCI layout + docker manifest.json)" },
  args,
} satisfies CommandDef<OptDefs>;

export async function run(values: OptValues, operands: string[]): Promise<number> {
  if (!operands.length) throw new UserError("mini save needs at least one IMAGE");
  const out = typeof values.output === "string" ? values.output : "-";
  if (out === "-") {
    if (isTerminal(1))
      throw new UserError("refusing to write an image archive to a terminal: use -o FILE or redirect stdout");
    await saveImages(operands, fdSink(1, false));
    return 0;
  }
  if (out === "") throw new UserError("mini save: -o needs a file name");
  // Written beside the target and renamed: a failed save leaves no half archive.
  const tmp = `${out}.tmp-${process.pid}`;
  let fd: number;
  try {
    fd = openSync(tmp, "w", 0o644);
  } catch (e) {
    throw new UserError(`cannot create ${out}: ${(e as Error).message}`);
  }
  try {
    await saveImages(operands, fdSink(fd, false));
    closeSync(fd);
    fd = -1;
    renameSync(tmp, out);
  } finally {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
  }
  return 0;
}
