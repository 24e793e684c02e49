// Bringing images into the store from files rather than a registry:
//   importRootfs  a root filesystem tar (docker import) → a one-layer image
//   loadImages    an OCI layout (tar, compressed tar or directory) or a docker-archive tar
//                 (docker load) → its images
// Nothing is stored until everything is verified: every blob's digest, every layer's diffID
// against its config. Layers go to temp dirs in the store and are renamed into place at the end.
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { UserError } from "../common/errors.ts";
import { decompress, detectCompression, type Compression } from "./decompress.ts";
import { DigestMismatchError, fileChunks, parseDigest, sha256Digest, verifyDigest } from "./digest.ts";
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
import { withLock } from "../common/lock.ts";
import { parseImageConfig, parseManifest } from "./manifest.ts";
import { hostPlatform } from "./platform.ts";
import { addImage } from "./pull.ts";
import { formatReference, parseReference } from "./reference.ts";
import { commit, ensureStore, hasBlob, hasLayer, putBlob, tempPath, type ImageRecord } from "./store.ts";
import { readTar } from "./tar.ts";
import { MEDIA, type Descriptor, type ImageConfig, type ImageManifest, type Index } from "./types.ts";
import { normalizeEntryPath, unpackLayer } from "./unpack.ts";
import { lockPath, storePaths } from "../common/paths.ts";

export const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const MAX_JSON_BLOB = 16 << 20;
const enc = new TextEncoder();

// ---- docker import --------------------------------------------------------------------------

export interface ImportOptions {
  /** NAME[:TAG]; none gives an untagged image. */
  name?: string;
  /** Dockerfile instructions (`CMD ["sh"]`, `ENV K=V`, …) applied to the config. */
  changes?: string[];
  /** History comment. */
  message?: string;
}

/** Splits an instruction's arguments on blanks, honouring "double" and 'single' quotes and backslashes. */
function words(s: string): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  let quote = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = "";
      else if (c === "\\" && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (/\s/.test(c)) {
      if (cur !== undefined) out.push(cur);
      cur = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
      cur ??= "";
    } else if (c === "\\" && i + 1 < s.length) cur = (cur ?? "") + s[++i];
    else cur = (cur ?? "") + c;
  }
  if (quote) throw new UserError(`--change: unterminated ${quote} in ${s}`);
  if (cur !== undefined) out.push(cur);
  return out;
}

/** `["a","b"]` (exec form) or `a b` (shell form → /bin/sh -c). */
function commandForm(rest: string, what: string): string[] {
  if (rest.startsWith("[")) {
    let v: unknown;
    try {
      v = JSON.parse(rest);
    } catch {
      throw new UserError(`--change ${what}: invalid JSON array ${rest}`);
    }
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
      throw new UserError(`--change ${what}: expected a JSON array of strings`);
    return v as string[];
  }
  return ["/bin/sh", "-c", rest];
}

/** `K=V K2="v 2"` or the old `K V` form → pairs. */
function pairs(rest: string, what: string): [string, string][] {
  const ws = words(rest);
  if (ws.length && !ws[0].includes("=")) {
    const sp = rest.search(/\s/);
    if (sp < 0) throw new UserError(`--change ${what} needs KEY=VALUE`);
    return [[rest.slice(0, sp), rest.slice(sp).trim()]];
  }
  return ws.map((w) => {
    const eq = w.indexOf("=");
    if (eq <= 0) throw new UserError(`--change ${what}: "${w}" is not KEY=VALUE`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

/** Applies one Dockerfile instruction, as `docker import --change` does. */
export function applyChange(config: NonNullable<ImageConfig["config"]>, change: string): void {
  const m = /^\s*([A-Za-z]+)\s*(.*?)\s*$/s.exec(change);
  if (!m) throw new UserError(`--change "${change}": expected a Dockerfile instruction such as CMD ["sh"]`);
  const op = m[1].toUpperCase();
  const rest = m[2];
  const need = () => {
    if (!rest) throw new UserError(`--change ${op} needs an argument`);
  };
  switch (op) {
    case "CMD":
      need();
      config.Cmd = commandForm(rest, op);
      return;
    case "ENTRYPOINT":
      need();
      config.Entrypoint = commandForm(rest, op);
      return;
    case "ENV": {
      need();
      const env = config.Env ?? [];
      for (const [k, v] of pairs(rest, op)) {
        const i = env.findIndex((e) => e.split("=")[0] === k);
        if (i >= 0) env[i] = `${k}=${v}`;
        else env.push(`${k}=${v}`);
      }
      config.Env = env;
      return;
    }
    case "LABEL":
      need();
      config.Labels = { ...config.Labels, ...Object.fromEntries(pairs(rest, op)) };
      return;
    case "WORKDIR":
      need();
      config.WorkingDir = rest;
      return;
    case "USER":
      need();
      config.User = rest;
      return;
    case "STOPSIGNAL":
      need();
      config.StopSignal = rest;
      return;
    case "EXPOSE": {
      need();
      const ports = { ...config.ExposedPorts };
      for (const p of words(rest)) ports[p.includes("/") ? p : `${p}/tcp`] = {};
      config.ExposedPorts = ports;
      return;
    }
    case "VOLUME": {
      need();
      const vols = { ...config.Volumes };
      for (const v of rest.startsWith("[") ? commandForm(rest, op) : words(rest)) vols[v] = {};
      config.Volumes = vols;
      return;
    }
    default:
      throw new UserError(
        `--change: unsupported instruction ${op} (CMD, ENTRYPOINT, ENV, LABEL, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL)`,
      );
  }
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
  const repoTags = opts.name ? [formatReference(parseReference(opts.name))] : [];
  if (opts.name && parseReference(opts.name).digest)
    throw new UserError(`mini import: NAME can't have a digest (${opts.name})`);
  const changes = opts.changes ?? [];
  importConfig(`sha256:${"0".repeat(64)}`, changes); // bad --change values fail before any work
  ensureStore();
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

// ---- docker load ------------------------------------------------------------------------------

/** Files of a layout: a directory on disk, or an archive extracted into the store's tmp. */
interface LayoutFiles {
  /** Absolute path of the file at `rel` inside the layout (links inside an archive followed). */
  path(rel: string): string;
  exists(rel: string): boolean;
  /** True when its files may be moved into the store (they are our own temp copies). */
  movable: boolean;
  describe: string;
}

function dirFiles(root: string): LayoutFiles {
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
async function extract(input: ReadableStream<Uint8Array>, root: string): Promise<LayoutFiles> {
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

/** sha256 of a file, streamed. */
function fileDigest(path: string): string {
  const h = new Bun.CryptoHasher("sha256");
  for (const c of fileChunks(path)) h.update(c);
  return `sha256:${h.digest("hex")}`;
}

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

interface PendingLayer {
  /** The blob inside the layout. */
  rel: string;
  digest: string;
  /** Known before hashing (OCI: from the manifest) or computed (docker-archive). */
  digestKnown: boolean;
  diffID: string;
}

interface PendingImage {
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

function ociImages(files: LayoutFiles): PendingImage[] {
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

function headCompression(path: string): Compression {
  const fd = openSync(path, "r");
  try {
    const b = new Uint8Array(4);
    return detectCompression(b.subarray(0, readSync(fd, b, 0, 4, 0)));
  } finally {
    closeSync(fd);
  }
}

function dockerImages(files: LayoutFiles): PendingImage[] {
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
      descs.push({ mediaType: layerMediaType(headCompression(p)), digest, size: statSync(p).size });
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
  ensureStore();
  const temps: string[] = [];
  try {
    let files: LayoutFiles;
    if (src.path && statSync(src.path).isDirectory()) files = dirFiles(src.path);
    else {
      const root = tempPath("load");
      temps.push(root);
      const input = src.path ? Bun.file(src.path).stream() : src.stream;
      if (!input) throw new UserError("mini load: no input");
      files = await extract(input, root).catch((e) => {
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
        const got = headCompression(files.path(l.rel)) === "none" ? l.digest : await diffIdOf(files.path(l.rel));
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
