// Test helper: a tiny tar writer for building archives in memory, and a chunked stream over bytes.
//
//   import { makeTar, streamOf } from "../helpers/tar-fixtures.ts";
//   const tar = makeTar([{ name: "d/", flag: "5" }, { name: "d/f", body: "hi", pax: { mtime: "1.5" } }]);
//   for await (const e of readTar(streamOf(tar, 1000))) …
//
// Used by test/unit/tar.test.ts and test/integration/unpack.test.ts.

export type Body = string | Uint8Array;
export interface Spec {
  name: string;
  flag?: string; // "0", "5", "\0", …
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  size?: number; // declared size, when it should differ from the body
  body?: Body;
  linkname?: string;
  uname?: string;
  gname?: string;
  devmajor?: number;
  devminor?: number;
  prefix?: string;
  magic?: "ustar" | "gnu" | "v7";
  pax?: Record<string, Body>;
  global?: Record<string, Body>;
  longName?: string;
  longLink?: string;
  badChecksum?: boolean;
}
export const enc = new TextEncoder();
export const bytes = (b: Body) => (typeof b === "string" ? enc.encode(b) : b);
export const concat = (parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
export const pad = (n: number) => new Uint8Array((512 - (n % 512)) % 512);

export function putStr(h: Uint8Array, off: number, len: number, s: string): void {
  const b = enc.encode(s);
  h.set(b.subarray(0, len), off);
}
/** Octal when it fits, else base-256 (two's complement for negatives). */
export function putNum(h: Uint8Array, off: number, len: number, v: number): void {
  const oct = v >= 0 ? v.toString(8) : "";
  if (v >= 0 && oct.length <= len - 1) {
    putStr(h, off, len, `${oct.padStart(len - 1, "0")}\0`);
    return;
  }
  let big = BigInt(v);
  for (let i = len - 1; i >= 0; i--) {
    h[off + i] = Number(big & 0xffn);
    big >>= 8n;
  }
  if (v >= 0) h[off] |= 0x80;
}
export function header(s: Spec, flag: string, name: string, size: number, linkname = ""): Uint8Array {
  const h = new Uint8Array(512);
  putStr(h, 0, 100, name);
  putNum(h, 100, 8, s.mode ?? 0o644);
  putNum(h, 108, 8, s.uid ?? 0);
  putNum(h, 116, 8, s.gid ?? 0);
  putNum(h, 124, 12, size);
  putNum(h, 136, 12, s.mtime ?? 1_600_000_000);
  h[156] = flag.charCodeAt(0);
  putStr(h, 157, 100, linkname);
  const magic = s.magic ?? "ustar";
  if (magic === "ustar") putStr(h, 257, 8, "ustar\x0000");
  if (magic === "gnu") putStr(h, 257, 8, "ustar  \0");
  if (magic !== "v7") {
    putStr(h, 265, 32, s.uname ?? "");
    putStr(h, 297, 32, s.gname ?? "");
    putNum(h, 329, 8, s.devmajor ?? 0);
    putNum(h, 337, 8, s.devminor ?? 0);
    if (s.prefix) putStr(h, 345, 155, s.prefix);
  }
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of h) sum += c;
  if (s.badChecksum) sum += 1;
  putStr(h, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return h;
}
export function paxBody(recs: Record<string, Body>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [k, v] of Object.entries(recs)) {
    const rest = concat([enc.encode(` ${k}=`), bytes(v), enc.encode("\n")]);
    let len = rest.length + 1;
    while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
    parts.push(concat([enc.encode(String(len)), rest]));
  }
  return concat(parts);
}
function member(s: Spec, flag: string, name: string, body: Uint8Array): Uint8Array[] {
  return [header(s, flag, name, body.length), body, pad(body.length)];
}
/** An archive of `specs`, each preceded by its global/PAX/GNU long-name headers; `end` adds the two zero blocks. */
export function makeTar(specs: Spec[], end = true): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const s of specs) {
    if (s.global) parts.push(...member({ name: "" }, "g", "pax_global_header", paxBody(s.global)));
    if (s.pax) parts.push(...member({ name: "" }, "x", "PaxHeaders/x", paxBody(s.pax)));
    if (s.longName)
      parts.push(...member({ name: "", magic: "gnu" }, "L", "././@LongLink", enc.encode(`${s.longName}\0`)));
    if (s.longLink)
      parts.push(...member({ name: "", magic: "gnu" }, "K", "././@LongLink", enc.encode(`${s.longLink}\0`)));
    const body = s.body === undefined ? new Uint8Array(0) : bytes(s.body);
    parts.push(header(s, s.flag ?? "0", s.name, s.size ?? body.length, s.linkname ?? ""));
    parts.push(body, pad(body.length));
  }
  if (end) parts.push(new Uint8Array(1024));
  return concat(parts);
}

/**
 * `b` as a stream of `chunk`-byte pieces. Each piece is a copy (`slice`, not `subarray`): like
 * chunks from a socket or a decompressor it owns its buffer, so a reader that keeps zero-copy views
 * into chunks, or a consumer that mutates or transfers them, can never alias or detach `b`, which
 * tests reuse across several reads.
 */
export function streamOf(b: Uint8Array, chunk = 1 << 16): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (i >= b.length) {
        c.close();
        return;
      }
      c.enqueue(b.slice(i, i + chunk));
      i += chunk;
    },
  });
}

/** A ChunkReader that hands out every chunk in one reused Buffer, as blob-download.ts does:
 *  a consumer that keeps a chunk past the next read sees it overwritten. */
export function reusingReader(b: Uint8Array, chunk = 1 << 16) {
  const buf = Buffer.alloc(chunk);
  let i = 0;
  return {
    async read(): Promise<{ done: boolean; value?: Uint8Array }> {
      if (i >= b.length) return { done: true };
      const n = Math.min(chunk, b.length - i);
      buf.fill(0xee);
      buf.set(b.subarray(i, i + n));
      i += n;
      return { done: false, value: buf.subarray(0, n) };
    },
    async cancel() {},
  };
}
