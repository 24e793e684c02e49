// mini kill [-s SIGNAL] CONTAINER...
import type { CommandDef } from "citty";
import type { OptDefs, OptValues } from "../argv.ts";
import { forEachContainer } from "../containers.ts";
import { signalContainer } from "../../runtime/lifecycle.ts";
import { parseSignal } from "../../runtime/signals.ts";

const args = {
  signal: {
    type: "string",
    alias: "s",
    description: "Signal to send, by name or number (default SIGKILL)",
    valueHint: "signal",
  },
} as const satisfies OptDefs;

export default {
  meta: { name: "kill", description: "Send a signal to running containers" },
  args,
} satisfies CommandDef<OptDefs>;

export async function run(values: OptValues, operands: string[]): Promise<number> {
  const sig = parseSignal(typeof values.signal === "string" ? values.signal : "SIGKILL");
  return forEachContainer("kill", operands, (rec, q) => {
    signalContainer(rec, sig);
    return q;
  });
}
