// rtnetlink requests and replies, pure: typed builders for links (bridge, veth with its peer in
// another netns, master/up/MTU/MAC), IPv4 addresses and routes, and parsers of the kernel's
// RTM_NEWLINK/RTM_NEWADDR/RTM_NEWROUTE replies. The bytes match what iproute2 sends for the same
// command (test/unit/netlink.test.ts holds captures); the differences are named where they are.
import * as C from "../sys/constants.ts";
import {
  type Attr,
  attr,
  concat,
  encodeAttrs,
  encodeMessage,
  type Message,
  parseAttrs,
  read,
} from "./netlink-message.ts";

/** An interface by name, or by index (a number). */
export type LinkRef = string | number;

/** A network namespace given to the kernel in a request: a process's, or an open nsfs fd. */
export type NetnsRef = { pid: number } | { fd: number };

const CREATE = C.NLM_F_REQUEST | C.NLM_F_ACK | C.NLM_F_CREATE | C.NLM_F_EXCL;
const CHANGE = C.NLM_F_REQUEST | C.NLM_F_ACK;

// ---- addresses ------------------------------------------------------------------------------

/** "10.88.0.1" → its 4 bytes (network order); anything else throws. */
export function parseIpv4(s: string): Uint8Array {
  const parts = s.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255))
    throw new Error(`invalid IPv4 address "${s}"`);
  return Uint8Array.from(parts, Number);
}

const formatIpv4 = (b: Uint8Array): string => Array.from(b.subarray(0, 4)).join(".");

/** "10.88.0.1/16" → address and prefix length; a bare address is a /32. */
export function parseCidr(s: string): { address: string; prefixLen: number } {
  const [address, len, extra] = s.split("/");
  const prefixLen = len === undefined ? 32 : /^\d{1,2}$/.test(len) ? Number(len) : Number.NaN;
  if (extra !== undefined || !(prefixLen >= 0 && prefixLen <= 32)) throw new Error(`invalid IPv4 prefix "${s}"`);
  parseIpv4(address);
  return { address, prefixLen };
}

/** "02:42:ac:11:00:02" → 6 bytes. */
export function parseMac(s: string): Uint8Array {
  const parts = s.split(":");
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p)))
    throw new Error(`invalid MAC address "${s}"`);
  return Uint8Array.from(parts, (p) => Number.parseInt(p, 16));
}

const formatMac = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");

// ---- links ----------------------------------------------------------------------------------

/** struct ifinfomsg: family u8, pad u8, type u16, index i32, flags u32, change u32. */
export function ifinfomsg(index = 0, flags = 0, change = 0, family = C.AF_UNSPEC): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint8(0, family);
  v.setInt32(4, index, true);
  v.setUint32(8, flags >>> 0, true);
  v.setUint32(12, change >>> 0, true);
  return b;
}

/** The link's own settings, in iproute2's order (they come before the name). */
function linkAttrs(o: { mtu?: number; mac?: string; netns?: NetnsRef }): Attr[] {
  const out: Attr[] = [];
  if (o.mtu !== undefined) out.push(attr.u32(C.IFLA_MTU, o.mtu));
  if (o.mac !== undefined) out.push(attr.bytes(C.IFLA_ADDRESS, parseMac(o.mac)));
  if (o.netns && "pid" in o.netns) out.push(attr.u32(C.IFLA_NET_NS_PID, o.netns.pid));
  if (o.netns && "fd" in o.netns) out.push(attr.u32(C.IFLA_NET_NS_FD, o.netns.fd));
  return out;
}

/** A name goes in IFLA_IFNAME with index 0 (the kernel looks it up); an index in the header. */
function selectLink(link: LinkRef): { index: number; attrs: Attr[] } {
  return typeof link === "number" ? { index: link, attrs: [] } : { index: 0, attrs: [attr.str(C.IFLA_IFNAME, link)] };
}

export interface NewBridge {
  name: string;
  mtu?: number;
  mac?: string;
}

/** RTM_NEWLINK (create, exclusive) of kind "bridge" — `ip link add NAME [mtu M] type bridge`. */
export function newBridgeRequest(b: NewBridge, seq = 0): Uint8Array {
  return encodeMessage(C.RTM_NEWLINK, CREATE, seq, ifinfomsg(), [
    ...linkAttrs(b),
    attr.str(C.IFLA_IFNAME, b.name),
    attr.nested(C.IFLA_LINKINFO, [attr.chars(C.IFLA_INFO_KIND, "bridge")]),
  ]);
}

export interface NewVeth {
  name: string;
  mtu?: number;
  mac?: string;
  /** The other end; with `netns` it is created directly in that namespace under `name`. */
  peer: { name: string; netns?: NetnsRef; mtu?: number; mac?: string };
}

/**
 * RTM_NEWLINK of kind "veth": IFLA_INFO_DATA holds VETH_INFO_PEER, itself an ifinfomsg and the
 * peer's attributes (IFLA_NET_NS_PID or IFLA_NET_NS_FD puts it straight into another netns) —
 * `ip link add NAME type veth peer name PEER netns PID`.
 */
export function newVethRequest(v: NewVeth, seq = 0): Uint8Array {
  const peer = concat(ifinfomsg(), encodeAttrs([...linkAttrs(v.peer), attr.str(C.IFLA_IFNAME, v.peer.name)]));
  return encodeMessage(C.RTM_NEWLINK, CREATE, seq, ifinfomsg(), [
    ...linkAttrs(v),
    attr.str(C.IFLA_IFNAME, v.name),
    attr.nested(C.IFLA_LINKINFO, [
      attr.chars(C.IFLA_INFO_KIND, "veth"),
      attr.nested(C.IFLA_INFO_DATA, [attr.bytes(C.VETH_INFO_PEER, peer)]),
    ]),
  ]);
}

export interface LinkChange {
  up?: boolean;
  mtu?: number;
  mac?: string;
  /** The bridge's index; 0 takes the link off its bridge. */
  master?: number;
}

/** RTM_NEWLINK without NLM_F_CREATE: changes an existing link — `ip link set … [up|down] [mtu] [address] [master]`. */
export function setLinkRequest(link: LinkRef, change: LinkChange, seq = 0): Uint8Array {
  const { index, attrs } = selectLink(link);
  const flags = change.up ? C.IFF_UP : 0;
  const mask = change.up === undefined ? 0 : C.IFF_UP;
  const extra = linkAttrs(change);
  if (change.master !== undefined) extra.push(attr.u32(C.IFLA_MASTER, change.master));
  return encodeMessage(C.RTM_NEWLINK, CHANGE, seq, ifinfomsg(index, flags, mask), [...attrs, ...extra]);
}

/**
 * A bridge port's settings — `ip link set LINK type bridge_slave hairpin on|off`: RTM_NEWLINK with
 * IFLA_LINKINFO { IFLA_INFO_KIND "bridge_slave", IFLA_INFO_SLAVE_DATA { IFLA_BRPORT_MODE u8 } }. The
 * kernel hands the slave data to the link's current master, so the link must be enslaved first.
 */
export function setBridgePortRequest(link: LinkRef, port: { hairpin: boolean }, seq = 0): Uint8Array {
  const { index, attrs } = selectLink(link);
  return encodeMessage(C.RTM_NEWLINK, CHANGE, seq, ifinfomsg(index), [
    ...attrs,
    attr.nested(C.IFLA_LINKINFO, [
      attr.chars(C.IFLA_INFO_KIND, "bridge_slave"),
      attr.nested(C.IFLA_INFO_SLAVE_DATA, [attr.u8(C.IFLA_BRPORT_MODE, port.hairpin ? 1 : 0)]),
    ]),
  ]);
}

/** RTM_DELLINK — `ip link del NAME` (deleting one end of a veth deletes both). */
export function deleteLinkRequest(link: LinkRef, seq = 0): Uint8Array {
  const { index, attrs } = selectLink(link);
  return encodeMessage(C.RTM_DELLINK, CHANGE, seq, ifinfomsg(index), attrs);
}

/**
 * RTM_GETLINK of one link (no ACK: the reply is the link or an error). iproute2 asks for
 * RTEXT_FILTER_VF as well; mini only skips the statistics.
 */
export function getLinkRequest(link: LinkRef, seq = 0): Uint8Array {
  const { index, attrs } = selectLink(link);
  return encodeMessage(C.RTM_GETLINK, C.NLM_F_REQUEST, seq, ifinfomsg(index), [
    attr.u32(C.IFLA_EXT_MASK, C.RTEXT_FILTER_SKIP_STATS),
    ...attrs,
  ]);
}

/** RTM_GETLINK dump of every link, without statistics. */
export function dumpLinksRequest(seq = 0): Uint8Array {
  return encodeMessage(C.RTM_GETLINK, C.NLM_F_REQUEST | C.NLM_F_DUMP, seq, ifinfomsg(), [
    attr.u32(C.IFLA_EXT_MASK, C.RTEXT_FILTER_SKIP_STATS),
  ]);
}

/** A link as the kernel describes it. */
export interface Link {
  index: number;
  name: string;
  /** ARPHRD_* (1 ether, 772 loopback). */
  type: number;
  /** IFF_* flags. */
  flags: number;
  up: boolean;
  mtu: number;
  mac?: string;
  /** The bridge it is enslaved to (index). */
  master?: number;
  /** IFLA_INFO_KIND: "bridge", "veth", … (absent for physical devices and lo). */
  kind?: string;
  /** IFLA_LINK: a veth's peer index (in the peer's namespace), … */
  link?: number;
}

export function parseLink(m: Message): Link {
  const p = m.payload;
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const a = parseAttrs(p.subarray(16));
  const flags = v.getUint32(8, true);
  const link: Link = {
    index: v.getInt32(4, true),
    name: read.str(a.get(C.IFLA_IFNAME) ?? new Uint8Array()),
    type: v.getUint16(2, true),
    flags,
    up: (flags & C.IFF_UP) !== 0,
    mtu: a.has(C.IFLA_MTU) ? read.u32(a.get(C.IFLA_MTU)!) : 0,
  };
  const mac = a.get(C.IFLA_ADDRESS);
  if (mac) link.mac = formatMac(mac);
  if (a.has(C.IFLA_MASTER)) link.master = read.u32(a.get(C.IFLA_MASTER)!);
  if (a.has(C.IFLA_LINK)) link.link = read.u32(a.get(C.IFLA_LINK)!);
  const info = a.get(C.IFLA_LINKINFO);
  const kind = info && parseAttrs(info).get(C.IFLA_INFO_KIND);
  if (kind) link.kind = read.str(kind);
  return link;
}

// ---- IPv4 addresses -------------------------------------------------------------------------

/** struct ifaddrmsg: family, prefixlen, flags, scope (u8 each), index u32. */
function ifaddrmsg(family: number, prefixLen = 0, scope = 0, index = 0): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint8(0, family);
  v.setUint8(1, prefixLen);
  v.setUint8(3, scope);
  v.setUint32(4, index, true);
  return b;
}

/** RTM_NEWADDR of an IPv4 address with its prefix on link `index` — `ip addr add A/N dev X`. */
export function newAddressRequest(index: number, cidr: string, seq = 0): Uint8Array {
  const { address, prefixLen } = parseCidr(cidr);
  const a = parseIpv4(address);
  return encodeMessage(C.RTM_NEWADDR, CREATE, seq, ifaddrmsg(C.AF_INET, prefixLen, C.RT_SCOPE_UNIVERSE, index), [
    attr.bytes(C.IFA_LOCAL, a),
    attr.bytes(C.IFA_ADDRESS, a),
  ]);
}

/** RTM_GETADDR dump of the IPv4 addresses — `ip -4 addr show`. */
export function dumpAddressesRequest(seq = 0): Uint8Array {
  return encodeMessage(C.RTM_GETADDR, C.NLM_F_REQUEST | C.NLM_F_DUMP, seq, ifaddrmsg(C.AF_INET));
}

export interface Address {
  index: number;
  family: number;
  prefixLen: number;
  /** IFA_LOCAL (the interface's own address; IFA_ADDRESS differs only on point-to-point links). */
  address: string;
  scope: number;
  flags: number;
  label?: string;
}

export function parseAddress(m: Message): Address {
  const p = m.payload;
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const a = parseAttrs(p.subarray(8));
  const local = a.get(C.IFA_LOCAL) ?? a.get(C.IFA_ADDRESS);
  const out: Address = {
    index: v.getUint32(4, true),
    family: p[0],
    prefixLen: p[1],
    address: local ? formatIpv4(local) : "",
    scope: p[3],
    flags: a.has(C.IFA_FLAGS) ? read.u32(a.get(C.IFA_FLAGS)!) : p[2],
  };
  if (a.has(C.IFA_LABEL)) out.label = read.str(a.get(C.IFA_LABEL)!);
  return out;
}

// ---- IPv4 routes ----------------------------------------------------------------------------

/** struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type (u8 each), flags u32. */
function rtmsg(o: { dstLen?: number; table?: number; protocol?: number; scope?: number; type?: number }) {
  return Uint8Array.of(
    C.AF_INET,
    o.dstLen ?? 0,
    0,
    0,
    o.table ?? 0,
    o.protocol ?? 0,
    o.scope ?? 0,
    o.type ?? 0,
    0,
    0,
    0,
    0,
  );
}

export interface NewRoute {
  /** "default" (the default) or "10.99.0.0/16". */
  dst?: string;
  gateway?: string;
  /** The outgoing link's index. */
  oif?: number;
}

/**
 * RTM_NEWROUTE in the main table — `ip route add DST [via GW] [dev X]`: protocol "boot" as
 * iproute2 sets it, scope link when there is no gateway (the destination is on the link).
 */
export function newRouteRequest(r: NewRoute, seq = 0): Uint8Array {
  const dst = !r.dst || r.dst === "default" ? undefined : parseCidr(r.dst);
  const attrs: Attr[] = [];
  if (dst && dst.prefixLen > 0) attrs.push(attr.bytes(C.RTA_DST, parseIpv4(dst.address)));
  if (r.gateway) attrs.push(attr.bytes(C.RTA_GATEWAY, parseIpv4(r.gateway)));
  if (r.oif) attrs.push(attr.u32(C.RTA_OIF, r.oif));
  const header = rtmsg({
    dstLen: dst?.prefixLen ?? 0,
    table: C.RT_TABLE_MAIN,
    protocol: C.RTPROT_BOOT,
    scope: r.gateway ? C.RT_SCOPE_UNIVERSE : C.RT_SCOPE_LINK,
    type: C.RTN_UNICAST,
  });
  return encodeMessage(C.RTM_NEWROUTE, CREATE, seq, header, attrs);
}

/** RTM_GETROUTE dump of the IPv4 main table — `ip -4 route show table main` (a filter under NETLINK_GET_STRICT_CHK). */
export function dumpRoutesRequest(seq = 0): Uint8Array {
  return encodeMessage(C.RTM_GETROUTE, C.NLM_F_REQUEST | C.NLM_F_DUMP, seq, rtmsg({}), [
    attr.u32(C.RTA_TABLE, C.RT_TABLE_MAIN),
  ]);
}

export interface Route {
  /** The destination's network address ("0.0.0.0" with dstLen 0 for the default route). */
  dst: string;
  dstLen: number;
  gateway?: string;
  oif?: number;
  prefsrc?: string;
  priority?: number;
  table: number;
  protocol: number;
  scope: number;
  /** RTN_*: 1 unicast, 2 local, 3 broadcast, … */
  type: number;
}

export function parseRoute(m: Message): Route {
  const p = m.payload;
  const a = parseAttrs(p.subarray(12));
  const ip = (t: number) => (a.has(t) ? formatIpv4(a.get(t)!) : undefined);
  const route: Route = {
    dst: ip(C.RTA_DST) ?? "0.0.0.0",
    dstLen: p[1],
    table: a.has(C.RTA_TABLE) ? read.u32(a.get(C.RTA_TABLE)!) : p[4],
    protocol: p[5],
    scope: p[6],
    type: p[7],
  };
  const gateway = ip(C.RTA_GATEWAY);
  if (gateway) route.gateway = gateway;
  if (a.has(C.RTA_OIF)) route.oif = read.u32(a.get(C.RTA_OIF)!);
  const prefsrc = ip(C.RTA_PREFSRC);
  if (prefsrc) route.prefsrc = prefsrc;
  if (a.has(C.RTA_PRIORITY)) route.priority = read.u32(a.get(C.RTA_PRIORITY)!);
  return route;
}
