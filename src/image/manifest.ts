// Manifest documents: media-type detection, parsing with validation (OCI index, Docker manifest
// list, OCI manifest, Docker schema2 manifest, image config) and platform selection in an index.
// Docker schema 1 is refused. Malformed documents give a UserError naming the field.
import { UserError } from "../common/errors.ts";
import { debug } from "../log.ts";
import { parseDigest } from "./digest.ts";
import { formatPlatform, platformMatches, platformMatchesExactly } from "./platform.ts";
import { MEDIA } from "./types.ts";
import type { Descriptor, ImageConfig, ImageManifest, Index, Platform } from "./types.ts";

/** The Accept header for manifest requests, most specific first (schema 1 deliberately absent). */
export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.dockerManifest].join(", ");

const INDEX_TYPES: ReadonlySet<string> = new Set([MEDIA.ociIndex, MEDIA.dockerList]);
const MANIFEST_TYPES: ReadonlySet<string> = new Set([MEDIA.ociManifest, MEDIA.dockerManifest]);
const SCHEMA1_TYPES: ReadonlySet<string> = new Set([MEDIA.dockerSchema1, MEDIA.dockerSchema1Signed]);

export type ParsedManifest =
  | { kind: "index"; mediaType: string; index: Index }
  | { kind: "manifest"; mediaType: string; manifest: ImageManifest };

export const isIndexMediaType = (mt: string): boolean => INDEX_TYPES.has(mt);
/** `application/json; charset=utf-8` → `application/json`. */
function stripMediaTypeParams(contentType: string | null | undefined): string {
  return (contentType ?? "").split(";")[0].trim().toLowerCase();
}

type Json = Record<string, unknown>;

/** Validation failures carry the document name and the field's JSON path. */
class Checker {
  constructor(private readonly what: string) {}

  fail(field: string, why: string): UserError {
    return new UserError(`invalid ${this.what}: field "${field}" ${why}`);
  }

  object(v: unknown, field: string): Json {
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw this.fail(field, "must be an object");
    return v as Json;
  }

  array(v: unknown, field: string): unknown[] {
    if (!Array.isArray(v)) throw this.fail(field, "must be an array");
    return v;
  }

  string(v: unknown, field: string): string {
    if (typeof v !== "string") throw this.fail(field, "must be a string");
    return v;
  }

  optString(v: unknown, field: string): void {
    if (v !== undefined) this.string(v, field);
  }

  stringArray(v: unknown, field: string): string[] {
    this.array(v, field).forEach((x, i) => {
      this.string(x, `${field}[${i}]`);
    });
    return v as string[];
  }

  digest(v: unknown, field: string): string {
    const s = this.string(v, field);
    try {
      parseDigest(s);
    } catch (e) {
      throw this.fail(field, `is not usable: ${(e as Error).message}`);
    }
    return s;
  }

  stringMap(v: unknown, field: string): void {
    const o = this.object(v, field);
    for (const [k, x] of Object.entries(o)) this.string(x, `${field}.${k}`);
  }

  platform(v: unknown, field: string): void {
    const p = this.object(v, field);
    this.string(p.os, `${field}.os`);
    this.string(p.architecture, `${field}.architecture`);
    this.optString(p.variant, `${field}.variant`);
  }

  descriptor(v: unknown, field: string): Descriptor {
    const d = this.object(v, field);
    this.string(d.mediaType, `${field}.mediaType`);
    this.digest(d.digest, `${field}.digest`);
    if (typeof d.size !== "number" || !Number.isSafeInteger(d.size) || d.size < 0) {
      throw this.fail(`${field}.size`, "must be a non-negative integer");
    }
    if (d.urls !== undefined) this.stringArray(d.urls, `${field}.urls`);
    if (d.annotations !== undefined) this.stringMap(d.annotations, `${field}.annotations`);
    if (d.platform !== undefined) this.platform(d.platform, `${field}.platform`);
    return d as unknown as Descriptor;
  }
}

function schema1Error(name: string): UserError {
  return new UserError(
    `${name} uses Docker schema 1 manifests, which mini does not support; re-push the image with a current docker/skopeo`,
  );
}

function parseJson(bytes: Uint8Array, what: string): Json {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new UserError(`invalid ${what}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc))
    throw new UserError(`invalid ${what}: not a JSON object`);
  return doc as Json;
}

function detect(doc: Json, contentType: string | undefined, name: string): string {
  const header = stripMediaTypeParams(contentType);
  const own = typeof doc.mediaType === "string" ? doc.mediaType : undefined;
  if (doc.schemaVersion === 1 || SCHEMA1_TYPES.has(header) || (own && SCHEMA1_TYPES.has(own))) throw schema1Error(name);
  if (own) {
    if (header && header !== own && (INDEX_TYPES.has(header) || MANIFEST_TYPES.has(header))) {
      debug(`${name}: Content-Type ${header} differs from the document's mediaType ${own}; using the document's`);
    }
    return own;
  }
  if (INDEX_TYPES.has(header) || MANIFEST_TYPES.has(header)) return header;
  // OCI allows mediaType to be absent; guess from the shape, as containers/image does.
  if (Array.isArray(doc.manifests)) return MEDIA.ociIndex;
  if (doc.config !== undefined && Array.isArray(doc.layers)) return MEDIA.ociManifest;
  throw new UserError(`invalid manifest for ${name}: cannot tell its media type (Content-Type "${header || "none"}")`);
}

/** The media type of a manifest document: its own mediaType field, else Content-Type, else its shape. */
export function manifestMediaType(bytes: Uint8Array, contentType?: string, name = "image"): string {
  return detect(parseJson(bytes, `manifest for ${name}`), contentType, name);
}

/**
 * Parses and validates a manifest or index. `contentType` (or `opts` as a string) is the response's
 * Content-Type header or getManifest's mediaType; `name` (the reference) goes into error messages.
 */
export function parseManifest(
  bytes: Uint8Array,
  opts: string | { contentType?: string; name?: string } = {},
): ParsedManifest {
  if (typeof opts === "string") opts = { contentType: opts };
  const name = opts.name ?? "image";
  const doc = parseJson(bytes, `manifest for ${name}`);
  const mediaType = detect(doc, opts.contentType, name);
  const isIndex = INDEX_TYPES.has(mediaType);
  if (!isIndex && !MANIFEST_TYPES.has(mediaType)) {
    throw new UserError(`${name}: unsupported manifest media type "${mediaType}"`);
  }
  const c = new Checker(`${isIndex ? "image index" : "image manifest"} for ${name}`);
  if (doc.schemaVersion !== 2) throw c.fail("schemaVersion", `must be 2 (got ${JSON.stringify(doc.schemaVersion)})`);
  if (isIndex) {
    c.array(doc.manifests, "manifests").forEach((d, i) => {
      c.descriptor(d, `manifests[${i}]`);
    });
    return { kind: "index", mediaType, index: doc as unknown as Index };
  }
  c.descriptor(doc.config, "config");
  c.array(doc.layers, "layers").forEach((d, i) => {
    c.descriptor(d, `layers[${i}]`);
  });
  return { kind: "manifest", mediaType, manifest: doc as unknown as ImageManifest };
}

const CONFIG_STRINGS = ["User", "WorkingDir", "StopSignal"] as const;
const CONFIG_MAPS = ["Labels", "ExposedPorts", "Volumes"] as const;

/** Parses and validates an image config blob (OCI or Docker; the same JSON shape). */
export function parseImageConfig(bytes: Uint8Array, name = "image"): ImageConfig {
  const what = `image config for ${name}`;
  const doc = parseJson(bytes, what);
  const c = new Checker(what);
  c.string(doc.architecture, "architecture");
  c.string(doc.os, "os");
  c.optString(doc.variant, "variant");
  c.optString(doc.created, "created");
  const rootfs = c.object(doc.rootfs, "rootfs");
  if (rootfs.type !== "layers") throw c.fail("rootfs.type", `must be "layers"`);
  c.array(rootfs.diff_ids, "rootfs.diff_ids").forEach((d, i) => {
    c.digest(d, `rootfs.diff_ids[${i}]`);
  });
  if (doc.config === null) delete doc.config;
  if (doc.config !== undefined) {
    const cfg = c.object(doc.config, "config");
    // Docker writes null for empty fields; treat null as absent.
    for (const k of Object.keys(cfg)) if (cfg[k] === null && k !== "Entrypoint" && k !== "Cmd") delete cfg[k];
    for (const k of CONFIG_STRINGS) c.optString(cfg[k], `config.${k}`);
    if (cfg.Env !== undefined) c.stringArray(cfg.Env, "config.Env");
    for (const k of ["Entrypoint", "Cmd"] as const) {
      if (cfg[k] !== undefined && cfg[k] !== null) c.stringArray(cfg[k], `config.${k}`);
    }
    if (cfg.Labels !== undefined) c.stringMap(cfg.Labels, "config.Labels");
    for (const k of CONFIG_MAPS) if (cfg[k] !== undefined) c.object(cfg[k], `config.${k}`);
  }
  if (doc.history !== undefined && doc.history !== null) c.array(doc.history, "history");
  return doc as unknown as ImageConfig;
}

function isAttestation(d: Descriptor): boolean {
  return d.annotations?.["vnd.docker.reference.type"] === "attestation-manifest" || d.platform?.os === "unknown";
}

/**
 * The index entry for `want`: an exact variant match first, then a compatible one. An error lists
 * the platforms the index offers (docker's wording).
 */
export function selectPlatform(index: Index, want: Platform, name?: string): Descriptor {
  const images = index.manifests.filter((d) => !isAttestation(d) && !INDEX_TYPES.has(d.mediaType));
  const withPlatform = images.filter((d) => d.platform);
  const found =
    withPlatform.find((d) => platformMatchesExactly(want, d.platform!)) ??
    withPlatform.find((d) => platformMatches(want, d.platform!));
  if (found) return found;
  if (withPlatform.length === 0 && images.length === 1) {
    debug(`${name ?? "index"}: its only manifest names no platform; using it for ${formatPlatform(want)}`);
    return images[0];
  }
  const available = [...new Set(withPlatform.map((d) => formatPlatform(d.platform!)))];
  const listed = available.length > 0 ? `available: ${available.join(", ")}` : "the index names no platforms";
  const prefix = name ? `${name}: ` : "";
  throw new UserError(
    `${prefix}no matching manifest for ${formatPlatform(want)} in the manifest list entries (${listed})`,
  );
}
