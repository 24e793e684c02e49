// Reading and writing OCI image layouts by hand (blobs/sha256/*, index.json, oci-layout), for
// images umoci can't make: hostile layers, an image index, exact bytes.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const MT = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layerTar: "application/vnd.oci.image.layer.v1.tar",
  layerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  layerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
} as const;

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export const REF_NAME = "org.opencontainers.image.ref.name";

export function sha256(data: Uint8Array | string): string {
  return `sha256:${new Bun.CryptoHasher("sha256").update(data).digest("hex")}`;
}

export function initLayout(dir: string): void {
  mkdirSync(join(dir, "blobs/sha256"), { recursive: true });
  if (!existsSync(join(dir, "oci-layout")))
    writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  if (!existsSync(join(dir, "index.json")))
    writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [] }));
}

export function blobPath(dir: string, digest: string): string {
  const [alg, hex] = digest.split(":");
  return join(dir, "blobs", alg, hex);
}

/** Stores bytes (or a JSON value, serialized once) and returns its descriptor. */
export function writeBlob(dir: string, mediaType: string, content: Uint8Array | string | object): Descriptor {
  const bytes =
    content instanceof Uint8Array
      ? content
      : new TextEncoder().encode(typeof content === "string" ? content : JSON.stringify(content));
  const digest = sha256(bytes);
  writeFileSync(blobPath(dir, digest), bytes);
  return { mediaType, digest, size: bytes.length };
}

export function readBlob(dir: string, digest: string): Uint8Array {
  return new Uint8Array(readFileSync(blobPath(dir, digest)));
}

export function readJsonBlob<T = any>(dir: string, digest: string): T {
  return JSON.parse(readFileSync(blobPath(dir, digest), "utf8"));
}

export interface IndexJson {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

export function readIndex(dir: string): IndexJson {
  return JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
}

/** Points `tag` (org.opencontainers.image.ref.name) at desc in index.json, replacing an old entry. */
export function setTag(dir: string, tag: string, desc: Descriptor): void {
  const idx = readIndex(dir);
  idx.manifests = idx.manifests.filter((m) => m.annotations?.[REF_NAME] !== tag);
  idx.manifests.push({ ...desc, annotations: { ...desc.annotations, [REF_NAME]: tag } });
  writeFileSync(join(dir, "index.json"), JSON.stringify(idx));
}

export function resolveTag(dir: string, tag: string): Descriptor {
  const d = readIndex(dir).manifests.find((m) => m.annotations?.[REF_NAME] === tag);
  if (!d) throw new Error(`${dir}: no tag ${tag}`);
  const { annotations: _a, ...rest } = d;
  return rest;
}

export interface LayerInput {
  /** The uncompressed tar (its sha256 is the diff_id). */
  tar: Uint8Array;
  compression?: "gzip" | "zstd" | "none";
  /** Replace the compressed bytes (e.g. corrupt them); diff_id stays that of `tar`. */
  mangle?: (compressed: Uint8Array) => Uint8Array;
  /** Already compressed bytes for `tar` (skips compression; `mangle` still applies). */
  compressed?: { bytes: Uint8Array; mediaType: string };
}

export function compressLayer(l: LayerInput): { bytes: Uint8Array; mediaType: string } {
  if (l.compressed)
    return { bytes: l.mangle ? l.mangle(l.compressed.bytes) : l.compressed.bytes, mediaType: l.compressed.mediaType };
  const c = l.compression ?? "gzip";
  let bytes: Uint8Array;
  let mediaType: string;
  if (c === "gzip") {
    bytes = Bun.gzipSync(l.tar as Uint8Array<ArrayBuffer>, { level: 6 });
    mediaType = MT.layerGzip;
  } else if (c === "zstd") {
    bytes = Bun.zstdCompressSync(l.tar);
    mediaType = MT.layerZstd;
  } else {
    bytes = l.tar;
    mediaType = MT.layerTar;
  }
  if (l.mangle) bytes = l.mangle(bytes);
  return { bytes, mediaType };
}

/**
 * Writes layers, a config (the given one, with rootfs.diff_ids filled in) and a manifest, and
 * tags the manifest. Returns the manifest's descriptor.
 */
export function writeImage(
  dir: string,
  tag: string | undefined,
  layers: LayerInput[],
  config: Record<string, any>,
): Descriptor {
  initLayout(dir);
  const layerDescs: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const l of layers) {
    const { bytes, mediaType } = compressLayer(l);
    layerDescs.push(writeBlob(dir, mediaType, bytes));
    diffIds.push(sha256(l.tar));
  }
  const cfg = {
    architecture: "amd64",
    os: "linux",
    created: "2024-01-01T00:00:00Z",
    ...config,
    rootfs: { type: "layers", diff_ids: diffIds },
    history:
      config.history ?? layers.map((_, i) => ({ created: "2024-01-01T00:00:00Z", created_by: `mini test layer ${i}` })),
  };
  const cfgDesc = writeBlob(dir, MT.config, cfg);
  const manifest = { schemaVersion: 2, mediaType: MT.manifest, config: cfgDesc, layers: layerDescs };
  const mDesc = writeBlob(dir, MT.manifest, manifest);
  if (tag) setTag(dir, tag, mDesc);
  return mDesc;
}

/** Writes an image index over existing manifests and tags it. */
export function writeIndex(
  dir: string,
  tag: string,
  manifests: Descriptor[],
  annotations?: Record<string, string>,
): Descriptor {
  const idx: Record<string, unknown> = { schemaVersion: 2, mediaType: MT.index, manifests };
  if (annotations) idx.annotations = annotations;
  const d = writeBlob(dir, MT.index, idx);
  setTag(dir, tag, d);
  return d;
}

export interface TarEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname: string;
}

/**
 * Lists a tar's entries (ustar, GNU and PAX headers; names as written, nothing resolved). Stops
 * at the end marker or where the data runs out (a truncated or lying archive lists what's there).
 */
export function listTar(tar: Uint8Array): TarEntry[] {
  const dec = new TextDecoder();
  const str = (b: Uint8Array) => {
    const z = b.indexOf(0);
    return dec.decode(z >= 0 ? b.subarray(0, z) : b);
  };
  const num = (b: Uint8Array) => {
    if (b[0] & 0x80) {
      let v = 0;
      for (let i = 1; i < b.length; i++) v = v * 256 + b[i];
      return v;
    }
    return parseInt(str(b).trim() || "0", 8);
  };
  const out: TarEntry[] = [];
  let off = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const type = String.fromCharCode(h[156] || 0x30);
    let size = num(h.subarray(124, 136));
    const body = tar.subarray(off + 512, Math.min(tar.length, off + 512 + size));
    if (type === "x" || type === "g") {
      const text = dec.decode(body);
      let i = 0;
      const recs: Record<string, string> = {};
      while (i < text.length) {
        const sp = text.indexOf(" ", i);
        const len = parseInt(text.slice(i, sp), 10);
        if (!(len > 0)) break;
        const rec = text.slice(sp + 1, i + len - 1);
        const eq = rec.indexOf("=");
        recs[rec.slice(0, eq)] = rec.slice(eq + 1);
        i += len;
      }
      if (type === "x") pax = recs;
    } else if (type === "L") longName = str(body);
    else if (type === "K") longLink = str(body);
    else {
      const prefix = str(h.subarray(345, 500));
      let name = str(h.subarray(0, 100));
      if (prefix && dec.decode(h.subarray(257, 262)) === "ustar") name = `${prefix}/${name}`;
      if (pax.size) size = Number(pax.size);
      out.push({
        name: pax.path ?? longName ?? name,
        type,
        mode: num(h.subarray(100, 108)),
        uid: pax.uid ? Number(pax.uid) : num(h.subarray(108, 116)),
        gid: pax.gid ? Number(pax.gid) : num(h.subarray(116, 124)),
        size,
        linkname: pax.linkpath ?? longLink ?? str(h.subarray(157, 257)),
      });
      pax = {};
      longName = longLink = undefined;
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** Decompresses a layer blob by its media type (gzip, zstd or plain tar). */
export function decompressLayer(mediaType: string, blob: Uint8Array): Uint8Array {
  if (mediaType.endsWith("+gzip") || mediaType.endsWith(".tar.gzip"))
    return Bun.gunzipSync(blob as Uint8Array<ArrayBuffer>);
  if (mediaType.endsWith("+zstd")) return Bun.zstdDecompressSync(blob as Uint8Array<ArrayBuffer>);
  return blob;
}
