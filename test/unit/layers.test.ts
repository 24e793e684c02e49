// The layer rules of docs/ARCHITECTURE.md, checked on the source: every import (static, `import()`
// or `require()`) of a module under src/ points down, never up or sideways between peers.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../src");

/** Top to bottom; a module may import from its own layer's directory and from any lower layer. */
const LAYERS: string[][] = [
  ["main.ts"],
  ["cli"],
  ["oci"],
  ["runtime"],
  ["image", "network", "state"],
  ["cgroups", "seccomp"],
  ["config"],
  ["common", "log.ts"],
  ["sys"],
];

/** Each peer group may not import its peers (image, network and state know nothing of each other). */
const layerOf = (file: string): { rank: number; unit: string } => {
  const unit = file.split("/")[0]!;
  const rank = LAYERS.findIndex((l) => l.includes(unit));
  if (rank < 0) throw new Error(`${file}: not in any layer (add its directory to LAYERS and ARCHITECTURE.md)`);
  return { rank, unit };
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.ts$/.test(n) && !n.endsWith(".d.ts") ? [p] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from\s+|import\(\s*|require\(\s*)"(\.{1,2}\/[^"]+)"/g)) out.push(m[1]!);
  return out;
}

describe("layers point one way", () => {
  const files = sources(SRC).map((p) => relative(SRC, p));

  test("every module is in a layer", () => {
    for (const f of files) expect(() => layerOf(f)).not.toThrow();
  });

  test("imports go down (or stay in their own directory)", () => {
    const wrong: string[] = [];
    for (const f of files) {
      const from = layerOf(f);
      for (const spec of imports(join(SRC, f))) {
        const target = relative(SRC, resolve(SRC, dirname(f), spec));
        if (target.startsWith("..")) continue; // package.json, dist/mini-shim: not modules of a layer
        const to = layerOf(target);
        if (to.unit === from.unit) continue;
        if (to.rank <= from.rank) wrong.push(`${f} → ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test("only src/sys imports bun:ffi", () => {
    const users = files.filter((f) => /from "bun:ffi"/.test(readFileSync(join(SRC, f), "utf8")));
    expect(users.every((f) => f.startsWith("sys/"))).toBe(true);
  });
});
