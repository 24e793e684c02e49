// A small streaming tar writer (POSIX ustar; PAX records for what ustar can't hold) and the
// byte sinks it writes to. It holds one header and one body chunk at a time: `mini save` streams
// multi-gigabyte layer blobs from the store into a file or a pipe.
//
// A name goes in the ustar name field (≤ 100 bytes), else split at a "/" into prefix (≤ 155)
// and name (≤ 100), else into a PAX "path" record; a link target over 100 bytes, a size over
// 8 GiB - 1 and non-ASCII names get PAX records too. src/image/tar.ts reads all of these.
import { closeSync, writeSync } from "node:fs";

export type TarEntryType = "file" | "dir" | "symlink" | "hardlink";

export interface TarHeader {
  name: string;
  type?: TarEntryType;
  /** Permission bits (default 0644 for files, 0755 for directories, 0777 for symlinks). */
  mode?: number;
  /** Body size: required for files (and checked against the body written). */
  size?: number;
  /** Seconds since the epoch (default 0: archives of the same content are the same bytes). */
  mtime?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  linkname?: string;
}

export type Body = Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** Where archive bytes go. `write` may be async (a pipe's back-pressure). */
export interface Sink {
  write(chunk: Uint8Array): Promise<void> | void;
  close(): Promise<void> | void;
}

const BLOCK = 512;
const enc = new TextEncoder();
const MAX_OCTAL_SIZE = 8 ** 11 - 1;
const MAX_OCTAL_ID = 8 ** 7 - 1;
const FLAGS: Record<TarEntryType, number> = { file: 0x30, hardlink: 0x31, symlink: 0x32, dir: 0x35 };

function putString(h: Uint8Array, off: number, len: number, b: Uint8Array): void {
  h.set(b.subarray(0, len), off);
}

function putOctal(h: Uint8Array, off: number, len: number, v: number): void {
  putString(
    h,
    off,
    len,
    enc.encode(
      `${Math.max(0, Math.floor(v))
        .toString(8)
        .padStart(len - 1, "0")}\0`,
    ),
  );
}

const isAscii = (s: string) => /^[\x01-\x7f]*$/.test(s);

/** ustar's name/prefix split for `name`, or undefined when it doesn't fit. */
export function splitUstarName(name: string): { name: string; prefix: string } | undefined {
  if (!isAscii(name)) return undefined;
  if (name.length <= 100) return { name, prefix: "" };
  // The rightmost "/" leaving a name part ≤ 100 and a prefix ≤ 155.
  for (let i = name.lastIndexOf("/"); i > 0; i = name.lastIndexOf("/", i - 1)) {
    const rest = name.slice(i + 1);
    if (rest.length > 100) break;
    if (i <= 155 && rest.length > 0) return { name: rest, prefix: name.slice(0, i) };
  }
  return undefined;
}

/** One PAX record, "LEN key=value\n", where LEN counts itself. */
export function paxRecord(key: string, value: string): Uint8Array {
  const rest = enc.encode(` ${key}=${value}\n`);
  let len = rest.byteLength + 1;
  while (String(len).length + rest.byteLength !== len) len = String(len).length + rest.byteLength;
  return enc.encode(`${len} ${key}=${value}\n`);
}

function checksum(h: Uint8Array): void {
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i];
  putString(h, 148, 8, enc.encode(`${sum.toString(8).padStart(6, "0")}\0 `));
}

function rawHeader(
  name: Uint8Array,
  prefix: Uint8Array,
  flag: number,
  h: TarHeader,
  size: number,
  linkname: Uint8Array,
): Uint8Array {
  const b = new Uint8Array(BLOCK);
  const type = h.type ?? "file";
  putString(b, 0, 100, name);
  putOctal(b, 100, 8, (h.mode ?? (type === "dir" ? 0o755 : type === "symlink" ? 0o777 : 0o644)) & 0o7777);
  putOctal(b, 108, 8, Math.min(h.uid ?? 0, MAX_OCTAL_ID));
  putOctal(b, 116, 8, Math.min(h.gid ?? 0, MAX_OCTAL_ID));
  putOctal(b, 124, 12, Math.min(size, MAX_OCTAL_SIZE));
  putOctal(b, 136, 12, Math.min(Math.max(h.mtime ?? 0, 0), MAX_OCTAL_SIZE));
  b[156] = flag;
  putString(b, 157, 100, linkname);
  putString(b, 257, 8, enc.encode("ustar\x0000"));
  putString(b, 265, 32, enc.encode(h.uname ?? ""));
  putString(b, 297, 32, enc.encode(h.gname ?? ""));
  putOctal(b, 329, 8, 0);
  putOctal(b, 337, 8, 0);
  putString(b, 345, 155, prefix);
  checksum(b);
  return b;
}

/** Zero bytes that pad a body of `size` bytes to a whole block. */
export function padding(size: number): Uint8Array {
  return new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The header block(s) of one entry: a PAX extended header first when ustar can't say it all. */
export function encodeHeader(h: TarHeader): Uint8Array {
  const type = h.type ?? "file";
  const size = type === "file" ? (h.size ?? 0) : 0;
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`tar: invalid size ${size} for ${h.name}`);
  const name = type === "dir" && !h.name.endsWith("/") ? `${h.name}/` : h.name;
  const link = h.linkname ?? "";
  const pax: Uint8Array[] = [];
  let split = splitUstarName(name);
  if (!split) {
    pax.push(paxRecord("path", name));
    // A readable stand-in for readers without PAX.
    split = {
      name: enc.encode(name).byteLength <= 100 && isAscii(name) ? name : name.replace(/[^\x01-\x7f]/g, "_").slice(-99),
      prefix: "",
    };
  }
  let linkField = link;
  if (enc.encode(link).byteLength > 100 || !isAscii(link)) {
    pax.push(paxRecord("linkpath", link));
    linkField = "";
  }
  if (size > MAX_OCTAL_SIZE) pax.push(paxRecord("size", String(size)));
  if ((h.uid ?? 0) > MAX_OCTAL_ID) pax.push(paxRecord("uid", String(h.uid)));
  if ((h.gid ?? 0) > MAX_OCTAL_ID) pax.push(paxRecord("gid", String(h.gid)));
  const main = rawHeader(enc.encode(split.name), enc.encode(split.prefix), FLAGS[type], h, size, enc.encode(linkField));
  if (!pax.length) return main;
  const body = Buffer.concat(pax);
  const paxName = enc.encode(`PaxHeaders/${split.name}`.slice(0, 100));
  const ph = rawHeader(
    paxName,
    new Uint8Array(0),
    0x78,
    { name: "", mode: 0o644, mtime: h.mtime },
    body.byteLength,
    new Uint8Array(0),
  );
  return new Uint8Array(Buffer.concat([ph, body, padding(body.byteLength), main]));
}

/** Writes tar entries to a sink, one at a time. */
export class TarWriter {
  /** Bytes written so far. */
  written = 0;
  private done = false;
  constructor(private readonly sink: Sink) {}

  private async out(b: Uint8Array): Promise<void> {
    if (!b.byteLength) return;
    await this.sink.write(b);
    this.written += b.byteLength;
  }

  /** Adds one entry; a file's body must have exactly `size` bytes. */
  async add(h: TarHeader, body?: Body): Promise<void> {
    if (this.done) throw new Error("tar: add after finish");
    const type = h.type ?? "file";
    let size = h.size;
    if (body instanceof Uint8Array) size ??= body.byteLength;
    const header = { ...h, size: type === "file" ? (size ?? 0) : 0 };
    await this.out(encodeHeader(header));
    if (type !== "file") return;
    let n = 0;
    if (body instanceof Uint8Array) {
      n = body.byteLength;
      if (n !== header.size) throw new Error(`tar: ${h.name}: body is ${n} bytes, header says ${header.size}`);
      await this.out(body);
    } else if (body) {
      for await (const c of body as AsyncIterable<Uint8Array>) {
        n += c.byteLength;
        if (n > header.size)
          throw new Error(`tar: ${h.name}: body longer than ${header.size} bytes (it changed while being read?)`);
        await this.out(c);
      }
    }
    if (n !== header.size) throw new Error(`tar: ${h.name}: body is ${n} bytes, header says ${header.size}`);
    await this.out(padding(n));
  }

  /** The end-of-archive marker (two zero blocks); the sink is not closed. */
  async finish(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.out(new Uint8Array(2 * BLOCK));
  }
}

/** A sink on a file descriptor: whole writes, waiting out EAGAIN on a non-blocking pipe. */
export function fdSink(fd: number, closeIt: boolean): Sink {
  return {
    async write(chunk) {
      let off = 0;
      while (off < chunk.byteLength) {
        try {
          off += writeSync(fd, chunk, off, chunk.byteLength - off);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
          await Bun.sleep(2);
        }
      }
    },
    close() {
      if (closeIt) closeSync(fd);
    },
  };
}

/** A sink that keeps everything in memory (tests, small archives). */
export function memorySink(): Sink & { bytes(): Uint8Array } {
  const parts: Uint8Array[] = [];
  return {
    write(c) {
      parts.push(new Uint8Array(c));
    },
    close() {},
    bytes: () => new Uint8Array(Buffer.concat(parts)),
  };
}
