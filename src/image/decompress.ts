// Layer decompression by magic bytes: gzip (1f 8b), zstd (28 b5 2f fd) or a plain tar.
//
// Bun's own DecompressionStream does both formats and was measured faster here than node:zlib
// bridged to a web stream (160 MB of tar: gzip 385 ms vs 655 ms, zstd 255 ms vs 490 ms); it
// also yields fewer, larger chunks (~440 KB), which the tar reader likes. Concatenated gzip
// members and zstd frames decode as one stream; trailing garbage after the last member is an
// error (Go's gzip reader, which docker uses, refuses it too).
import { UserError } from "../sys/error.ts";

export type Compression = "gzip" | "zstd" | "none";

/** The compression a stream that starts with `head` uses (needs 4 bytes to tell zstd). */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
  return "none";
}

export interface DecompressOptions {
  /** Sees every input (compressed) chunk as it is read, e.g. to hash the blob. */
  onInput?: (chunk: Uint8Array) => void;
}

export interface Decompressed {
  compression: Compression;
  /** The decompressed bytes; decoder failures surface as UserError. */
  stream: ReadableStream<Uint8Array>;
}

/** Reads the first bytes of `input` to detect its compression; returns the decoded stream. */
export async function decompress(input: ReadableStream<Uint8Array>, opts: DecompressOptions = {}): Promise<Decompressed> {
  const reader = input.getReader();
  const head: Uint8Array[] = [];
  let headLen = 0;
  let ended = false;
  try {
    while (headLen < 4) {
      const r = await reader.read();
      if (r.done) { ended = true; break; }
      if (!r.value.byteLength) continue;
      opts.onInput?.(r.value);
      head.push(r.value);
      headLen += r.value.byteLength;
    }
  } catch (e) {
    reader.releaseLock();
    throw e;
  }
  const first = head.length === 1 ? head[0] : Buffer.concat(head);
  const compression = detectCompression(first);

  // The input again, from its first byte, with the tap on everything read after the peek.
  const raw = new ReadableStream<Uint8Array>({
    start(ctrl) {
      if (first.byteLength) ctrl.enqueue(first);
      if (ended) ctrl.close();
    },
    async pull(ctrl) {
      const r = await reader.read();
      if (r.done) { ctrl.close(); return; }
      opts.onInput?.(r.value);
      ctrl.enqueue(r.value);
    },
    cancel(reason) { return reader.cancel(reason); },
  }, { highWaterMark: 0 });
  if (compression === "none") return { compression, stream: raw };

  const decoder = new DecompressionStream(compression) as unknown as ReadableWritablePair<Uint8Array, Uint8Array>;
  const decoded = raw.pipeThrough(decoder);
  const out = decoded.getReader();
  const stream = new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      try {
        const r = await out.read();
        if (r.done) ctrl.close();
        else ctrl.enqueue(r.value);
      } catch (e) {
        ctrl.error(new UserError(`${compression} layer: ${e instanceof Error ? e.message : String(e)}`));
      }
    },
    cancel(reason) { return out.cancel(reason); },
  }, { highWaterMark: 0 });
  return { compression, stream };
}
