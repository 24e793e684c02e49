// mini port CONTAINER [PRIVATE_PORT[/PROTO]]: its published ports, "80/tcp -> 0.0.0.0:8080"
import type { CommandDef } from "citty";
import { UserError } from "../../common/errors.ts";
import { portLines } from "../../runtime/network-info.ts";
import { resolveContainer } from "../../state/containers.ts";
import type { OptDefs, OptValues } from "../argv.ts";
import { printOut } from "../../common/stdout.ts";

export default {
  meta: { name: "port", description: "List a container's published ports (or the mapping of one)" },
  args: {},
} satisfies CommandDef<OptDefs>;

export function run(_values: OptValues, operands: string[]): number {
  const [query, filter, extra] = operands;
  if (!query || extra !== undefined) throw new UserError('"mini port" needs CONTAINER [PRIVATE_PORT[/PROTO]]', 1);
  const lines = portLines(resolveContainer(query), filter);
  if (filter && lines.length === 0) throw new UserError(`no public port '${filter}' published for ${query}`, 1);
  // With a port given, docker prints only where it is published.
  printOut(lines.map((l) => `${filter ? l.slice(l.indexOf(" -> ") + 4) : l}\n`).join(""));
  return 0;
}
