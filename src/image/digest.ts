// sha256 digests: parsing, hashing (whole buffers, streams and files) and verification. Only sha256
// is supported: it is what every registry and the OCI spec's "registered" algorithms use in practice.
import { closeSync, openSync, readSync } from "node:fs";
import { UserError } from "../common/errors.ts";

const SHA256_RE = /^sha256:[a-f0-9]{64}$/;
const ANY_DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export interface ParsedDigest {
  algorithm: "sha256";
  hex: string;
}

/** A blob or manifest whose content doesn't hash to the digest it was asked for by. */
export class DigestMismatchError extends UserError {
  readonly expected: string;
  readonly actual: string;
  constructor(expected: string, actual: string, what = "content") {
    super(`digest mismatch for ${what}: expected ${expected}, got ${actual}`);
    this.name = "DigestMismatchError";
    this.expected = expected;
    this.actual = actual;
  }
}

/** Checks `s` is `sha256:<64 lowercase hex>`; other algorithms get a clear "not supported" error. */
export function parseDigest(s: string): ParsedDigest {
  if (SHA256_RE.test(s)) return { algorithm: "sha256", hex: s.slice(7) };
  const colon = s.indexOf(":");
  if (colon > 0 && ANY_DIGEST_RE.test(s)) {
    const algorithm = s.slice(0, colon);
    if (algorithm !== "sha256")
      throw new UserError(`unsupported digest algorithm "${algorithm}" in "${s}": mini supports sha256 only`);
    throw new UserError(`invalid digest "${s}": sha256 needs 64 lowercase hex characters`);
  }
  throw new UserError(`invalid digest "${s}": expected sha256:<64 hex characters>`);
}

/** True when `s` is a well-formed sha256 digest (no throwing). */
export function isDigest(s: string): boolean {
  return SHA256_RE.test(s);
}

/** Lowercase hex sha256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array | ArrayBuffer | string): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}

/** "sha256:<hex>" of `bytes`. */
export function sha256Digest(bytes: Uint8Array | ArrayBuffer | string): string {
  return `sha256:${sha256Hex(bytes)}`;
}

/** Incremental sha256 that also counts bytes: feed chunks, then ask for the digest once. */
export class Sha256Hasher {
  private readonly hasher = new Bun.CryptoHasher("sha256");
  private done: string | undefined;
  size = 0;

  update(chunk: Uint8Array): this {
    if (this.done !== undefined) throw new Error("Sha256Hasher: update after digest()");
    this.hasher.update(chunk);
    this.size += chunk.byteLength;
    return this;
  }

  /** "sha256:<hex>"; may be called more than once. */
  digest(): string {
    if (this.done === undefined) this.done = `sha256:${this.hasher.digest("hex")}`;
    return this.done;
  }
}

/** Throws DigestMismatchError unless `bytes` hash to `expected`. */
export function verifyDigest(bytes: Uint8Array, expected: string, what?: string): void {
  parseDigest(expected);
  const actual = sha256Digest(bytes);
  if (actual !== expected) throw new DigestMismatchError(expected, actual, what ?? expected);
}

/**
 * Passes `stream` through unchanged while hashing it; at its end, errors the output with a
 * DigestMismatchError if the content doesn't match `expected` (so a consumer that writes to a
 * temporary file never commits bad content). `onDone` receives the digest and size on success.
 */
export function verifyingStream(
  stream: ReadableStream<Uint8Array>,
  expected: string,
  onDone?: (digest: string, size: number) => void,
): ReadableStream<Uint8Array> {
  parseDigest(expected);
  const hasher = new Sha256Hasher();
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        hasher.update(chunk);
        controller.enqueue(chunk);
      },
      flush(controller) {
        const actual = hasher.digest();
        if (actual !== expected) controller.error(new DigestMismatchError(expected, actual));
        else onDone?.(actual, hasher.size);
      },
    }),
  );
}

/** A file's bytes in chunks, read as they are needed. */
export function* fileChunks(path: string, chunkSize = 1 << 20): Generator<Uint8Array> {
  const fd = openSync(path, "r");
  try {
    for (;;) {
      const buf = new Uint8Array(chunkSize);
      const n = readSync(fd, buf, 0, chunkSize, null);
      if (n <= 0) return;
      yield n === chunkSize ? buf : buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/** sha256 of a file, streamed. */
export function fileDigest(path: string): string {
  const h = new Bun.CryptoHasher("sha256");
  for (const c of fileChunks(path)) h.update(c);
  return `sha256:${h.digest("hex")}`;
}
