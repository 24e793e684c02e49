// A streaming tar reader: ustar/POSIX headers, GNU long names and links (L/K), PAX extended
// headers (x, and g for defaults), base-256 numbers, checksums. It never holds more than one
// input chunk plus one metadata record (capped, 1 MiB by default): file bodies are handed out as
// slices of the input chunks as they arrive. The input may reuse one buffer for every chunk
// (decompress.ts's ChunkReader): nothing here keeps a slice past the next read.
//
// Rules follow Go's archive/tar (what docker and containerd read layers with): type '\0' with a
// trailing slash is a directory; links, devices, fifos and directories carry no body whatever
// their size field says; the end is two zero blocks, or the end of input at a block boundary.
// Global PAX headers ('g') give defaults for uid, gid, uname, gname, mtime, atime and xattrs to
// every later entry; a global path, linkpath or size is ignored (it can't sensibly apply to every
// entry). Names are decoded as UTF-8 (invalid bytes become U+FFFD).
//
// Every problem in the archive is a UserError naming the entry or the header's byte offset.
import { UserError } from "../common/errors.ts";
import { readerOf, type ChunkReader } from "./decompress.ts";

export type EntryType = "file" | "hardlink" | "symlink" | "char" | "block" | "dir" | "fifo";

export interface TarEntry {
  /** The path as stored (PAX path > GNU long name > ustar prefix/name), not normalized. */
  name: string;
  type: EntryType;
  /** Permission bits including setuid, setgid and sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Modification time: whole seconds since the epoch (may be negative)… */
  mtime: number;
  /** …plus nanoseconds (from a PAX mtime with a fraction; else 0). */
  mtimeNsec: number;
  /** Access time when a PAX header gave one. */
  atime?: { sec: number; nsec: number };
  /** Body size in bytes (0 for every type but "file"). */
  size: number;
  /** Target of a symlink or hardlink; "" otherwise. */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes from SCHILY.xattr.* / LIBARCHIVE.xattr.* PAX records; raw bytes. */
  xattrs: Record<string, Uint8Array>;
  /** Byte offset of this entry's own header in the uncompressed tar. */
  offset: number;
  /** The body as it streams in. Valid only until the reader moves on to the next entry; each
   *  chunk only until the next one is asked for (the input may reuse its buffer). */
  body(): AsyncIterable<Uint8Array>;
}

export interface TarReadOptions {
  /** Largest PAX / GNU long-name record accepted (default 1 MiB). */
  maxHeaderSize?: number;
  /** Largest file body accepted (default 64 GiB). */
  maxFileSize?: number;
  /** Sees every input byte in order, including padding and anything after the end marker. */
  onBytes?: (chunk: Uint8Array) => void;
  /** Read the input to its end after the end-of-archive marker (default true, so onBytes sees all). */
  drain?: boolean;
}

export const DEFAULT_MAX_HEADER_SIZE = 1 << 20;
export const DEFAULT_MAX_FILE_SIZE = 64 * 2 ** 30;

const BLOCK = 512;
const utf8 = new TextDecoder("utf-8");
const EMPTY = new Uint8Array(0);

/** Pulls an input stream chunk by chunk, handing out slices without copying when it can. */
class Source {
  private reader: ChunkReader;
  private buf: Uint8Array = EMPTY;
  private pos = 0;
  private eof = false;
  /** Bytes handed out so far. */
  offset = 0;

  constructor(
    input: ReadableStream<Uint8Array> | ChunkReader,
    private onBytes?: (chunk: Uint8Array) => void,
  ) {
    this.reader = readerOf(input);
  }

  /** True when unread bytes are buffered; false at the end of input. */
  private async fill(): Promise<boolean> {
    while (this.pos >= this.buf.byteLength) {
      if (this.eof) return false;
      const r = await this.reader.read();
      if (r.done || !r.value) {
        this.eof = true;
        this.buf = EMPTY;
        this.pos = 0;
        return false;
      }
      this.onBytes?.(r.value);
      this.buf = r.value;
      this.pos = 0;
    }
    return true;
  }

  /** Up to `max` bytes (at least 1), or null at the end of input. */
  async next(max: number): Promise<Uint8Array | null> {
    if (this.pos >= this.buf.byteLength && !(await this.fill())) return null;
    const n = Math.min(max, this.buf.byteLength - this.pos);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    this.offset += n;
    return out;
  }

  /** Exactly `n` bytes, or fewer only when the input ends first. */
  async read(n: number): Promise<Uint8Array> {
    const first = await this.next(n);
    if (!first) return EMPTY;
    if (first.byteLength === n) return first;
    const out = new Uint8Array(n);
    out.set(first);
    let got = first.byteLength;
    while (got < n) {
      const c = await this.next(n - got);
      if (!c) return out.subarray(0, got);
      out.set(c, got);
      got += c.byteLength;
    }
    return out;
  }

  /** Skips `n` bytes; returns how many could be skipped (less than n at the end of input). */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const c = await this.next(left);
      if (!c) break;
      left -= c.byteLength;
    }
    return n - left;
  }

  async drain(): Promise<void> {
    while (await this.next(Infinity)) {
      /* onBytes sees it */
    }
  }

  release(cancel: boolean): void {
    if (cancel) this.reader.cancel().catch(() => {});
    else this.reader.releaseLock?.();
  }
}

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.byteLength; i++) if (b[i] !== 0) return false;
  return true;
}

function cString(b: Uint8Array): string {
  const end = b.indexOf(0);
  return utf8.decode(end < 0 ? b : b.subarray(0, end));
}

class FieldError extends Error {}

/** A numeric header field: octal text (spaces/NULs around it), or GNU base-256 when the top bit is set. */
export function parseNumeric(b: Uint8Array): number {
  if (b.byteLength > 0 && b[0] & 0x80) {
    const inv = b[0] & 0x40 ? 0xff : 0;
    let x = 0n;
    for (let i = 0; i < b.byteLength; i++) {
      let c = b[i] ^ inv;
      if (i === 0) c &= 0x7f;
      x = (x << 8n) | BigInt(c);
    }
    if (inv) x = -x - 1n;
    if (x > BigInt(Number.MAX_SAFE_INTEGER) || x < -BigInt(Number.MAX_SAFE_INTEGER))
      throw new FieldError("base-256 number out of range");
    return Number(x);
  }
  let s = 0,
    e = b.byteLength;
  while (s < e && (b[s] === 0x20 || b[s] === 0)) s++;
  while (e > s && (b[e - 1] === 0x20 || b[e - 1] === 0)) e--;
  // Some writers end the field with a NUL and leave junk after it.
  for (let i = s; i < e; i++)
    if (b[i] === 0) {
      e = i;
      break;
    }
  let v = 0;
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c < 0x30 || c > 0x37) throw new FieldError(`invalid octal digit ${JSON.stringify(String.fromCharCode(c))}`);
    v = v * 8 + (c - 0x30);
  }
  if (v > Number.MAX_SAFE_INTEGER) throw new FieldError("octal number out of range");
  return v;
}

function checksumOk(h: Uint8Array): boolean {
  let stored: number;
  try {
    stored = parseNumeric(h.subarray(148, 156));
  } catch {
    return false;
  }
  let unsigned = 0,
    signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : h[i];
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return stored === unsigned || stored === signed;
}

/** A PAX decimal time ("1700000000.123456789", "-1.5") as seconds + nanoseconds. */
export function parsePaxTime(s: string): { sec: number; nsec: number } {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(s);
  if (!m) throw new FieldError(`invalid time ${JSON.stringify(s)}`);
  const whole = Number(m[2]);
  const nsec = Number(`${m[3] ?? ""}000000000`.slice(0, 9));
  if (!Number.isSafeInteger(whole)) throw new FieldError(`time out of range ${JSON.stringify(s)}`);
  if (!m[1]) return { sec: whole, nsec };
  return nsec ? { sec: -whole - 1, nsec: 1e9 - nsec } : { sec: -whole, nsec: 0 };
}

function paxInt(s: string, key: string): number {
  if (!/^\d+$/.test(s)) throw new FieldError(`invalid PAX ${key} ${JSON.stringify(s)}`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new FieldError(`PAX ${key} out of range`);
  return n;
}

/** PAX records "LEN key=value\n" → key → raw value bytes (an empty value means "unset"). */
function parsePax(b: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let pos = 0;
  while (pos < b.byteLength) {
    if (b[pos] === 0) break; // NUL padding after the last record
    let sp = pos,
      len = 0;
    while (sp < b.byteLength && b[sp] >= 0x30 && b[sp] <= 0x39 && sp - pos < 16) len = len * 10 + (b[sp++] - 0x30);
    if (sp === pos || b[sp] !== 0x20 || len <= sp - pos + 1 || pos + len > b.byteLength || b[pos + len - 1] !== 0x0a) {
      throw new FieldError(`malformed PAX record at byte ${pos}`);
    }
    const rec = b.subarray(sp + 1, pos + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw new FieldError(`malformed PAX record at byte ${pos}`);
    out.set(utf8.decode(rec.subarray(0, eq)), rec.subarray(eq + 1));
    pos += len;
  }
  return out;
}

/** LIBARCHIVE.xattr names are percent-encoded. */
function percentDecode(s: string): string {
  return s.includes("%") ? decodeURIComponent(s) : s;
}

const GLOBAL_KEYS = new Set(["uid", "gid", "uname", "gname", "mtime", "atime"]);

function typeOf(flag: number, name: string): EntryType | "meta" {
  switch (flag) {
    case 0:
      return name.endsWith("/") ? "dir" : "file";
    case 0x30:
    case 0x37:
      return "file"; // '0', '7' (contiguous)
    case 0x31:
      return "hardlink";
    case 0x32:
      return "symlink";
    case 0x33:
      return "char";
    case 0x34:
      return "block";
    case 0x35:
      return "dir";
    case 0x36:
      return "fifo";
    case 0x78:
    case 0x67:
    case 0x4c:
    case 0x4b:
      return "meta"; // x g L K
    default:
      return "meta";
  }
}

function flagName(flag: number): string {
  return flag >= 0x20 && flag < 0x7f ? `'${String.fromCharCode(flag)}'` : `0x${flag.toString(16)}`;
}

/** Iterates the entries of a tar stream. Bodies must be read before asking for the next entry. */
export async function* readTar(
  input: ReadableStream<Uint8Array> | ChunkReader,
  opts: TarReadOptions = {},
): AsyncGenerator<TarEntry> {
  const maxHeader = opts.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE;
  const maxFile = opts.maxFileSize ?? DEFAULT_MAX_FILE_SIZE;
  const src = new Source(input, opts.onBytes);
  const global = new Map<string, Uint8Array>();
  let pax: Map<string, Uint8Array> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  let finished = false;

  const fail = (offset: number, what: string): never => {
    throw new UserError(`tar: ${what} (header at offset ${offset})`);
  };

  /** The body of a metadata entry (PAX, long name), size-capped, padding skipped. */
  async function readMeta(size: number, offset: number, kind: string): Promise<Uint8Array> {
    if (size > maxHeader) fail(offset, `${kind} of ${size} bytes exceeds the ${maxHeader}-byte limit`);
    const data = await src.read(size);
    if (data.byteLength < size) fail(offset, `unexpected end of data in ${kind}`);
    const copy = new Uint8Array(data); // may be a view of the input's buffer: keep our own (Buffer#slice would not copy)
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if ((await src.skip(pad)) < pad) fail(offset, `unexpected end of data in ${kind}`);
    return copy;
  }

  try {
    for (;;) {
      const offset = src.offset;
      const h = await src.read(BLOCK);
      if (h.byteLength === 0) {
        if (pax || longName !== undefined || longLink !== undefined)
          fail(offset, "unexpected end of data after an extended header");
        break; // no end marker: accepted, as Go does
      }
      if (h.byteLength < BLOCK) fail(offset, "unexpected end of data in a header");
      if (isZero(h)) {
        const h2 = await src.read(BLOCK);
        if (h2.byteLength !== 0 && !(h2.byteLength === BLOCK && isZero(h2)))
          fail(offset + BLOCK, "invalid header after a zero block");
        break;
      }
      if (!checksumOk(h)) fail(offset, "bad header checksum");

      let size: number, mode: number, uid: number, gid: number, mtime: number;
      let devmajor = 0,
        devminor = 0;
      const magic = utf8.decode(h.subarray(257, 263));
      const version = utf8.decode(h.subarray(263, 265));
      const ustar = magic === "ustar\0" && version === "00";
      const gnu = magic === "ustar " && version === " \0";
      try {
        size = parseNumeric(h.subarray(124, 136));
        mode = parseNumeric(h.subarray(100, 108));
        uid = parseNumeric(h.subarray(108, 116));
        gid = parseNumeric(h.subarray(116, 124));
        mtime = parseNumeric(h.subarray(136, 148));
        if (ustar || gnu) {
          devmajor = parseNumeric(h.subarray(329, 337));
          devminor = parseNumeric(h.subarray(337, 345));
        }
      } catch (e) {
        return fail(offset, `bad numeric field: ${(e as Error).message}`);
      }
      if (size < 0) fail(offset, "negative size");
      const flag = h[156];

      // Metadata entries describe the next real entry.
      if (flag === 0x78 || flag === 0x67) {
        // 'x', 'g'
        let recs: Map<string, Uint8Array>;
        try {
          recs = parsePax(await readMeta(size, offset, "PAX header"));
        } catch (e) {
          if (e instanceof FieldError) return fail(offset, e.message);
          throw e;
        }
        if (flag === 0x67) {
          for (const [k, v] of recs)
            if (v.byteLength) global.set(k, v);
            else global.delete(k);
        } else {
          pax ??= new Map();
          for (const [k, v] of recs) pax.set(k, v);
        }
        continue;
      }
      if (flag === 0x4c || flag === 0x4b) {
        // 'L', 'K'
        const s = cString(await readMeta(size, offset, flag === 0x4c ? "GNU long name" : "GNU long link"));
        if (flag === 0x4c) longName = s;
        else longLink = s;
        continue;
      }

      let name = cString(h.subarray(0, 100));
      if (ustar) {
        const star = h[508] === 0x74 && h[509] === 0x61 && h[510] === 0x72 && h[511] === 0;
        const prefix = cString(h.subarray(345, star ? 476 : 500));
        if (prefix) name = `${prefix}/${name}`;
      }
      let linkname = cString(h.subarray(157, 257));
      let uname = ustar || gnu ? cString(h.subarray(265, 297)) : "";
      let gname = ustar || gnu ? cString(h.subarray(297, 329)) : "";
      let mtimeNsec = 0;
      let atime: { sec: number; nsec: number } | undefined;
      const xattrs: Record<string, Uint8Array> = {};
      if (longName !== undefined) name = longName;
      if (longLink !== undefined) linkname = longLink;

      // Global defaults, then this entry's own PAX records.
      const apply = (k: string, v: Uint8Array, isGlobal: boolean) => {
        if (k.startsWith("SCHILY.xattr.")) {
          xattrs[k.slice(13)] = v;
          return;
        }
        if (k.startsWith("LIBARCHIVE.xattr.")) {
          xattrs[percentDecode(k.slice(17))] = Buffer.from(utf8.decode(v), "base64");
          return;
        }
        if (k.startsWith("GNU.sparse.")) throw new FieldError("sparse files are not supported");
        if (isGlobal && !GLOBAL_KEYS.has(k)) return;
        const s = utf8.decode(v);
        switch (k) {
          case "path":
            name = s;
            break;
          case "linkpath":
            linkname = s;
            break;
          case "size":
            size = paxInt(s, k);
            break;
          case "uid":
            uid = paxInt(s, k);
            break;
          case "gid":
            gid = paxInt(s, k);
            break;
          case "uname":
            uname = s;
            break;
          case "gname":
            gname = s;
            break;
          case "mtime": {
            const t = parsePaxTime(s);
            mtime = t.sec;
            mtimeNsec = t.nsec;
            break;
          }
          case "atime":
            atime = parsePaxTime(s);
            break;
          case "SCHILY.devmajor":
            devmajor = paxInt(s, k);
            break;
          case "SCHILY.devminor":
            devminor = paxInt(s, k);
            break;
        }
      };
      try {
        for (const [k, v] of global) apply(k, v, true);
        if (pax) for (const [k, v] of pax) if (v.byteLength) apply(k, v, false);
      } catch (e) {
        if (e instanceof FieldError) return fail(offset, `${e.message} in ${JSON.stringify(name)}`);
        throw e;
      }
      pax = undefined;
      longName = longLink = undefined;

      const type = typeOf(flag, name);
      if (flag === 0x53) fail(offset, `${JSON.stringify(name)}: sparse files are not supported`);
      if (type === "meta") return fail(offset, `${JSON.stringify(name)}: unsupported entry type ${flagName(flag)}`);
      const bodySize = type === "file" ? size : 0;
      if (bodySize > maxFile)
        fail(offset, `${JSON.stringify(name)}: size ${bodySize} exceeds the ${maxFile}-byte limit`);

      let remaining = bodySize;
      let current = true;
      const entryName = name;
      const truncated = () =>
        new UserError(`tar: unexpected end of data in ${JSON.stringify(entryName)} (header at offset ${offset})`);
      const entry: TarEntry = {
        name,
        type,
        mode: mode & 0o7777,
        uid,
        gid,
        uname,
        gname,
        mtime,
        mtimeNsec,
        atime,
        size: bodySize,
        linkname: type === "hardlink" || type === "symlink" ? linkname : "",
        devmajor,
        devminor,
        xattrs,
        offset,
        body: async function* () {
          if (!current) throw new Error(`tar: body of ${entryName} read after moving on`);
          while (remaining > 0) {
            const c = await src.next(remaining);
            if (!c) throw truncated();
            remaining -= c.byteLength;
            yield c;
          }
        },
      };
      if (atime === undefined) delete entry.atime;
      yield entry;
      current = false;
      const pad = (BLOCK - (bodySize % BLOCK)) % BLOCK;
      const want = remaining + pad;
      if ((await src.skip(want)) < want) throw truncated();
    }
    finished = true;
    if (opts.drain !== false) await src.drain();
  } finally {
    src.release(!finished);
  }
}

/** The whole body of an entry as one array (for small files; the caller bounds the size). */
export async function readBody(entry: TarEntry): Promise<Uint8Array> {
  const out = new Uint8Array(entry.size);
  let at = 0;
  for await (const c of entry.body()) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
