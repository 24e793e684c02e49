// mini images: REPOSITORY TAG IMAGE ID CREATED SIZE
import type { CommandDef } from "citty";
import type { OptDefs, OptValues } from "../argv.ts";
import { readIndex, type ImageRecord } from "../../image/store.ts";
import { familiarName, parseReference } from "../../image/reference.ts";
import { ago, printTable } from "../format.ts";
import { printOut } from "../../common/stdout.ts";

const args = {
  format: { type: "string", description: "Output format: table (default) or json", valueHint: "table|json" },
  quiet: { type: "boolean", alias: "q", description: "Only image IDs" },
} as const satisfies OptDefs;

export default {
  meta: { name: "images", description: "List images in the local store" },
  args,
} satisfies CommandDef<OptDefs>;

function size(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)}GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}MB` : `${(n / 1e3).toFixed(1)}kB`;
}

export function rows(
  images: ImageRecord[],
): { repository: string; tag: string; id: string; created: string; size: string }[] {
  const out: { repository: string; tag: string; id: string; created: string; size: string }[] = [];
  for (const img of images) {
    const tags = img.repoTags.length ? img.repoTags : ["<none>:<none>"];
    for (const t of tags) {
      let repository = "<none>",
        tag = "<none>";
      if (t !== "<none>:<none>") {
        const name = familiarName(parseReference(t));
        const i = name.lastIndexOf(":");
        repository = name.slice(0, i);
        tag = name.slice(i + 1);
      }
      out.push({ repository, tag, id: img.id.slice(7, 19), created: ago(img.created), size: size(img.size) });
    }
  }
  return out;
}

export function run(values: OptValues): number {
  const images = Object.values(readIndex().images).sort((a, b) => (b.created ?? "").localeCompare(a.created ?? ""));
  if (values.quiet) {
    for (const i of images) printOut(`${i.id.slice(7, 19)}\n`);
    return 0;
  }
  if (values.format === "json") {
    printOut(`${JSON.stringify(rows(images), null, 2)}\n`);
    return 0;
  }
  printTable([
    ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
    ...rows(images).map((r) => [r.repository, r.tag, r.id, r.created, r.size]),
  ]);
  return 0;
}
