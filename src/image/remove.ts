// Removing images and pruning what no image needs. Layers are shared: a layer is deleted only
// when no remaining image lists its diffID; blobs likewise.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { UserError } from "../common/errors.ts";
import { formatReference, parseReference } from "./reference.ts";
import { readIndex, updateIndex, type ImageRecord, type StoreIndex } from "./store.ts";
import { containerPaths, storePaths } from "../common/paths.ts";
import { isRunning, type ProcessId } from "../common/proc.ts";

/** Image ids used by containers that still exist (their overlay dirs name the image). */
function abandoned(id: string): boolean {
  try {
    const who = JSON.parse(readFileSync(containerPaths.creating(id), "utf8")) as ProcessId;
    return !isRunning(who);
  } catch {
    return false;
  }
}

function imagesInUse(): Set<string> {
  const used = new Set<string>();
  let ids: string[];
  try {
    ids = readdirSync(storePaths.containers());
  } catch {
    return used;
  }
  for (const id of ids) {
    // A container whose creator died before writing its record uses nothing (the next run sweeps it).
    if (!existsSync(containerPaths.record(id)) && abandoned(id)) continue;
    try {
      used.add(readFileSync(containerPaths.image(id), "utf8").trim());
    } catch {
      /* not an image container */
    }
  }
  return used;
}

function resolve(index: StoreIndex, name: string): { id: string; tag?: string } {
  const hex = name.replace(/^sha256:/, "");
  if (/^[0-9a-f]{6,64}$/.test(hex)) {
    const hits = Object.keys(index.images).filter((id) => id.slice(7).startsWith(hex));
    if (hits.length > 1) throw new UserError(`image id prefix ${name} is ambiguous`);
    if (hits.length === 1) return { id: hits[0] };
  }
  const tag = formatReference(parseReference(name));
  const id = index.tags[tag];
  if (!id) throw new UserError(`no such image: ${name}`);
  return { id, tag };
}

/** Untags `name`; deletes the image when no tag is left (or with an id, or force). */
export async function removeImage(name: string, force = false): Promise<string[]> {
  const out: string[] = [];
  await updateIndex((index) => {
    const { id, tag } = resolve(index, name);
    const img = index.images[id];
    if (tag && img.repoTags.length > 1 && !force) {
      img.repoTags = img.repoTags.filter((t) => t !== tag);
      delete index.tags[tag];
      out.push(`Untagged: ${tag}`);
      return;
    }
    if (!tag && img.repoTags.length > 1 && !force)
      throw new UserError(
        `image ${id.slice(7, 19)} is referenced by ${img.repoTags.length} tags: remove them or use -f`,
      );
    if (imagesInUse().has(id)) throw new UserError(`image ${name} is in use by a container`);
    for (const t of img.repoTags) {
      delete index.tags[t];
      out.push(`Untagged: ${t}`);
    }
    delete index.images[id];
    out.push(`Deleted: ${id}`);
  });
  prune();
  return out;
}

/** A pull commits layers before it records its image: spare anything this young. */
const YOUNG_MS = 10 * 60_000;
const young = (path: string) => {
  try {
    return Date.now() - statSync(path).mtimeMs < YOUNG_MS;
  } catch {
    return true;
  }
};

/** Deletes layers and blobs that no image refers to (sparing those a pull may be adding). */
export function prune(): { layers: number; blobs: number } {
  const index = readIndex();
  const keepLayers = new Set<string>();
  const keepBlobs = new Set<string>();
  for (const img of Object.values(index.images) as ImageRecord[]) {
    for (const l of img.layers) keepLayers.add(l.replace(/^sha256:/, ""));
    keepBlobs.add(img.id.slice(7));
    keepBlobs.add(img.manifestDigest.slice(7));
    try {
      const m = JSON.parse(readFileSync(storePaths.blob(img.manifestDigest), "utf8"));
      for (const l of m.layers ?? []) keepBlobs.add(String(l.digest).slice(7));
    } catch {
      /* manifest blob missing: its layers' blobs go */
    }
  }
  let layers = 0,
    blobs = 0;
  const layersDir = storePaths.layersDir();
  if (existsSync(layersDir))
    for (const l of readdirSync(layersDir))
      if (!keepLayers.has(l) && !young(`${layersDir}/${l}`)) {
        rmSync(`${layersDir}/${l}`, { recursive: true, force: true });
        layers++;
      }
  const blobDir = storePaths.blob("sha256:x").replace(/\/x$/, "");
  if (existsSync(blobDir))
    for (const b of readdirSync(blobDir))
      if (!keepBlobs.has(b) && !young(`${blobDir}/${b}`)) {
        rmSync(`${blobDir}/${b}`, { force: true });
        blobs++;
      }
  return { layers, blobs };
}
