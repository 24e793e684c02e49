// mini save: images of the store → one tar holding an OCI image layout plus docker-archive's
// manifest.json over the same blobs (what `docker load` and `mini load` read). The tar itself is
// written by ./tar-write.ts, which streams the layer blobs straight from the store.
import { readFileSync, statSync } from "node:fs";
import { UserError } from "../common/errors.ts";
import { DigestMismatchError, fileChunks, verifyDigest } from "./digest.ts";
import {
  blobPath,
  buildDockerManifest,
  buildIndex,
  DOCKER_MANIFEST_FILE,
  INDEX_FILE,
  OCI_LAYOUT,
  OCI_LAYOUT_FILE,
  type SavedImage,
} from "./layout.ts";
import { parseManifest } from "./manifest.ts";
import { formatReference, parseReference } from "./reference.ts";
import { hasBlob, readIndex, type ImageRecord, type StoreIndex } from "./store.ts";
import { type Sink, TarWriter } from "./tar-write.ts";
import { storePaths } from "../common/paths.ts";
import { normalJit } from "../common/jit.ts";

const enc = new TextEncoder();

/** An image of the store by id (prefix) or name; a name also names it in the archive. */
function resolveForSave(index: StoreIndex, name: string): { record: ImageRecord; tag?: string } {
  const hex = name.replace(/^sha256:/, "");
  if (/^[0-9a-f]{6,64}$/.test(hex)) {
    const hits = Object.keys(index.images).filter((id) => id.slice(7).startsWith(hex));
    if (hits.length > 1) throw new UserError(`image id prefix ${name} is ambiguous`);
    if (hits.length === 1) return { record: index.images[hits[0]] };
  }
  const ref = parseReference(name);
  if (ref.digest) {
    const hit = Object.values(index.images).find(
      (i) => i.manifestDigest === ref.digest || i.repoDigests.some((d) => d.endsWith(`@${ref.digest}`)),
    );
    if (hit) return { record: hit };
  } else {
    const tag = formatReference(ref);
    const id = index.tags[tag];
    if (id && index.images[id]) return { record: index.images[id], tag };
  }
  throw new UserError(`no such image: ${name}`);
}

/** Reads a store blob in chunks, failing at the end if it doesn't hash to its name. */
async function* verifiedChunks(digest: string): AsyncGenerator<Uint8Array> {
  const h = new Bun.CryptoHasher("sha256");
  for (const c of fileChunks(storePaths.blob(digest))) {
    h.update(c);
    yield c;
  }
  const got = `sha256:${h.digest("hex")}`;
  if (got !== digest)
    throw new DigestMismatchError(digest, got, `store blob ${digest} (the store is damaged: pull the image again)`);
}

/**
 * Writes the images named to `sink` as one tar: an OCI image layout plus docker-archive's
 * manifest.json over the same blobs. Everything is checked to be in the store before a byte is
 * written; blobs stream from the store, their digests checked as they go.
 */
export async function saveImages(names: string[], sink: Sink): Promise<SavedImage[]> {
  normalJit();
  if (!names.length) throw new UserError("nothing to save: name at least one IMAGE");
  const index = readIndex();
  const byId = new Map<string, { record: ImageRecord; names: string[] }>();
  for (const n of names) {
    const { record, tag } = resolveForSave(index, n);
    const e = byId.get(record.id) ?? { record, names: [] };
    if (tag && !e.names.includes(tag)) e.names.push(tag);
    byId.set(record.id, e);
  }
  const saved: SavedImage[] = [];
  const blobs: string[] = [];
  const small = new Map<string, Uint8Array>();
  const addBlob = (d: string) => {
    if (!blobs.includes(d)) blobs.push(d);
  };
  for (const { record, names: tags } of byId.values()) {
    const what = tags[0] ?? record.id;
    if (!hasBlob(record.manifestDigest))
      throw new UserError(
        `cannot save ${what}: its manifest ${record.manifestDigest} is not in the store (pull the image again)`,
      );
    if (!hasBlob(record.id))
      throw new UserError(`cannot save ${what}: its config ${record.id} is not in the store (pull the image again)`);
    const mbytes = new Uint8Array(readFileSync(storePaths.blob(record.manifestDigest)));
    verifyDigest(mbytes, record.manifestDigest, `manifest of ${what} in the store`);
    const doc = parseManifest(mbytes, { name: what });
    if (doc.kind !== "manifest") throw new UserError(`cannot save ${what}: the stored manifest is an index`);
    for (const l of doc.manifest.layers) {
      if (!hasBlob(l.digest))
        throw new UserError(
          `cannot save ${what}: layer blob ${l.digest} is not in the store (its layer is unpacked, but the compressed blob is gone: pull the image again)`,
        );
    }
    small.set(record.manifestDigest, mbytes);
    saved.push({
      manifest: { mediaType: doc.mediaType, digest: record.manifestDigest, size: mbytes.byteLength },
      configDigest: doc.manifest.config.digest,
      layerDigests: doc.manifest.layers.map((l) => l.digest),
      platform: record.platform,
      names: tags,
    });
    for (const l of doc.manifest.layers) addBlob(l.digest);
    addBlob(doc.manifest.config.digest);
    addBlob(record.manifestDigest);
  }

  const tar = new TarWriter(sink);
  const json = (v: unknown) => enc.encode(`${JSON.stringify(v)}\n`);
  await tar.add({ name: OCI_LAYOUT_FILE }, json(OCI_LAYOUT));
  await tar.add({ name: "blobs", type: "dir" });
  await tar.add({ name: "blobs/sha256", type: "dir" });
  for (const d of blobs) {
    const mem = small.get(d);
    if (mem) await tar.add({ name: blobPath(d) }, mem);
    else await tar.add({ name: blobPath(d), size: statSync(storePaths.blob(d)).size }, verifiedChunks(d));
  }
  await tar.add({ name: INDEX_FILE }, json(buildIndex(saved)));
  await tar.add({ name: DOCKER_MANIFEST_FILE }, json(buildDockerManifest(saved)));
  await tar.finish();
  return saved;
}
