// rtnetlink operations on one NETLINK_ROUTE socket (netlink-socket.ts): bridges and their ports'
// hairpin mode, veth pairs (the peer created straight into another network namespace),
// master/up/MTU/MAC, IPv4 addresses and routes, lookups and dumps. A kernel error is a
// NetlinkError naming the operation, the interface and errno.
//
// Another namespace: `Rtnetlink.openIn(ns)` opens its socket there (see netlink-socket.ts).
// Everything done through that handle (addresses, routes, `lo` up inside a container) then
// happens there, with no thread left in a foreign namespace and no child process. Creating links needs no switch: the
// veth's peer is created directly in the target namespace with IFLA_NET_NS_PID/IFLA_NET_NS_FD,
// under its final name (the host's own eth0 never clashes with the container's), so there is no
// "create, then move" window in which it sits in the host's namespace.
import * as sys from "../sys/calls.ts";
import * as C from "../sys/constants.ts";
import { ENODEV } from "../sys/errno.ts";
import type { Message } from "./netlink-message.ts";
import { describeNetns, type Netns, NetlinkError, NetlinkSocket, netnsFd } from "./netlink-socket.ts";
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
  setBridgePortRequest,
  setLinkRequest,
} from "./rtnetlink-message.ts";

export { type Netns, NetlinkError } from "./netlink-socket.ts";

const describeLink = (link: LinkRef): string => (typeof link === "number" ? `#${link}` : link);

export class Rtnetlink {
  private readonly sock: NetlinkSocket;

  private constructor(sock: NetlinkSocket) {
    this.sock = sock;
  }

  /** " in netns of pid N" for a handle on another namespace; appended to error messages. */
  get where(): string {
    return this.sock.where;
  }

  /** A handle on the caller's network namespace. */
  static open(): Rtnetlink {
    return new Rtnetlink(NetlinkSocket.open(C.NETLINK_ROUTE));
  }

  /** A handle on another network namespace (see netlink-socket.ts). */
  static openIn(ns: Netns): Rtnetlink {
    return new Rtnetlink(NetlinkSocket.open(C.NETLINK_ROUTE, ns));
  }

  close(): void {
    this.sock.close();
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

  /**
   * Hairpin mode on a bridge port — `ip link set LINK type bridge_slave hairpin on`: frames may
   * leave by the port they came in on (a container reaching its own published port through DNAT).
   */
  setHairpin(link: LinkRef, on: boolean): void {
    this.exchange(
      setBridgePortRequest(link, { hairpin: on }),
      "set bridge port",
      `${describeLink(link)} hairpin ${on ? "on" : "off"}`,
    );
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

  private exchange(req: Uint8Array, op: string, target: string) {
    return this.sock.exchange(req, op, target);
  }

  private dump(req: Uint8Array, op: string): Message[] {
    return this.sock.dump(req, op);
  }
}

/** `ip link set lo up` in a network namespace (the caller's when none is given). */
export function loopbackUp(ns?: Netns): void {
  using nl = ns ? Rtnetlink.openIn(ns) : Rtnetlink.open();
  nl.setUp("lo");
}
