// Files mini writes whole or not at all (temp + rename), and reads back as JSON. A failed write
// (ENOSPC, EROFS, EDQUOT) names the file it was for.
import { chmodSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { fromNodeError } from "../sys/error.ts";

/** Writes `data` to `path` atomically: a reader sees the old file or the new one, never a part. */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data, { mode });
    chmodSync(tmp, mode);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw fromNodeError(e, "write", path);
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 1)}\n`);
}

/** The JSON in `path`, or undefined when there is none (or it is not JSON). */
export function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}
