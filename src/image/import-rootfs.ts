// mini import: a root filesystem tar (plain, gzip or zstd; docker import) → a one-layer image.
// Nothing is stored until the layer is unpacked and hashed: it goes to a temp dir in the store and
// is renamed into place at the end.
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { UserError } from "../common/errors.ts";
import { applyChange } from "./change-instructions.ts";
import { sha256Digest } from "./digest.ts";
import { layerMediaType } from "./layout.ts";
import { withLock } from "../common/lock.ts";
import { hostPlatform } from "./platform.ts";
import { addImage } from "./pull.ts";
import { formatReference, parseReference } from "./reference.ts";
import { commit, hasBlob, hasLayer, putBlob, sweepTemp, tempPath, type ImageRecord } from "./store.ts";
import { MEDIA, type ImageConfig, type ImageManifest } from "./types.ts";
import { unpackLayer } from "./unpack.ts";
import { lockPath, storePaths } from "../common/paths.ts";
import { normalJit } from "../common/jit.ts";

export const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const enc = new TextEncoder();

export interface ImportOptions {
  /** NAME[:TAG]; none gives an untagged image. */
  name?: string;
  /** Dockerfile instructions (`CMD ["sh"]`, `ENV K=V`, …) applied to the config. */
  changes?: string[];
  /** History comment. */
  message?: string;
}

/** The image config of an imported root filesystem. */
export function importConfig(diffID: string, changes: string[], message?: string, now = new Date()): ImageConfig {
  const created = now.toISOString();
  const cfg: NonNullable<ImageConfig["config"]> = { Env: [DEFAULT_PATH] };
  for (const c of changes) applyChange(cfg, c);
  const { architecture, variant } = hostPlatform();
  return {
    created,
    architecture,
    ...(variant && { variant }),
    os: "linux",
    config: cfg,
    rootfs: { type: "layers", diff_ids: [diffID] },
    history: [{ created, created_by: "mini import", ...(message && { comment: message }) }],
  };
}

/** A root filesystem tar (plain, gzip or zstd) → a one-layer image in the store. */
export async function importRootfs(input: ReadableStream<Uint8Array>, opts: ImportOptions = {}): Promise<ImageRecord> {
  normalJit();
  const repoTags = opts.name ? [formatReference(parseReference(opts.name))] : [];
  if (opts.name && parseReference(opts.name).digest)
    throw new UserError(`mini import: NAME can't have a digest (${opts.name})`);
  const changes = opts.changes ?? [];
  importConfig(`sha256:${"0".repeat(64)}`, changes); // bad --change values fail before any work
  await sweepTemp();
  const dir = tempPath("import-layer");
  const blobTmp = tempPath("import-blob");
  mkdirSync(dir, { mode: 0o755 });
  const fd = openSync(blobTmp, "w", 0o644);
  let fdOpen = true;
  try {
    // The blob is kept as given (compressed or not) while it is unpacked.
    const tee = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        for (let off = 0; off < chunk.byteLength; ) off += writeSync(fd, chunk, off, chunk.byteLength - off);
        ctl.enqueue(chunk);
      },
    });
    const r = await unpackLayer(input.pipeThrough(tee), dir).catch((e) => {
      throw e instanceof UserError && /^(tar|gzip|zstd)/.test(e.message)
        ? new UserError(`mini import: not a valid root filesystem archive: ${e.message}`)
        : e;
    });
    closeSync(fd);
    fdOpen = false;
    if (r.entries === 0) throw new UserError("mini import: the archive is empty (not a tar?)");

    const config = importConfig(r.diffID, changes, opts.message);
    const configBytes = enc.encode(JSON.stringify(config));
    const configDigest = sha256Digest(configBytes);
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: configDigest, size: configBytes.byteLength },
      layers: [{ mediaType: layerMediaType(r.compression), digest: r.digest, size: r.size }],
    };
    const manifestBytes = enc.encode(JSON.stringify(manifest));
    const manifestDigest = sha256Digest(manifestBytes);

    if (hasBlob(r.digest)) rmSync(blobTmp, { force: true });
    else commit(blobTmp, storePaths.blob(r.digest));
    await withLock(lockPath(`layer-${r.diffID.slice(7)}`), () => {
      if (!hasLayer(r.diffID)) commit(dir, storePaths.layer(r.diffID));
    });
    putBlob(configDigest, configBytes);
    putBlob(manifestDigest, manifestBytes);
    const record: ImageRecord = {
      id: configDigest,
      manifestDigest,
      repoTags,
      repoDigests: [],
      platform: {
        os: config.os,
        architecture: config.architecture,
        ...(config.variant && { variant: config.variant }),
      },
      created: config.created,
      size: r.size,
      layers: [r.diffID],
      config,
      pulledAt: new Date().toISOString(),
    };
    await addImage(record);
    return record;
  } finally {
    if (fdOpen) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
    rmSync(blobTmp, { force: true });
  }
}
