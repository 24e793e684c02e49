// The images an OCI layout or a docker-archive holds, read before anything is stored: manifests and
// configs read and checked against their digests, each config's layer count against its manifest's,
// layer blobs located (a docker-archive's are hashed here: its manifest.json names no digests).
import { readFileSync, statSync } from "node:fs";
import { UserError } from "../common/errors.ts";
import { fileCompression } from "./decompress.ts";
import { DigestMismatchError, fileDigest, parseDigest, sha256Digest, verifyDigest } from "./digest.ts";
import {
  blobPath,
  checkOciLayout,
  chooseManifests,
  DOCKER_MANIFEST_FILE,
  INDEX_FILE,
  layerMediaType,
  OCI_LAYOUT_FILE,
  parseDockerManifest,
  parseLayoutIndex,
} from "./layout.ts";
import type { LayoutFiles } from "./layout-files.ts";
import { parseImageConfig, parseManifest } from "./manifest.ts";
import { hostPlatform } from "./platform.ts";
import { formatReference, parseReference } from "./reference.ts";
import { MEDIA, type Descriptor, type ImageConfig, type ImageManifest, type Index } from "./types.ts";

const MAX_JSON_BLOB = 16 << 20;
const enc = new TextEncoder();

function readSmall(files: LayoutFiles, rel: string, what: string): Uint8Array {
  if (!files.exists(rel)) throw new UserError(`${what} (${rel}) is missing from ${files.describe}`);
  const p = files.path(rel);
  if (statSync(p).size > MAX_JSON_BLOB) throw new UserError(`${what} (${rel}) is larger than ${MAX_JSON_BLOB} bytes`);
  return new Uint8Array(readFileSync(p));
}

/** A blob of the layout, its digest checked. */
function readBlob(files: LayoutFiles, digest: string, what: string): Uint8Array {
  const bytes = readSmall(files, blobPath(digest), what);
  verifyDigest(bytes, digest, what);
  return bytes;
}

export interface PendingLayer {
  /** The blob inside the layout. */
  rel: string;
  digest: string;
  /** Known before hashing (OCI: from the manifest) or computed (docker-archive). */
  digestKnown: boolean;
  diffID: string;
}

export interface PendingImage {
  names: string[];
  manifestBytes: Uint8Array;
  manifestDigest: string;
  manifest: ImageManifest;
  configBytes: Uint8Array;
  config: ImageConfig;
  layers: PendingLayer[];
}

function checkLayers(config: ImageConfig, count: number, what: string): void {
  if (config.rootfs.diff_ids.length !== count)
    throw new UserError(`${what}: the config lists ${config.rootfs.diff_ids.length} layers, the manifest ${count}`);
}

export function ociImages(files: LayoutFiles): PendingImage[] {
  checkOciLayout(readSmall(files, OCI_LAYOUT_FILE, "the oci-layout file"));
  const index = parseLayoutIndex(readSmall(files, INDEX_FILE, "the image index"));
  const openIndex = (d: Descriptor): Index => {
    const doc = parseManifest(readBlob(files, d.digest, `index ${d.digest}`), {
      contentType: d.mediaType,
      name: d.digest,
    });
    if (doc.kind !== "index") throw new UserError(`${d.digest}: the index entry says index, the blob is a manifest`);
    return doc.index;
  };
  const choices = chooseManifests(index, hostPlatform(), openIndex);
  if (!choices.length) throw new UserError(`${files.describe}: the index lists no images`);
  return choices.map(({ manifest: d, names }) => {
    const what = names[0] ?? d.digest;
    const manifestBytes = readBlob(files, d.digest, `manifest of ${what}`);
    const doc = parseManifest(manifestBytes, { contentType: d.mediaType, name: what });
    if (doc.kind !== "manifest") throw new UserError(`${what}: expected an image manifest, found an index`);
    const manifest = doc.manifest;
    const configBytes = readBlob(files, manifest.config.digest, `config of ${what}`);
    const config = parseImageConfig(configBytes, what);
    checkLayers(config, manifest.layers.length, what);
    const layers = manifest.layers.map((l, i) => {
      parseDigest(l.digest);
      const rel = blobPath(l.digest);
      if (!files.exists(rel)) throw new UserError(`${what}: layer blob ${l.digest} is missing from ${files.describe}`);
      return { rel, digest: l.digest, digestKnown: true, diffID: config.rootfs.diff_ids[i] };
    });
    return { names, manifestBytes, manifestDigest: d.digest, manifest, configBytes, config, layers };
  });
}

/** The digest a docker-archive path promises: `<hex>.json`, `blobs/sha256/<hex>`, `<hex>/layer.tar`. */
function digestInPath(rel: string): string | undefined {
  const m = /^(?:blobs\/sha256\/)?([a-f0-9]{64})(?:\.json)?$/.exec(rel.replace(/^\.?\//, ""));
  return m ? `sha256:${m[1]}` : undefined;
}

export function dockerImages(files: LayoutFiles): PendingImage[] {
  const entries = parseDockerManifest(readSmall(files, DOCKER_MANIFEST_FILE, "manifest.json"));
  if (!entries.length) throw new UserError("manifest.json lists no images");
  return entries.map((e) => {
    const what = e.RepoTags?.[0] ?? e.Config;
    const configBytes = readSmall(files, e.Config, `config of ${what}`);
    const promised = digestInPath(e.Config);
    if (promised) verifyDigest(configBytes, promised, `config of ${what}`);
    const config = parseImageConfig(configBytes, what);
    checkLayers(config, e.Layers.length, what);
    const layers: PendingLayer[] = [];
    const descs: Descriptor[] = [];
    e.Layers.forEach((rel, i) => {
      if (!files.exists(rel)) throw new UserError(`${what}: layer ${rel} is missing from ${files.describe}`);
      const p = files.path(rel);
      const digest = fileDigest(p);
      const want = digestInPath(rel);
      if (want && /^(?:\.?\/)?blobs\//.test(rel) && want !== digest)
        throw new DigestMismatchError(want, digest, `layer ${rel}`);
      layers.push({ rel, digest, digestKnown: false, diffID: config.rootfs.diff_ids[i] });
      descs.push({ mediaType: layerMediaType(fileCompression(p)), digest, size: statSync(p).size });
    });
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: sha256Digest(configBytes), size: configBytes.byteLength },
      layers: descs,
    };
    const manifestBytes = enc.encode(JSON.stringify(manifest));
    const names = (e.RepoTags ?? []).map((t) => formatReference(parseReference(t)));
    return { names, manifestBytes, manifestDigest: sha256Digest(manifestBytes), manifest, configBytes, config, layers };
  });
}
