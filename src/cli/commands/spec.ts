// mini spec: print a default config.json (like `runc spec`), or write it into a bundle.
import { writeFileSync } from "node:fs";
import type { CommandDef } from "citty";
import type { OptDefs, OptValues } from "../argv.ts";
import { defaultSpec } from "../../config/defaults.ts";
import { UserError } from "../../common/errors.ts";
import { printOut } from "../../common/stdout.ts";

const args = {
  bundle: {
    type: "string",
    alias: "b",
    description: "Write config.json into this bundle directory instead of printing it",
    valueHint: "dir",
  },
} as const satisfies OptDefs;

export default {
  meta: { name: "spec", description: "Print a default OCI config.json (rootfs at ./rootfs)" },
  args,
} satisfies CommandDef<OptDefs>;

export function run(values: OptValues, operands: string[]): number {
  if (operands.length) throw new UserError(`mini spec takes no arguments (got "${operands[0]}")`);
  const text = `${JSON.stringify(defaultSpec(), null, 2)}\n`;
  if (typeof values.bundle !== "string") {
    printOut(text);
    return 0;
  }
  const file = `${values.bundle}/config.json`;
  try {
    writeFileSync(file, text, { flag: "wx" });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new UserError(`${file} already exists`);
    if (code === "ENOENT" || code === "ENOTDIR") throw new UserError(`bundle ${values.bundle}: no such directory`);
    throw e;
  }
  return 0;
}
