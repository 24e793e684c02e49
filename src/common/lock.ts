// File locks: the image store's index and per-layer downloads, container names, one container. flock(2)
// locks vanish with their process, so a killed `mini pull` never leaves a lock held, and the
// holder deletes the lock file when done, so none are left lying around either. A waiter that
// got the lock on a file deleted meanwhile notices (the path names another inode, or none) and
// tries again.
import { closeSync, fstatSync, mkdirSync, openSync, statSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { tryFlock } from "../sys/calls.ts";

function sameFile(fd: number, path: string): boolean {
  try {
    return fstatSync(fd).ino === statSync(path).ino;
  } catch {
    return false;
  }
}

/** Runs `fn` holding an exclusive lock on `path` (created if missing, removed after). */
export async function withLock<T>(path: string, fn: () => Promise<T> | T): Promise<T> {
  mkdirSync(dirname(path), { recursive: true });
  for (;;) {
    const fd = openSync(path, "a", 0o600);
    // Polled, not blocking: the event loop keeps serving this process's other downloads.
    while (!tryFlock(fd, path)) await Bun.sleep(25);
    if (!sameFile(fd, path)) {
      closeSync(fd);
      continue;
    }
    try {
      return await fn();
    } finally {
      try {
        unlinkSync(path);
      } catch {
        /* already gone */
      }
      closeSync(fd); // releases the lock
    }
  }
}
