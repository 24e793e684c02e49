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
import { writeFileAtomic } from "../common/json-file.ts";
import { withLock } from "../common/lock.ts";
import { fromNodeError } from "../sys/error.ts";
import { lockPath, storePaths, storeRoot } from "../common/paths.ts";
import { pidStartTime } from "../common/proc.ts";
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
  writeFileAtomic(storePaths.index(), JSON.stringify(index, null, 1));
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
/** A new temp path, named for its writer (pid and start time) so a sweep can tell a dead one's. */
export function tempPath(label: string): string {
  ensureStore();
  const rand = Math.random().toString(36).slice(2, 10);
  return `${storePaths.tmp()}/${label}.${process.pid}.${pidStartTime(process.pid) ?? 0}.${rand}`;
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
  try {
    writeFileSync(tmp, bytes);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw fromNodeError(e, "write", storePaths.blob(digest));
  }
  commit(tmp, storePaths.blob(digest));
}

export function getBlob(digest: string): Buffer {
  return readFileSync(storePaths.blob(digest));
}

/** Removes what killed writers left in tmp/ (their pid and start time no longer name a process). */
function cleanTemp(): void {
  let names: string[];
  try {
    names = readdirSync(storePaths.tmp());
  } catch {
    return;
  }
  for (const n of names) {
    const m = /^.+?\.(\d+)\.(\d+)\.[a-z0-9]+$/.exec(n);
    if (m && pidStartTime(Number(m[1])) === m[2]) continue; // its writer still runs
    if (!m) {
      // Not named by tempPath (the index's own temp file): only when clearly abandoned.
      try {
        if (Date.now() - statSync(`${storePaths.tmp()}/${n}`).mtimeMs < 60_000) continue;
      } catch {
        continue;
      }
    }
    rmSync(`${storePaths.tmp()}/${n}`, { recursive: true, force: true });
  }
}

/** Sweeps tmp/ under the index lock: pull, import and load call it before they write. */
export function sweepTemp(): Promise<void> {
  ensureStore();
  return withLock(lockPath("index"), cleanTemp);
}
