// The files of an image archive being loaded: an OCI layout directory read in place, or an archive
// (tar, maybe compressed) extracted into a temp dir of the store first.
import { closeSync, mkdirSync, openSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../common/errors.ts";
import { decompress } from "./decompress.ts";
import { readTar } from "./tar.ts";
import { normalizeEntryPath } from "./unpack.ts";

/** Files of a layout: a directory on disk, or an archive extracted into the store's tmp. */
export interface LayoutFiles {
  /** Absolute path of the file at `rel` inside the layout (links inside an archive followed). */
  path(rel: string): string;
  exists(rel: string): boolean;
  /** True when its files may be moved into the store (they are our own temp copies). */
  movable: boolean;
  describe: string;
}

/** An OCI layout directory, read in place. */
export function dirFiles(root: string): LayoutFiles {
  const path = (rel: string) => join(root, ...normalizeEntryPath(rel, "path"));
  return {
    path,
    exists: (rel) => {
      try {
        return statSync(path(rel)).isFile();
      } catch {
        return false;
      }
    },
    movable: false,
    describe: root,
  };
}

/**
 * Extracts an archive's regular files into `root`. Only files and directories are made on disk:
 * names are normalized (no way above `root`), symlinks and hardlinks become entries of a map
 * followed by `path()`, so nothing in the archive can point outside it.
 */
export async function extractArchive(input: ReadableStream<Uint8Array>, root: string): Promise<LayoutFiles> {
  const links = new Map<string, string>();
  const files = new Set<string>();
  const { stream } = await decompress(input);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  let entries = 0;
  for await (const e of readTar(stream)) {
    entries++;
    const comps = normalizeEntryPath(e.name);
    if (!comps.length) continue;
    const key = comps.join("/");
    if (e.type === "dir") {
      mkdirSync(join(root, ...comps), { recursive: true });
      continue;
    }
    if (e.type === "symlink" || e.type === "hardlink") {
      const base = e.type === "symlink" && !e.linkname.startsWith("/") ? `${comps.slice(0, -1).join("/")}/` : "";
      links.set(key, normalizeEntryPath(base + e.linkname, "link target").join("/"));
      continue;
    }
    if (e.type !== "file") continue;
    mkdirSync(join(root, ...comps.slice(0, -1)), { recursive: true });
    const fd = openSync(join(root, ...comps), "w", 0o600);
    try {
      for await (const c of e.body())
        for (let off = 0; off < c.byteLength; ) off += writeSync(fd, c, off, c.byteLength - off);
    } finally {
      closeSync(fd);
    }
    links.delete(key);
    files.add(key);
  }
  if (!entries) throw new UserError("the archive is empty");
  const resolve = (rel: string): string => {
    let comps = normalizeEntryPath(rel, "path");
    for (let hops = 0; hops < 40; hops++) {
      let moved = false;
      for (let i = comps.length; i > 0; i--) {
        const target = links.get(comps.slice(0, i).join("/"));
        if (target === undefined) continue;
        comps = [...(target ? target.split("/") : []), ...comps.slice(i)];
        moved = true;
        break;
      }
      if (!moved) return comps.join("/");
    }
    throw new UserError(`${rel}: too many levels of links in the archive`);
  };
  return {
    path: (rel) => join(root, ...resolve(rel).split("/").filter(Boolean)),
    exists: (rel) => files.has(resolve(rel)),
    movable: true,
    describe: "the archive",
  };
}
