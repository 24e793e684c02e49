// mini logout [REGISTRY]: forget the registry's credentials in mini's credentials file
import type { CommandDef } from "citty";
import type { OptDefs, OptValues } from "../argv.ts";
import { UserError } from "../../common/errors.ts";
import { normalizeAuthKey, removeCredentials } from "../../image/auth.ts";
import { printOut } from "../../common/stdout.ts";

const args = {
  registry: { type: "positional", required: false, description: "Registry host[:port] (default docker.io)" },
} as const satisfies OptDefs;

export default { meta: { name: "logout", description: "Log out from a registry" }, args } satisfies CommandDef<OptDefs>;

export function run(_values: OptValues, operands: string[]): number {
  if (operands.length > 1) throw new UserError("usage: mini logout [REGISTRY]");
  const registry = normalizeAuthKey(operands[0] ?? "docker.io");
  if (removeCredentials(registry)) printOut(`Removing login credentials for ${registry}\n`);
  else printOut(`Not logged in to ${registry}\n`);
  return 0;
}
