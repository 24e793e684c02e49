// mini image ls|pull|rm|prune|inspect
import type { CommandDef } from "citty";
import type { OptDefs, OptValues } from "../argv.ts";
import { UserError } from "../../common/errors.ts";
import * as imagesCommand from "./images.ts";
import * as pullCommand from "./pull.ts";
import * as rmiCommand from "./rmi.ts";
import { findImage } from "../../image/pull.ts";
import { prune } from "../../image/remove.ts";
import { printOut } from "../../common/stdout.ts";

const args = {
  force: { type: "boolean", alias: "f", description: "rm: remove even with several tags" },
  format: { type: "string", description: "ls: table or json", valueHint: "table|json" },
  quiet: { type: "boolean", alias: "q", description: "ls: only IDs; pull: no progress" },
  platform: { type: "string", description: "pull: platform os/arch[/variant]", valueHint: "platform" },
  "insecure-registry": { type: "boolean", description: "pull: allow plain HTTP" },
} as const satisfies OptDefs;

export default {
  meta: { name: "image", description: "Manage images: ls, pull, rm, prune, inspect" },
  args: { ...args, subcommand: { type: "positional", description: "ls | pull | rm | prune | inspect" } },
} satisfies CommandDef<OptDefs>;

export async function run(values: OptValues, operands: string[]): Promise<number> {
  const [sub, ...rest] = operands;
  switch (sub) {
    case "ls":
    case "list":
      return imagesCommand.run(values);
    case "pull":
      return pullCommand.run(values, rest);
    case "rm":
      return rmiCommand.run(values, rest);
    case "prune": {
      const r = prune();
      printOut(`Deleted ${r.layers} layers and ${r.blobs} blobs no image uses\n`);
      return 0;
    }
    case "inspect": {
      if (!rest.length) throw new UserError("mini image inspect needs an IMAGE");
      const out = rest.map((n) => {
        const i = findImage(n);
        if (!i) throw new UserError(`no such image: ${n}`);
        return i;
      });
      printOut(`${JSON.stringify(out, null, 2)}\n`);
      return 0;
    }
    default:
      throw new UserError(`unknown image command "${sub ?? ""}": use ls, pull, rm, prune or inspect`);
  }
}
