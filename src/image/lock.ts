// File locks for the image store: whole-store index updates and per-blob downloads. flock(2)
// locks vanish with their process, so a killed `mini pull` never leaves a lock behind.
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { tryFlock } from "../sys/calls.ts";

/** Runs `fn` holding an exclusive lock on `path` (created if missing). */
export async function withLock<T>(path: string, fn: () => Promise<T> | T): Promise<T> {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, "a", 0o600);
  try {
    // Polled, not blocking: the event loop keeps serving this process's other downloads.
    while (!tryFlock(fd, path)) await Bun.sleep(25);
    return await fn();
  } finally {
    closeSync(fd); // releases the lock
  }
}
