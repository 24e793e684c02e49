// rtnetlink operations on one NETLINK_ROUTE socket: bridges, veth pairs (the peer created straight
// into another network namespace), master/up/MTU/MAC, IPv4 addresses and routes, lookups and dumps.
// Each request carries its own sequence number and waits for its ACK (or its reply, or the end
// of its dump); a kernel error becomes a NetlinkError naming the operation, the interface and
// errno, with the kernel's extended-ack text when there is one.
//
// Another namespace: a netlink socket belongs for life to the network namespace it was created
// in, so `Rtnetlink.openIn(ns)` setns()es the calling (main) thread into `ns` for the socket()
// call only and returns at once, as runtime/namespaces.ts does around Bun.spawn. Everything done
// through that handle (addresses, routes, `lo` up inside a container) then happens there, with no
// thread left in a foreign namespace and no child process. Creating links needs no switch: the
// veth's peer is created directly in the target namespace with IFLA_NET_NS_PID/IFLA_NET_NS_FD,
// under its final name (the host's own eth0 never clashes with the container's), so there is no
// "create, then move" window in which it sits in the host's namespace.
import * as sys from "../sys/calls.ts";
import * as C from "../sys/constants.ts";
import { EINTR, EMSGSIZE, ENODEV } from "../sys/errno.ts";
import { SyscallError } from "../sys/error.ts";
import { recv, send, setsockopt, setsockoptInt, socket } from "../sys/socket.ts";
import { type Message, Replies, setSeq } from "./netlink-message.ts";
import {
  type Address,
  deleteLinkRequest,
  dumpAddressesRequest,
  dumpLinksRequest,
  dumpRoutesRequest,
  getLinkRequest,
  type Link,
  type LinkChange,
  type LinkRef,
  type NetnsRef,
  newAddressRequest,
  newBridgeRequest,
  newRouteRequest,
  newVethRequest,
  parseAddress,
  parseLink,
  parseRoute,
  type Route,
  setLinkRequest,
} from "./rtnetlink-message.ts";

/** A network namespace: a process's, an open nsfs fd, or a path (/proc/PID/ns/net, /run/netns/X). */
export type Netns = NetnsRef | { path: string };

/** A refused rtnetlink request: `add veth v1 (peer eth0) in netns of pid 4711: EEXIST`. */
export class NetlinkError extends SyscallError {
  /** The kernel's extended-ack text, when it gave one. */
  readonly kernelMessage?: string;

  constructor(op: string, target: string, errno: number, kernelMessage?: string) {
    super(op, target, errno);
    this.name = "NetlinkError";
    if (kernelMessage) {
      this.kernelMessage = kernelMessage;
      this.message += ` (${kernelMessage})`;
    }
  }
}

const describeNetns = (ns: Netns): string =>
  "pid" in ns ? `netns of pid ${ns.pid}` : "fd" in ns ? `netns fd ${ns.fd}` : `netns ${ns.path}`;
const describeLink = (link: LinkRef): string => (typeof link === "number" ? `#${link}` : link);

const RECV_TIMEOUT_S = 10;
const DUMP_TRIES = 5;

function openSocket(what: string): number {
  const fd = socket(C.AF_NETLINK, C.SOCK_RAW, C.NETLINK_ROUTE, what);
  try {
    // Best effort: kernels before 4.20 lack some; replies parse the same without them.
    for (const opt of [C.NETLINK_EXT_ACK, C.NETLINK_CAP_ACK, C.NETLINK_GET_STRICT_CHK])
      try {
        setsockoptInt(fd, C.SOL_NETLINK, opt, 1, what);
      } catch {}
    // The kernel answers while send() runs; a reply that never comes is a bug, not a wait.
    setsockopt(fd, C.SOL_SOCKET, C.SO_RCVTIMEO, new BigInt64Array([BigInt(RECV_TIMEOUT_S), 0n]), what);
    return fd;
  } catch (e) {
    sys.close(fd);
    throw e;
  }
}

/** Runs `fn` with the calling thread in the network namespace `fd`, then back in its own. */
function inNetns<T>(fd: number, what: string, fn: () => T): T {
  const own = sys.open("/proc/thread-self/ns/net", C.O_RDONLY);
  try {
    sys.setns(fd, C.CLONE_NEWNET, what);
    try {
      return fn();
    } finally {
      sys.setns(own, C.CLONE_NEWNET, "back to own netns");
    }
  } finally {
    sys.close(own);
  }
}

/** An fd for a namespace given by pid or path (closed by the caller), or the fd given. */
function netnsFd(ns: Netns): { fd: number; owned: boolean } {
  if ("fd" in ns) return { fd: ns.fd, owned: false };
  const path = "pid" in ns ? `/proc/${ns.pid}/ns/net` : ns.path;
  return { fd: sys.open(path, C.O_RDONLY), owned: true };
}

export class Rtnetlink {
  private seq = 0;
  private fd: number;
  private readonly buf = new Uint8Array(64 * 1024);
  /** " in netns of pid N" for a handle on another namespace; appended to error messages. */
  readonly where: string;

  private constructor(fd: number, where: string) {
    this.fd = fd;
    this.where = where;
  }

  /** A handle on the caller's network namespace. */
  static open(): Rtnetlink {
    return new Rtnetlink(openSocket(""), "");
  }

  /** A handle on another network namespace (see the top of this file). */
  static openIn(ns: Netns): Rtnetlink {
    const where = describeNetns(ns);
    const { fd, owned } = netnsFd(ns);
    try {
      return new Rtnetlink(
        inNetns(fd, where, () => openSocket(where)),
        ` in ${where}`,
      );
    } finally {
      if (owned) sys.close(fd);
    }
  }

  close(): void {
    if (this.fd >= 0) sys.close(this.fd);
    this.fd = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // ---- links --------------------------------------------------------------------------------

  /** `ip link add NAME [mtu M] [address MAC] type bridge` (down, like any new link). */
  createBridge(name: string, opts: { mtu?: number; mac?: string } = {}): void {
    this.exchange(newBridgeRequest({ name, ...opts }), "add bridge", name);
  }

  /**
   * A veth pair `name` ↔ `peer`; with `peerNetns` the peer is created in that namespace (by pid,
   * fd or path). `mtu` applies to both ends.
   */
  createVeth(
    name: string,
    peer: string,
    opts: { peerNetns?: Netns; mtu?: number; mac?: string; peerMac?: string } = {},
  ): void {
    const ns = opts.peerNetns;
    const target = `${name} (peer ${peer})${ns ? ` in ${describeNetns(ns)}` : ""}`;
    const held = ns && "path" in ns ? netnsFd(ns) : undefined;
    const netns: NetnsRef | undefined = held ? { fd: held.fd } : (ns as NetnsRef | undefined);
    try {
      const req = newVethRequest({
        name,
        mtu: opts.mtu,
        mac: opts.mac,
        peer: { name: peer, netns, mtu: opts.mtu, mac: opts.peerMac },
      });
      this.exchange(req, "add veth", target);
    } finally {
      if (held) sys.close(held.fd);
    }
  }

  /** Changes a link in one request: up/down, MTU, MAC, master (a bridge, or null for none). */
  setLink(link: LinkRef, change: Omit<LinkChange, "master"> & { master?: LinkRef | null }): void {
    const parts = [describeLink(link)];
    if (change.master !== undefined)
      parts.push(change.master === null ? "nomaster" : `master ${describeLink(change.master)}`);
    if (change.mtu !== undefined) parts.push(`mtu ${change.mtu}`);
    if (change.mac !== undefined) parts.push(`address ${change.mac}`);
    if (change.up !== undefined) parts.push(change.up ? "up" : "down");
    const master = change.master === undefined ? undefined : change.master === null ? 0 : this.linkIndex(change.master);
    this.exchange(setLinkRequest(link, { ...change, master }), "set link", parts.join(" "));
  }

  setUp(link: LinkRef): void {
    this.setLink(link, { up: true });
  }

  setDown(link: LinkRef): void {
    this.setLink(link, { up: false });
  }

  setMtu(link: LinkRef, mtu: number): void {
    this.setLink(link, { mtu });
  }

  setMac(link: LinkRef, mac: string): void {
    this.setLink(link, { mac });
  }

  /** Enslaves `link` to the bridge `master`; null takes it off. */
  setMaster(link: LinkRef, master: LinkRef | null): void {
    this.setLink(link, { master });
  }

  /** `ip link del` (a veth's other end goes with it; the bridge's ports are released). */
  deleteLink(link: LinkRef): void {
    this.exchange(deleteLinkRequest(link), "delete link", describeLink(link));
  }

  /** One link; a missing one throws ENODEV (`get link eth9: ENODEV`). */
  getLink(link: LinkRef): Link {
    const [reply] = this.exchange(getLinkRequest(link), "get link", describeLink(link)).messages;
    if (!reply) throw new NetlinkError("get link", describeLink(link) + this.where, ENODEV);
    return parseLink(reply);
  }

  /** One link, or undefined when there is none by that name. */
  findLink(link: LinkRef): Link | undefined {
    try {
      return this.getLink(link);
    } catch (e) {
      if (e instanceof NetlinkError && e.errno === ENODEV) return undefined;
      throw e;
    }
  }

  linkIndex(link: LinkRef): number {
    return typeof link === "number" ? link : this.getLink(link).index;
  }

  listLinks(): Link[] {
    return this.dump(dumpLinksRequest(), "list links").map(parseLink);
  }

  // ---- IPv4 addresses and routes ------------------------------------------------------------

  /** `ip addr add A/N dev LINK`. */
  addAddress(link: LinkRef, cidr: string): void {
    const index = this.linkIndex(link);
    this.exchange(newAddressRequest(index, cidr), "add address", `${cidr} to ${describeLink(link)}`);
  }

  /** The IPv4 addresses of every link. */
  listAddresses(): Address[] {
    return this.dump(dumpAddressesRequest(), "list addresses").map(parseAddress);
  }

  /** `ip route add DST [via GATEWAY] [dev LINK]`; DST "default" or "A/N". */
  addRoute(route: { dst: string; gateway?: string; dev?: LinkRef }): void {
    const what = [route.dst];
    if (route.gateway) what.push(`via ${route.gateway}`);
    if (route.dev !== undefined) what.push(`dev ${describeLink(route.dev)}`);
    const oif = route.dev === undefined ? undefined : this.linkIndex(route.dev);
    this.exchange(newRouteRequest({ dst: route.dst, gateway: route.gateway, oif }), "add route", what.join(" "));
  }

  addDefaultRoute(gateway: string, dev?: LinkRef): void {
    this.addRoute({ dst: "default", gateway, dev });
  }

  /** The IPv4 routes of the main table (the kernel filters; checked again here for old kernels). */
  listRoutes(): Route[] {
    return this.dump(dumpRoutesRequest(), "list routes")
      .map(parseRoute)
      .filter((r) => r.table === C.RT_TABLE_MAIN);
  }

  /** The MTU of the link the main table's IPv4 default route leaves by (what docker gives its bridge); undefined without one. */
  defaultRouteMtu(): number | undefined {
    const route = this.listRoutes().find((r) => r.dstLen === 0 && r.oif !== undefined);
    return route && this.getLink(route.oif!).mtu;
  }

  // ---- the exchange -------------------------------------------------------------------------

  /** Sends one request and returns its replies (see Replies); a kernel error throws a NetlinkError. */
  private exchange(req: Uint8Array, op: string, target: string): Replies {
    const fail = (errno: number, message?: string) =>
      new NetlinkError(op, (target + this.where).trim(), errno, message);
    if (this.fd < 0) throw new Error(`${op} ${target}: netlink handle is closed`);
    setSeq(req, (this.seq = (this.seq + 1) >>> 0 || 1));
    const replies = new Replies(req);
    try {
      send(this.fd, req, 0, op);
      for (;;) {
        const n = recv(this.fd, this.buf, C.MSG_TRUNC, op);
        if (n > this.buf.byteLength) throw fail(EMSGSIZE, `reply of ${n} bytes truncated`);
        if (replies.add(this.buf.subarray(0, n))) break;
      }
    } catch (e) {
      throw e instanceof SyscallError && !(e instanceof NetlinkError) ? fail(e.errno) : e;
    }
    const status = replies.status!;
    if (status.errno) throw fail(status.errno, status.message);
    return replies;
  }

  /** A dump, redone when the kernel flags it inconsistent (NLM_F_DUMP_INTR: changed meanwhile). */
  private dump(req: Uint8Array, op: string): Message[] {
    for (let i = 0; i < DUMP_TRIES; i++) {
      const replies = this.exchange(req, op, "");
      if (!replies.interrupted) return replies.messages;
    }
    throw new NetlinkError(op, this.where.trim(), EINTR, "dump kept changing");
  }
}

/** `ip link set lo up` in a network namespace (the caller's when none is given). */
export function loopbackUp(ns?: Netns): void {
  using nl = ns ? Rtnetlink.openIn(ns) : Rtnetlink.open();
  nl.setUp("lo");
}
