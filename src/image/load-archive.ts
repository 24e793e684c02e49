// mini load: an OCI layout (tar, compressed tar or directory) or a docker-archive tar (docker
// load) → its images in the store.
// Nothing is stored until everything is verified: every blob's digest, every layer's diffID
// against its config. Layers go to temp dirs in the store and are renamed into place at the end.
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { UserError } from "../common/errors.ts";
import { decompress, fileCompression } from "./decompress.ts";
import { DigestMismatchError, fileDigest } from "./digest.ts";
import { DOCKER_MANIFEST_FILE, INDEX_FILE, OCI_LAYOUT_FILE } from "./layout.ts";
import { dirFiles, extractArchive, type LayoutFiles } from "./layout-files.ts";
import { dockerImages, ociImages, type PendingLayer } from "./layout-images.ts";
import { withLock } from "../common/lock.ts";
import { addImage } from "./pull.ts";
import { commit, hasBlob, hasLayer, putBlob, sweepTemp, tempPath } from "./store.ts";
import { unpackLayer } from "./unpack.ts";
import { lockPath, storePaths } from "../common/paths.ts";
import { normalJit } from "../common/jit.ts";

/** sha256 of a layer blob's uncompressed tar. */
async function diffIdOf(path: string): Promise<string> {
  const h = new Bun.CryptoHasher("sha256");
  const { stream } = await decompress(Bun.file(path).stream());
  for await (const c of stream) h.update(c);
  return `sha256:${h.digest("hex")}`;
}

export interface LoadSource {
  /** A file (archive) or a directory (OCI layout); absent means `stream`. */
  path?: string;
  stream?: ReadableStream<Uint8Array>;
}

export interface LoadedImage {
  id: string;
  names: string[];
}

/** Loads every image of an archive or layout into the store (all verified first). */
export async function loadImages(src: LoadSource, onStep?: (msg: string) => void): Promise<LoadedImage[]> {
  normalJit();
  await sweepTemp();
  const temps: string[] = [];
  try {
    let files: LayoutFiles;
    if (src.path && statSync(src.path).isDirectory()) files = dirFiles(src.path);
    else {
      const root = tempPath("load");
      temps.push(root);
      const input = src.path ? Bun.file(src.path).stream() : src.stream;
      if (!input) throw new UserError("mini load: no input");
      files = await extractArchive(input, root).catch((e) => {
        throw e instanceof UserError && /^(tar|gzip|zstd)/.test(e.message)
          ? new UserError(`not an image archive: ${e.message}`)
          : e;
      });
    }
    const isOci = files.exists(OCI_LAYOUT_FILE) && files.exists(INDEX_FILE);
    if (!isOci && !files.exists(DOCKER_MANIFEST_FILE)) {
      throw new UserError(
        `${files.describe} is not an image archive: it has neither oci-layout + index.json nor manifest.json`,
      );
    }
    const images = isOci ? ociImages(files) : dockerImages(files);

    // 1. Every layer blob's digest (configs and manifests were checked as they were read).
    const layers = new Map<string, PendingLayer>();
    for (const img of images) for (const l of img.layers) layers.set(l.digest, l);
    for (const l of layers.values()) {
      if (!l.digestKnown) continue;
      const got = fileDigest(files.path(l.rel));
      if (got !== l.digest) throw new DigestMismatchError(l.digest, got, `layer ${l.rel}`);
    }
    // 2. Every layer's diffID: unpacked into a temp dir when new, hashed when the store has it.
    const unpacked = new Map<string, string>();
    for (const l of layers.values()) {
      if (unpacked.has(l.diffID)) continue;
      if (hasLayer(l.diffID)) {
        const got = fileCompression(files.path(l.rel)) === "none" ? l.digest : await diffIdOf(files.path(l.rel));
        if (got !== l.diffID)
          throw new UserError(
            `layer ${l.digest}: diffID mismatch (the config says ${l.diffID}, the layer is ${got}); nothing loaded`,
          );
        continue;
      }
      onStep?.(`unpacking layer ${l.digest.slice(7, 19)}`);
      const dir = tempPath(`load-layer-${l.diffID.slice(7, 19)}`);
      temps.push(dir);
      mkdirSync(dir, { mode: 0o755 });
      try {
        await unpackLayer(Bun.file(files.path(l.rel)).stream(), dir, { expectDiffID: l.diffID });
      } catch (e) {
        if (e instanceof UserError) throw new UserError(`layer ${l.digest.slice(0, 19)}: ${e.message}; nothing loaded`);
        throw e;
      }
      unpacked.set(l.diffID, dir);
    }

    // 3. Store: blobs, layers, then the images.
    for (const l of layers.values()) {
      if (hasBlob(l.digest)) continue;
      const from = files.path(l.rel);
      if (files.movable) commit(from, storePaths.blob(l.digest));
      else {
        const tmp = tempPath("load-blob");
        temps.push(tmp);
        copyFileSync(from, tmp);
        commit(tmp, storePaths.blob(l.digest));
      }
    }
    for (const [diffID, dir] of unpacked) {
      await withLock(lockPath(`layer-${diffID.slice(7)}`), () => {
        if (!hasLayer(diffID)) commit(dir, storePaths.layer(diffID));
      });
    }
    const out: LoadedImage[] = [];
    for (const img of images) {
      const id = img.manifest.config.digest;
      putBlob(id, img.configBytes);
      putBlob(img.manifestDigest, img.manifestBytes);
      const c = img.config;
      await addImage({
        id,
        manifestDigest: img.manifestDigest,
        repoTags: img.names,
        repoDigests: [],
        platform: { os: c.os, architecture: c.architecture, ...(c.variant && { variant: c.variant }) },
        created: c.created,
        size: img.manifest.layers.reduce((n, l) => n + l.size, 0),
        layers: c.rootfs.diff_ids,
        config: c,
        pulledAt: new Date().toISOString(),
      });
      out.push({ id, names: img.names });
    }
    return out;
  } finally {
    for (const t of temps) if (existsSync(t)) rmSync(t, { recursive: true, force: true });
  }
}
