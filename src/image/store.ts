// The image store, under /var/lib/mini (MINI_ROOT overrides):
//   blobs/sha256/<hex>     manifests, configs and compressed layers, content-addressed
//   layers/<hex>/          a layer unpacked once per diffID, shared by every image (overlay lowerdir)
//   images.json            the index: images by id (config digest) and tags → id
//   tmp/                   downloads and unpacks in progress; renamed into place only when verified
//   locks/                 flock files
// Writers take the lock of what they write; a half-written blob or layer is never visible.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  readdirSync,
  statSync,
} from "node:fs";
import { withLock } from "../common/lock.ts";
import { lockPath, storePaths, storeRoot } from "../common/paths.ts";
import type { ImageConfig, Platform } from "./types.ts";

export interface ImageRecord {
  /** The config digest ("sha256:…"): the image ID. */
  id: string;
  manifestDigest: string;
  /** Full references pointing at this image: "docker.io/library/busybox:latest". */
  repoTags: string[];
  repoDigests: string[];
  platform: Platform;
  created?: string;
  /** Sum of the compressed layer sizes. */
  size: number;
  /** diffIDs, base first. */
  layers: string[];
  config: ImageConfig;
  pulledAt: string;
}

export interface StoreIndex {
  images: Record<string, ImageRecord>;
  /** Full reference → image id. */
  tags: Record<string, string>;
}

/**
 * The store root is 0700: layers hold whatever images bring (setuid binaries, device nodes), and
 * no other host user may reach them.
 */
const STORE_DIRS = ["blobs/sha256", "layers", "tmp", "locks", "containers"];

export function ensureStore(): void {
  // Every directory: containers/ (and locks/) also appear when a rootfs container runs before any image is stored.
  if (STORE_DIRS.every((d) => existsSync(`${storeRoot()}/${d}`))) return;
  mkdirSync(storeRoot(), { recursive: true, mode: 0o700 });
  chmodSync(storeRoot(), 0o700);
  for (const d of STORE_DIRS) mkdirSync(`${storeRoot()}/${d}`, { recursive: true, mode: 0o700 });
}

export function readIndex(): StoreIndex {
  try {
    return JSON.parse(readFileSync(storePaths.index(), "utf8"));
  } catch {
    return { images: {}, tags: {} };
  }
}

function writeIndex(index: StoreIndex): void {
  const tmp = `${storePaths.tmp()}/images.json.${process.pid}`;
  writeFileSync(tmp, JSON.stringify(index, null, 1));
  renameSync(tmp, storePaths.index());
}

/** Read-modify-write of the index under its lock. */
export function updateIndex<T>(fn: (index: StoreIndex) => T): Promise<T> {
  ensureStore();
  return withLock(lockPath("index"), () => {
    const index = readIndex();
    const r = fn(index);
    writeIndex(index);
    return r;
  });
}

export const hasBlob = (digest: string) => existsSync(storePaths.blob(digest));
export const hasLayer = (diffID: string) => existsSync(storePaths.layer(diffID));

/** A fresh temp path inside the store (same file system as the final place: rename is atomic). */
export function tempPath(label: string): string {
  ensureStore();
  return `${storePaths.tmp()}/${label}.${process.pid}.${Math.random().toString(36).slice(2, 10)}`;
}

/** Moves a verified temp file or directory into place; if another writer won, drops ours. */
export function commit(tmp: string, final: string): void {
  try {
    renameSync(tmp, final);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EEXIST" && code !== "ENOTEMPTY") throw e;
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Writes bytes whose digest the caller verified. */
export function putBlob(digest: string, bytes: Uint8Array): void {
  if (hasBlob(digest)) return;
  const tmp = tempPath("blob");
  writeFileSync(tmp, bytes);
  commit(tmp, storePaths.blob(digest));
}

export function getBlob(digest: string): Buffer {
  return readFileSync(storePaths.blob(digest));
}

/** Removes temp files left by a killed writer (older than a minute, owner gone). */
export function cleanTemp(): void {
  let names: string[];
  try {
    names = readdirSync(storePaths.tmp());
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(n.split(".")[1]);
    if (pid && existsSync(`/proc/${pid}`)) continue;
    try {
      if (Date.now() - statSync(`${storePaths.tmp()}/${n}`).mtimeMs < 60_000 && pid === 0) continue;
    } catch {
      continue;
    }
    rmSync(`${storePaths.tmp()}/${n}`, { recursive: true, force: true });
  }
}
