// Netlink framing, pure: struct nlmsghdr, attributes (struct nlattr, nested or not) and the
// kernel's replies (NLMSG_ERROR with errno and extended-ack text, NLMSG_DONE, multi-part dumps).
// Everything is little-endian host order except where a caller writes network-order bytes itself.
import {
  NLA_TYPE_MASK,
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
} from "../sys/constants.ts";

/** sizeof(struct nlmsghdr): len u32, type u16, flags u16, seq u32, pid u32. */
const NLMSG_HDRLEN = 16;
const ATTR_HDRLEN = 4;

/** Netlink's 4-byte alignment (NLMSG_ALIGN, NLA_ALIGN). */
const align4 = (n: number): number => (n + 3) & ~3;

/** One attribute to encode: its type and its payload (already encoded if nested). */
export interface Attr {
  type: number;
  data: Uint8Array;
}

/** Attribute constructors: numbers in host order, strings NUL-terminated unless said otherwise. */
export const attr = {
  u8: (type: number, v: number): Attr => ({ type, data: Uint8Array.of(v) }),
  u32(type: number, v: number): Attr {
    const data = new Uint8Array(4);
    new DataView(data.buffer).setUint32(0, v >>> 0, true);
    return { type, data };
  },
  i32(type: number, v: number): Attr {
    const data = new Uint8Array(4);
    new DataView(data.buffer).setInt32(0, v, true);
    return { type, data };
  },
  /** A C string with its NUL (what the kernel expects of IFLA_IFNAME). */
  str: (type: number, s: string): Attr => ({ type, data: new TextEncoder().encode(`${s}\0`) }),
  /** A string without the NUL (iproute2 sends IFLA_INFO_KIND this way; the kernel takes both). */
  chars: (type: number, s: string): Attr => ({ type, data: new TextEncoder().encode(s) }),
  bytes: (type: number, data: Uint8Array): Attr => ({ type, data }),
  /** A nested attribute. iproute2 leaves NLA_F_NESTED off the rtnetlink ones; so does mini. */
  nested: (type: number, children: Attr[]): Attr => ({ type, data: encodeAttrs(children) }),
};

/** A run of attributes, each padded to 4 bytes; nla_len counts the header and payload, not the padding. */
export function encodeAttrs(attrs: Attr[]): Uint8Array {
  let size = 0;
  for (const a of attrs) size += align4(ATTR_HDRLEN + a.data.byteLength);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let off = 0;
  for (const a of attrs) {
    const len = ATTR_HDRLEN + a.data.byteLength;
    if (len > 0xffff) throw new RangeError(`netlink attribute ${a.type} too long (${len} bytes)`);
    view.setUint16(off, len, true);
    view.setUint16(off + 2, a.type, true);
    out.set(a.data, off + ATTR_HDRLEN);
    off += align4(len);
  }
  return out;
}

/** Byte concatenation (a family header followed by attributes, …). */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/** One request: nlmsghdr (pid 0: to the kernel), the family's fixed header, then attributes. */
export function encodeMessage(type: number, flags: number, seq: number, header: Uint8Array, attrs: Attr[] = []) {
  const body = concat(header, encodeAttrs(attrs));
  const out = new Uint8Array(NLMSG_HDRLEN + align4(body.byteLength));
  const view = new DataView(out.buffer);
  view.setUint32(0, out.byteLength, true);
  view.setUint16(4, type, true);
  view.setUint16(6, flags, true);
  view.setUint32(8, seq >>> 0, true);
  view.setUint32(12, 0, true);
  out.set(body, NLMSG_HDRLEN);
  return out;
}

/** Sets nlmsg_seq of an encoded message in place. */
export function setSeq(msg: Uint8Array, seq: number): void {
  new DataView(msg.buffer, msg.byteOffset, msg.byteLength).setUint32(8, seq >>> 0, true);
}

/** A received message: its header fields and payload (a view into the receive buffer). */
export interface Message {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Uint8Array;
}

/** Splits one datagram into its messages; a length that runs past the datagram is an error. */
export function parseMessages(buf: Uint8Array): Message[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Message[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.byteLength) {
    const len = view.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > buf.byteLength)
      throw new Error(`netlink: malformed message at offset ${off} (length ${len} of ${buf.byteLength})`);
    out.push({
      type: view.getUint16(off + 4, true),
      flags: view.getUint16(off + 6, true),
      seq: view.getUint32(off + 8, true),
      pid: view.getUint32(off + 12, true),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** Attributes by type (flags masked off; the first of a repeated type wins). Views, not copies. */
export function parseAttrs(data: Uint8Array): Map<number, Uint8Array> {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new Map<number, Uint8Array>();
  let off = 0;
  while (off + ATTR_HDRLEN <= data.byteLength) {
    const len = view.getUint16(off, true);
    if (len < ATTR_HDRLEN || off + len > data.byteLength) break; // truncated: keep what was whole
    const type = view.getUint16(off + 2, true) & NLA_TYPE_MASK;
    if (!out.has(type)) out.set(type, data.subarray(off + ATTR_HDRLEN, off + len));
    off += align4(len);
  }
  return out;
}

/** Attribute payload readers. */
export const read = {
  u8: (b: Uint8Array): number => b[0],
  u32: (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true),
  i32: (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getInt32(0, true),
  /** A string up to its NUL (or the end). */
  str(b: Uint8Array): string {
    const nul = b.indexOf(0);
    return new TextDecoder().decode(nul < 0 ? b : b.subarray(0, nul));
  },
};

/** What an NLMSG_ERROR (an ACK when errno is 0) or NLMSG_DONE says. */
export interface Status {
  /** Positive errno; 0 for success. */
  errno: number;
  /** The kernel's extended-ack text ("Nexthop has invalid gateway"), when it gave one. */
  message?: string;
  /** The offset in the request of the attribute the kernel blamed, when it gave one. */
  offset?: number;
}

/**
 * struct nlmsgerr: int error, then the request's nlmsghdr (the whole request unless
 * NLM_F_CAPPED), then extended-ack attributes when NLM_F_ACK_TLVS is set. NLMSG_DONE carries
 * an int error and, likewise, attributes.
 */
export function parseStatus(msg: Message): Status {
  const p = msg.payload;
  if (p.byteLength < 4) return { errno: 0 };
  const err = read.i32(p);
  const status: Status = { errno: err < 0 ? -err : err };
  if (!(msg.flags & NLM_F_ACK_TLVS)) return status;
  let tlvs = 4;
  if (msg.type === NLMSG_ERROR) {
    const echoed = p.byteLength >= 4 + NLMSG_HDRLEN ? read.u32(p.subarray(4)) : 0;
    tlvs = 4 + (msg.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : align4(echoed));
  } else if (msg.type !== NLMSG_DONE) return status;
  const attrs = parseAttrs(p.subarray(Math.min(tlvs, p.byteLength)));
  const text = attrs.get(NLMSGERR_ATTR_MSG);
  if (text) status.message = read.str(text);
  const offs = attrs.get(NLMSGERR_ATTR_OFFS);
  if (offs && offs.byteLength >= 4) status.offset = read.u32(offs);
  return status;
}

/**
 * The answer to one request, assembled from the datagrams that arrive: it ends with the ACK or
 * error (NLMSG_ERROR), the end of a dump (NLMSG_DONE), or — for a request that asked for no ACK
 * (RTM_GETLINK of one link) — its single reply. Messages of other sequence numbers (left over
 * from an abandoned request) are skipped; replies are copied out of the receive buffer.
 */
export class Replies {
  readonly messages: Message[] = [];
  /** How it ended (errno 0: success); undefined while more is expected. */
  status?: Status;
  /** A dump the kernel marked inconsistent (NLM_F_DUMP_INTR: the table changed meanwhile). */
  interrupted = false;
  private readonly seq: number;
  private readonly wantsAck: boolean;

  constructor(request: Uint8Array) {
    const v = new DataView(request.buffer, request.byteOffset, request.byteLength);
    this.seq = v.getUint32(8, true);
    this.wantsAck = (v.getUint16(6, true) & NLM_F_ACK) !== 0;
  }

  /** Takes one datagram; true once the answer is complete. */
  add(datagram: Uint8Array): boolean {
    for (const m of parseMessages(datagram)) {
      if (this.status || m.seq !== this.seq || m.type === NLMSG_NOOP) continue;
      if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) {
        this.status = parseStatus(m);
        continue;
      }
      if (m.flags & NLM_F_DUMP_INTR) this.interrupted = true;
      this.messages.push({ ...m, payload: m.payload.slice() });
      if (!this.wantsAck && !(m.flags & NLM_F_MULTI)) this.status = { errno: 0 };
    }
    return this.status !== undefined;
  }
}
