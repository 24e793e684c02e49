// Layer decompression by magic bytes: gzip (1f 8b), zstd (28 b5 2f fd) or a plain tar.
//
// Layers are read as a ChunkReader: a pull interface whose chunks are valid only until the next
// read(). That lets gzip (nearly every layer) decode into one reused output buffer through
// node:zlib's native handle (`_handle.writeSync`, the call node's own zlib.js makes): no buffer per
// chunk, so no page faults and no GC churn. Measured on a 12 MB layer in a fresh process:
// 16 ms with the hash, against 74 ms for DecompressionStream and 100 ms for a zlib stream; this
// machine's page faults are expensive (a paravirtualized VM).
//
// zstd goes through Bun's DecompressionStream: node:zlib's zstd handle does not report a
// truncated frame, DecompressionStream does. Concatenated gzip members and zstd frames decode as
// one stream; trailing garbage after the last member is an error (Go's gzip reader, which docker
// uses, refuses it too).
import { closeSync, openSync, readSync } from "node:fs";
import { UserError } from "../common/errors.ts";

export type Compression = "gzip" | "zstd" | "none";

/** A pull source of byte chunks; a chunk is valid only until the next read(). */
export interface ChunkReader {
  read(): Promise<{ done: boolean; value?: Uint8Array }>;
  cancel(reason?: unknown): Promise<void>;
  releaseLock?(): void;
}

/** A ChunkReader over a ReadableStream or one already. */
export function readerOf(input: ReadableStream<Uint8Array> | ChunkReader): ChunkReader {
  return input instanceof ReadableStream ? input.getReader() : input;
}

/** The compression a stream that starts with `head` uses (needs 4 bytes to tell zstd). */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
  return "none";
}

/** The compression of the file at `path`, by its first bytes. */
export function fileCompression(path: string): Compression {
  const fd = openSync(path, "r");
  try {
    const b = new Uint8Array(4);
    return detectCompression(b.subarray(0, readSync(fd, b, 0, 4, 0)));
  } finally {
    closeSync(fd);
  }
}

export interface DecompressOptions {
  /** Sees every input (compressed) chunk as it is read, e.g. to hash the blob. */
  onInput?: (chunk: Uint8Array) => void;
}

export interface DecodedReader {
  compression: Compression;
  /** The decompressed bytes; decoder failures surface as UserError. */
  reader: ChunkReader;
}

const EMPTY: Uint8Array = new Uint8Array(0);
const OUT_SIZE = 256 << 10;
const Z_NO_FLUSH = 0,
  Z_FINISH = 4;

/** gzip into one reused buffer; see the top of this file. */
class Gunzip {
  // Required here, not at the top: `mini run IMAGE` loads this module but never decodes.
  private z = (require("node:zlib") as typeof import("node:zlib")).createGunzip();
  private handle = (this.z as unknown as { _handle: ZlibHandle })._handle;
  private state = (this.z as unknown as { _writeState: Uint32Array })._writeState;
  private out = Buffer.allocUnsafe(OUT_SIZE);
  private input = EMPTY;
  private inOff = 0;
  private error?: string;
  constructor() {
    this.handle.onerror = (message: string) => {
      this.error ??= message;
    };
  }
  get needsInput(): boolean {
    return this.inOff >= this.input.byteLength;
  }
  feed(chunk: Uint8Array): void {
    this.input = chunk;
    this.inOff = 0;
  }
  /** Decodes what it can; the output (maybe empty) is valid until the next call. */
  step(finish = false): Uint8Array {
    const len = this.input.byteLength - this.inOff;
    this.handle.writeSync(finish ? Z_FINISH : Z_NO_FLUSH, this.input, this.inOff, len, this.out, 0, OUT_SIZE);
    if (this.error) throw new UserError(`gzip layer: ${this.error}`);
    const [availOut, availIn] = this.state;
    const used = len - availIn;
    this.inOff += used;
    const produced = OUT_SIZE - availOut;
    if (!finish && !produced && !used && len) throw new UserError("gzip layer: data after the end of the stream");
    return this.out.subarray(0, produced);
  }
  close(): void {
    this.handle.close();
  }
}

interface ZlibHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
  onerror: (message: string, errno: number) => void;
  close(): void;
}

/** Reads the first bytes of `input` to detect its compression; returns a reader of the decoded bytes. */
export async function decodeReader(
  input: ReadableStream<Uint8Array> | ChunkReader,
  opts: DecompressOptions = {},
): Promise<DecodedReader> {
  const src = readerOf(input);
  const head: Uint8Array[] = [];
  let headLen = 0;
  let ended = false;
  try {
    while (headLen < 4) {
      const r = await src.read();
      if (r.done || !r.value) {
        ended = true;
        break;
      }
      if (!r.value.byteLength) continue;
      opts.onInput?.(r.value);
      head.push(new Uint8Array(r.value)); // a copy: the source may reuse its buffer (Buffer#slice would not copy)
      headLen += r.value.byteLength;
    }
  } catch (e) {
    src.releaseLock?.();
    throw e;
  }
  const first = head.length === 1 ? head[0] : Buffer.concat(head);
  const compression = detectCompression(first);

  // The input again, from its first byte, with the tap on everything read after the peek.
  let pending: Uint8Array | undefined = first.byteLength ? first : undefined;
  const raw: ChunkReader = {
    async read() {
      if (pending) {
        const value = pending;
        pending = undefined;
        return { done: false, value };
      }
      if (ended) return { done: true };
      const r = await src.read();
      if (r.done || !r.value) {
        ended = true;
        return { done: true };
      }
      opts.onInput?.(r.value);
      return r;
    },
    cancel: (reason) => src.cancel(reason),
    releaseLock: () => src.releaseLock?.(),
  };
  if (compression === "none") return { compression, reader: raw };
  if (compression === "zstd") return { compression, reader: viaDecompressionStream(raw) };

  const z = new Gunzip();
  let inputDone = false,
    finished = false;
  const reader: ChunkReader = {
    async read() {
      try {
        for (;;) {
          if (finished) return { done: true };
          if (z.needsInput && !inputDone) {
            const r = await raw.read();
            if (r.done || !r.value) inputDone = true;
            else {
              z.feed(r.value);
              continue;
            }
          }
          // Input left: decode more. Input over: Z_FINISH until it stops producing (and says
          // "unexpected end of file" if the stream was cut).
          const out = z.step(inputDone);
          if (out.byteLength) return { done: false, value: out };
          if (inputDone) {
            finished = true;
            z.close();
          }
        }
      } catch (e) {
        finished = true;
        z.close();
        throw e;
      }
    },
    async cancel(reason) {
      if (!finished) {
        finished = true;
        z.close();
      }
      await raw.cancel(reason);
    },
    releaseLock: () => raw.releaseLock?.(),
  };
  return { compression, reader };
}

/** zstd through Bun's DecompressionStream (allocates per chunk; zstd layers are rare). */
function viaDecompressionStream(raw: ChunkReader): ChunkReader {
  const out = streamOf(raw)
    .pipeThrough(new DecompressionStream("zstd") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>)
    .getReader();
  return {
    async read() {
      try {
        const r = await out.read();
        return r.done ? { done: true } : { done: false, value: r.value };
      } catch (e) {
        throw new UserError(`zstd layer: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
    cancel: (reason) => out.cancel(reason),
    releaseLock: () => out.releaseLock(),
  };
}

export interface Decompressed {
  compression: Compression;
  /** The decompressed bytes (each chunk its own copy); decoder failures surface as UserError. */
  stream: ReadableStream<Uint8Array>;
}

/** decodeReader as a ReadableStream whose chunks the consumer may keep. */
export async function decompress(
  input: ReadableStream<Uint8Array> | ChunkReader,
  opts: DecompressOptions = {},
): Promise<Decompressed> {
  const { compression, reader } = await decodeReader(input, opts);
  return { compression, stream: streamOf(reader) };
}

/** A ChunkReader as a ReadableStream of copies (a consumer may keep them). */
function streamOf(reader: ChunkReader): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(ctrl) {
        const r = await reader.read();
        if (r.done || !r.value) ctrl.close();
        else ctrl.enqueue(new Uint8Array(r.value));
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}
