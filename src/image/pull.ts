// mini pull: reference → manifest (→ platform) → config → layers, each verified before use.
// Layers stream in one pass: download → hash (digest) → decompress → hash (diffID) → unpack,
// several at a time; a layer already in the store (same diffID) is not downloaded again.
import { mkdirSync, rmSync } from "node:fs";
import { downloadToFile, type BlobDownload } from "./blob-download.ts";
import { UserError } from "../common/errors.ts";
import * as log from "../log.ts";
import { findCredentials } from "./auth.ts";
import { parseDigest, sha256Hex } from "./digest.ts";
import { parseImageConfig, parseManifest, selectPlatform } from "./manifest.ts";
import { formatPlatform, hostPlatform, platformMatches } from "./platform.ts";
import { formatReference, parseReference } from "./reference.ts";
import { RegistryClient } from "./registry.ts";
import { commit, hasLayer, putBlob, readIndex, sweepTemp, tempPath, updateIndex, type ImageRecord } from "./store.ts";
import type { Descriptor, ImageConfig, ImageManifest, Platform, Reference } from "./types.ts";
import { unpackLayer, type UnpackResult } from "./unpack.ts";
import { withLock } from "../common/lock.ts";
import type { Progress } from "./progress.ts";
import { lockPath, storePaths } from "../common/paths.ts";
import { normalJit } from "../common/jit.ts";

export interface PullOptions {
  platform?: Platform;
  insecure?: boolean;
  progress?: Progress;
  /** Layers fetched at once. */
  parallel?: number;
}

/** Finds an image in the store by reference or id prefix; undefined if absent. */
export function findImage(nameOrId: string): ImageRecord | undefined {
  const index = readIndex();
  const idLike = nameOrId.replace(/^sha256:/, "");
  if (/^[0-9a-f]{6,64}$/.test(idLike)) {
    const hits = Object.keys(index.images).filter((id) => id.slice(7).startsWith(idLike));
    if (hits.length === 1) return index.images[hits[0]];
  }
  let ref: Reference;
  try {
    ref = parseReference(nameOrId);
  } catch {
    return undefined;
  }
  const id = index.tags[formatReference(ref)];
  return id ? index.images[id] : undefined;
}

export async function pull(name: string, opts: PullOptions = {}): Promise<ImageRecord> {
  normalJit();
  await sweepTemp();
  const ref = parseReference(name);
  const full = formatReference(ref);
  const want = opts.platform ?? hostPlatform();
  const client = new RegistryClient(ref.registry, {
    insecure: opts.insecure,
    credentials: findCredentials(ref.registry),
  });
  const p = opts.progress;
  p?.line(`pulling ${full}`);

  let m = await client.getManifest(ref.repository, ref.digest ?? ref.tag ?? "latest");
  let doc = parseManifest(m.bytes, m.mediaType);
  const repoDigest = `${ref.registry}/${ref.repository}@${m.digest}`;
  if (doc.kind === "index") {
    const d = selectPlatform(doc.index, want);
    m = await client.getManifest(ref.repository, d.digest);
    doc = parseManifest(m.bytes, m.mediaType);
    if (doc.kind === "index") throw new UserError(`${full}: an index inside an index is not supported`);
  }
  const manifest: ImageManifest = doc.manifest;
  putBlob(m.digest, m.bytes);

  const configBytes = await client.getBlobBytes(ref.repository, manifest.config.digest);
  const config: ImageConfig = parseImageConfig(configBytes);
  if (!platformMatches(want, { os: config.os, architecture: config.architecture, variant: config.variant })) {
    throw new UserError(
      `${full} is for ${formatPlatform({ os: config.os, architecture: config.architecture, variant: config.variant })}, not ${formatPlatform(want)} (use --platform)`,
    );
  }
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw new UserError(
      `${full}: the config lists ${config.rootfs.diff_ids.length} layers, the manifest ${manifest.layers.length}`,
    );
  }
  putBlob(manifest.config.digest, configBytes);

  await fetchLayers(client, ref, manifest.layers, config.rootfs.diff_ids, opts.parallel ?? 3, p);

  const record: ImageRecord = {
    id: manifest.config.digest,
    manifestDigest: m.digest,
    repoTags: ref.tag ? [full] : [],
    repoDigests: [repoDigest],
    platform: { os: config.os, architecture: config.architecture, ...(config.variant && { variant: config.variant }) },
    created: config.created,
    size: manifest.layers.reduce((n, l) => n + l.size, 0),
    layers: config.rootfs.diff_ids,
    config,
    pulledAt: new Date().toISOString(),
  };
  await addImage(record);
  p?.line(`${ref.tag ? full : repoDigest}: ${record.id.slice(7, 19)}`);
  return record;
}

/** Records an image and points its tags at it (a tag moves from any older image). */
export function addImage(record: ImageRecord): Promise<void> {
  return updateIndex((index) => {
    const old = index.images[record.id];
    if (old) {
      record.repoTags = [...new Set([...old.repoTags, ...record.repoTags])];
      record.repoDigests = [...new Set([...old.repoDigests, ...record.repoDigests])];
    }
    for (const t of record.repoTags) {
      const prev = index.tags[t];
      if (prev && prev !== record.id && index.images[prev])
        index.images[prev].repoTags = index.images[prev].repoTags.filter((x) => x !== t);
      index.tags[t] = record.id;
    }
    index.images[record.id] = record;
  });
}

async function fetchLayers(
  client: RegistryClient,
  ref: Reference,
  layers: Descriptor[],
  diffIDs: string[],
  parallel: number,
  p?: Progress,
): Promise<void> {
  const todo = layers
    .map((d, i) => ({ d, diffID: diffIDs[i] }))
    .filter((l, i, all) => !hasLayer(l.diffID) && all.findIndex((x) => x.diffID === l.diffID) === i);
  for (const l of layers) if (hasLayer(diffIDs[layers.indexOf(l)])) p?.layerDone(l.digest, l.size, true);
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < todo.length && failed === undefined) {
      const { d, diffID } = todo[next++];
      try {
        await withLock(lockPath(`layer-${diffID.slice(7)}`), async () => {
          if (hasLayer(diffID)) {
            p?.layerDone(d.digest, d.size, true);
            return;
          }
          await fetchLayerWithRetries(client, ref, d, diffID, p);
        });
      } catch (e) {
        failed ??= e;
      }
    }
  };
  // Every worker finishes (and cleans up its temp files) before the first error is reported.
  await Promise.all(Array.from({ length: Math.min(parallel, todo.length) }, worker));
  if (failed !== undefined) throw failed;
}

const LAYER_ATTEMPTS = 4;

class TruncatedDownload extends Error {}

/**
 * A download cut mid-layer (TruncatedDownload: the connection dropped, or the body ended short)
 * is retried as a whole layer (its temp files are gone by then). Everything else is final:
 * content errors (digest mismatch, a hostile entry, a corrupt archive), local ones (ENOSPC), and
 * the registry client's, which has done its own retries.
 */
async function fetchLayerWithRetries(
  client: RegistryClient,
  ref: Reference,
  d: Descriptor,
  diffID: string,
  p?: Progress,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetchLayer(client, ref, d, diffID, p);
    } catch (e) {
      if (!(e instanceof TruncatedDownload)) throw e;
      if (attempt >= LAYER_ATTEMPTS)
        throw new UserError(`layer ${d.digest}: download failed ${attempt} times: ${(e as Error).message}`);
      log.debug(`layer ${d.digest.slice(0, 19)}: ${(e as Error).message}; retrying (${attempt}/${LAYER_ATTEMPTS - 1})`);
      await Bun.sleep(100 * 2 ** (attempt - 1));
    }
  }
}

async function fetchLayer(
  client: RegistryClient,
  ref: Reference,
  d: Descriptor,
  diffID: string,
  p?: Progress,
): Promise<void> {
  parseDigest(d.digest);
  const started = performance.now();
  const dir = tempPath(`layer-${diffID.slice(7, 19)}`);
  const blobTmp = tempPath(`blob-${d.digest.slice(7, 19)}`);
  mkdirSync(dir, { mode: 0o755 });
  const abort = new AbortController();
  let blob: BlobDownload | undefined;
  try {
    const res = await client.getBlob(ref.repository, d.digest, abort.signal);
    if (!res.body) throw new UserError(`layer ${d.digest}: empty response`);
    // The compressed blob goes to its temp file (kept for mini save) and is unpacked from there
    // as it arrives: see blob-download.ts.
    try {
      blob = downloadToFile(res, blobTmp, abort, d.size, `layer ${d.digest}`);
    } catch (e) {
      await res.body.cancel().catch(() => {});
      throw e;
    }
    let seen = 0;
    const onInput = (chunk: Uint8Array) => {
      seen += chunk.byteLength;
      p?.layerProgress(d.digest, seen, d.size);
    };
    let result: UnpackResult | undefined;
    let error: unknown;
    try {
      result = await unpackLayer(blob, dir, { onInput });
    } catch (e) {
      error = e;
    }
    // Whatever the unpack said, and even when it said nothing (a tar's end marker is optional), a
    // download that failed or ended short is worth another try. One still running or whole means
    // the content itself is bad (or the disk is): final.
    const cut = blob.cutShort();
    await blob.close();
    if (cut) throw new TruncatedDownload(`${cut} (after ${seen} of ${d.size} bytes read)`);
    if (!result) throw error;
    if (result.digest && result.digest !== d.digest)
      throw new UserError(`layer ${d.digest}: digest mismatch (got ${result.digest}); nothing stored`);
    if (result.diffID !== diffID)
      throw new UserError(
        `layer ${d.digest}: diffID mismatch (expected ${diffID}, got ${result.diffID}); nothing stored`,
      );
    commit(blobTmp, storePaths.blob(d.digest));
    commit(dir, storePaths.layer(diffID));
    log.debug(`layer ${d.digest.slice(0, 19)} unpacked`, performance.now() - started);
    p?.layerDone(d.digest, d.size, false);
  } finally {
    await blob?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(blobTmp, { force: true });
  }
}

export { sha256Hex };
