// mini rmi [-f] IMAGE...
import type { CommandDef } from "citty";
import type { OptDefs, OptValues } from "../argv.ts";
import { UserError } from "../../common/errors.ts";
import { removeImage } from "../../image/remove.ts";
import { printOut } from "../../common/stdout.ts";

const args = {
  force: { type: "boolean", alias: "f", description: "Remove the image even when several tags point at it" },
} as const satisfies OptDefs;

export default {
  meta: { name: "rmi", description: "Remove images (refused while a container uses one)" },
  args,
} satisfies CommandDef<OptDefs>;

export async function run(values: OptValues, operands: string[]): Promise<number> {
  if (!operands.length) throw new UserError("mini rmi needs at least one IMAGE");
  for (const name of operands) for (const line of await removeImage(name, !!values.force)) printOut(`${line}\n`);
  return 0;
}
