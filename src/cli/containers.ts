// The shape every multi-container verb shares (docker's): act on each CONTAINER in turn, print
// what `fn` returns, report failures one line each and exit 1 if any failed.
import * as log from "../log.ts";
import { resolveContainer, type ContainerRecord } from "../state/containers.ts";
import { UserError } from "../common/errors.ts";
import { printOut } from "../common/stdout.ts";

export async function forEachContainer(
  verb: string,
  operands: string[],
  fn: (rec: ContainerRecord, query: string) => Promise<string> | string,
): Promise<number> {
  if (!operands.length) throw new UserError(`"mini ${verb}" needs at least one CONTAINER`, 1);
  let failed = 0;
  for (const q of operands) {
    try {
      const out = await fn(resolveContainer(q), q);
      if (out !== "") printOut(`${out}\n`);
    } catch (e) {
      failed++;
      log.error(e instanceof Error ? e.message : String(e));
    }
  }
  return failed ? 1 : 0;
}
