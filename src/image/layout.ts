// The shapes of image archives, as pure functions: an OCI image layout (`oci-layout`,
// `index.json`, `blobs/sha256/…`) and docker-archive's `manifest.json`. `mini save` writes both
// into one tar (docker load and podman read manifest.json, skopeo/containerd/umoci the layout);
// `mini load` reads either, and picks which manifests to load from an index.
//
// Names: each index entry carries the full reference in `org.opencontainers.image.ref.name` and
// `io.containerd.image.name` (what containerd and docker 25+ read). Reading, the containerd name
// wins; a ref.name is taken as an image reference, normalized like docker's (`busybox` →
// docker.io/library/busybox:latest).
import { UserError } from "../common/errors.ts";
import { debug } from "../log.ts";
import { parseDigest } from "./digest.ts";
import { isIndexMediaType, selectPlatform } from "./manifest.ts";
import { familiarName, formatReference, parseReference } from "./reference.ts";
import { MEDIA, type Descriptor, type Index, type Platform } from "./types.ts";

export const OCI_LAYOUT_FILE = "oci-layout";
export const INDEX_FILE = "index.json";
export const DOCKER_MANIFEST_FILE = "manifest.json";
export const REF_NAME = "org.opencontainers.image.ref.name";
export const CONTAINERD_NAME = "io.containerd.image.name";
export const OCI_LAYOUT = { imageLayoutVersion: "1.0.0" } as const;

/** `blobs/sha256/<hex>`: where a blob lives inside a layout. */
export function blobPath(digest: string): string {
  return `blobs/sha256/${parseDigest(digest).hex}`;
}

/** What `mini save` knows about one image it writes. */
export interface SavedImage {
  manifest: Descriptor;
  configDigest: string;
  layerDigests: string[];
  platform?: Platform;
  /** Full references ("docker.io/library/busybox:latest"); empty for an image saved by id. */
  names: string[];
}

/** index.json: one entry per name (an untagged image gets one entry without names). */
export function buildIndex(images: SavedImage[]): Index {
  const manifests: Descriptor[] = [];
  for (const img of images) {
    const base: Descriptor = {
      mediaType: img.manifest.mediaType,
      digest: img.manifest.digest,
      size: img.manifest.size,
    };
    if (img.platform) base.platform = { ...img.platform };
    if (!img.names.length) manifests.push(base);
    for (const n of img.names) manifests.push({ ...base, annotations: { [CONTAINERD_NAME]: n, [REF_NAME]: n } });
  }
  return { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests };
}

/** docker-archive's manifest.json entry. */
export interface DockerManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

/** manifest.json pointing at the layout's blobs (as docker 25+ writes it). */
export function buildDockerManifest(images: SavedImage[]): DockerManifestEntry[] {
  return images.map((img) => ({
    Config: blobPath(img.configDigest),
    RepoTags: img.names.map((n) => familiarName(parseReference(n))),
    Layers: img.layerDigests.map(blobPath),
  }));
}

function parseJson(bytes: Uint8Array | string, what: string): unknown {
  try {
    return JSON.parse(typeof bytes === "string" ? bytes : new TextDecoder().decode(bytes));
  } catch (e) {
    throw new UserError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Parses and checks an `oci-layout` file. */
export function checkOciLayout(bytes: Uint8Array | string): void {
  const doc = parseJson(bytes, OCI_LAYOUT_FILE) as { imageLayoutVersion?: unknown } | null;
  const v = doc && typeof doc === "object" ? doc.imageLayoutVersion : undefined;
  if (typeof v !== "string" || !v.startsWith("1."))
    throw new UserError(`${OCI_LAYOUT_FILE}: unsupported imageLayoutVersion ${JSON.stringify(v)}`);
}

function checkDescriptor(d: unknown, where: string): Descriptor {
  const x = d as Descriptor;
  if (
    !x ||
    typeof x !== "object" ||
    typeof x.mediaType !== "string" ||
    typeof x.digest !== "string" ||
    typeof x.size !== "number"
  ) {
    throw new UserError(`${where}: not a descriptor (mediaType, digest, size)`);
  }
  parseDigest(x.digest);
  return x;
}

/** Parses an index.json (an OCI image index). */
export function parseLayoutIndex(bytes: Uint8Array | string, what = INDEX_FILE): Index {
  const doc = parseJson(bytes, what) as { schemaVersion?: unknown; manifests?: unknown } | null;
  if (!doc || typeof doc !== "object" || doc.schemaVersion !== 2 || !Array.isArray(doc.manifests)) {
    throw new UserError(`${what}: not an image index (schemaVersion 2 with manifests)`);
  }
  doc.manifests.forEach((d, i) => {
    checkDescriptor(d, `${what}: manifests[${i}]`);
  });
  return doc as Index;
}

/** Parses docker-archive's manifest.json. */
export function parseDockerManifest(bytes: Uint8Array | string): DockerManifestEntry[] {
  const doc = parseJson(bytes, DOCKER_MANIFEST_FILE);
  const bad = (why: string) => new UserError(`${DOCKER_MANIFEST_FILE}: ${why}`);
  if (!Array.isArray(doc)) throw bad("not a list of images");
  return doc.map((e, i) => {
    if (!e || typeof e !== "object") throw bad(`entry ${i} is not an object`);
    const { Config, RepoTags, Layers } = e as Record<string, unknown>;
    if (typeof Config !== "string" || !Config) throw bad(`entry ${i} has no Config`);
    if (!Array.isArray(Layers) || Layers.some((l) => typeof l !== "string"))
      throw bad(`entry ${i}: Layers must be a list of paths`);
    if (RepoTags != null && (!Array.isArray(RepoTags) || RepoTags.some((t) => typeof t !== "string")))
      throw bad(`entry ${i}: RepoTags must be a list of names`);
    return { Config, RepoTags: (RepoTags as string[] | null | undefined) ?? null, Layers: Layers as string[] };
  });
}

/** The normalized name an index entry gives its image, if any. */
export function entryName(d: Descriptor): string | undefined {
  const a = d.annotations ?? {};
  const raw = a[CONTAINERD_NAME] || a[REF_NAME];
  if (!raw) return undefined;
  try {
    return formatReference(parseReference(raw));
  } catch {
    debug(`index entry ${d.digest}: "${raw}" is not an image reference; loading the image unnamed`);
    return undefined;
  }
}

/** One image to load: its manifest's descriptor and the names it gets. */
export interface IndexChoice {
  manifest: Descriptor;
  names: string[];
}

/**
 * The manifests to load from a layout's index: every named image, and the unnamed ones. Where
 * one name (or the unnamed entries) has several manifests (a multi-platform image), the one for
 * `want`; a nested index is resolved with `openIndex` and its platform picked the same way.
 */
export function chooseManifests(index: Index, want: Platform, openIndex: (d: Descriptor) => Index): IndexChoice[] {
  const groups = new Map<string, Descriptor[]>();
  for (const d of index.manifests) {
    const key = entryName(d) ?? "";
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  const out = new Map<string, IndexChoice>();
  for (const [name, entries] of groups) {
    const resolved = entries.map((d) => {
      if (!isIndexMediaType(d.mediaType)) return d;
      const inner = selectPlatform(openIndex(d), want, name || d.digest);
      if (isIndexMediaType(inner.mediaType))
        throw new UserError(`${name || d.digest}: an index inside an index inside the layout is not supported`);
      return inner;
    });
    const distinct = [...new Map(resolved.map((d) => [d.digest, d])).values()];
    const pick =
      distinct.length === 1
        ? distinct[0]
        : selectPlatform({ schemaVersion: 2, manifests: distinct }, want, name || "the archive's unnamed images");
    const c = out.get(pick.digest) ?? { manifest: pick, names: [] };
    if (name && !c.names.includes(name)) c.names.push(name);
    out.set(pick.digest, c);
  }
  return [...out.values()];
}

/** The layer media type for a blob of this compression. */
export function layerMediaType(compression: "gzip" | "zstd" | "none"): string {
  return compression === "gzip" ? MEDIA.ociLayerGzip : compression === "zstd" ? MEDIA.ociLayerZstd : MEDIA.ociLayer;
}
