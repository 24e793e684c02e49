// mini tag SOURCE TARGET: one more name for an image (the name moves if another image had it)
import type { CommandDef } from "citty";
import type { OptDefs, OptValues } from "../argv.ts";
import { UserError } from "../../common/errors.ts";
import { formatReference, parseReference } from "../../image/reference.ts";
import { updateIndex } from "../../image/store.ts";

const args = {
  source: { type: "positional", description: "SOURCE image: name or id" },
  target: { type: "positional", description: "TARGET name: NAME[:TAG]" },
} as const satisfies OptDefs;

export default { meta: { name: "tag", description: "Give an image another name" }, args } satisfies CommandDef<OptDefs>;

export async function run(_values: OptValues, operands: string[]): Promise<number> {
  if (operands.length !== 2) throw new UserError("usage: mini tag SOURCE TARGET");
  const [source, target] = operands;
  const ref = parseReference(target);
  if (ref.digest) throw new UserError(`mini tag: TARGET can't have a digest (${target})`);
  const full = formatReference(ref);
  await updateIndex((index) => {
    let id: string | undefined;
    const hex = source.replace(/^sha256:/, "");
    if (/^[0-9a-f]{6,64}$/.test(hex)) {
      const hits = Object.keys(index.images).filter((i) => i.slice(7).startsWith(hex));
      if (hits.length > 1) throw new UserError(`image id prefix ${source} is ambiguous`);
      id = hits[0];
    }
    if (!id) {
      const t = index.tags[formatReference(parseReference(source))];
      id = t && index.images[t] ? t : undefined;
    }
    if (!id) throw new UserError(`no such image: ${source}`);
    const prev = index.tags[full];
    if (prev && prev !== id && index.images[prev])
      index.images[prev].repoTags = index.images[prev].repoTags.filter((x) => x !== full);
    index.tags[full] = id;
    const img = index.images[id];
    if (!img.repoTags.includes(full)) img.repoTags.push(full);
  });
  return 0;
}
