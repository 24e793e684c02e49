// mini spec: print a default config.json (like `runc spec`), or write it into a bundle.
import { writeFileSync, existsSync } from "node:fs";
import type { CommandDef } from "citty";
import type { OptDefs, OptValues } from "../argv.ts";
import { defaultSpec } from "../../spec/defaults.ts";
import { UserError } from "../../sys/error.ts";

const args = {
  bundle: { type: "string", alias: "b", description: "Write config.json into this bundle directory instead of printing it", valueHint: "dir" },
} as const satisfies OptDefs;

export default { meta: { name: "spec", description: "Print a default OCI config.json (rootfs at ./rootfs)" }, args } satisfies CommandDef<any>;

export function run(values: OptValues): number {
  const text = `${JSON.stringify(defaultSpec(), null, 2)}\n`;
  if (typeof values.bundle === "string") {
    const file = `${values.bundle}/config.json`;
    if (existsSync(file)) throw new UserError(`${file} already exists`);
    writeFileSync(file, text);
  } else process.stdout.write(text);
  return 0;
}
