// One netlink socket (NETLINK_ROUTE for rtnetlink.ts, NETLINK_NETFILTER for nftables-read.ts):
// each request carries its own sequence number and waits for its ACK (or its reply, or the end of
// its dump); a kernel error becomes a NetlinkError naming the operation, the target and errno, with
// the kernel's extended-ack text when there is one.
//
// Another namespace: a netlink socket belongs for life to the network namespace it was created
// in, so `NetlinkSocket.open(protocol, ns)` setns()es the calling (main) thread into `ns` for the
// socket() call only and returns at once, as runtime/namespaces.ts does around Bun.spawn.
// Everything done through that socket then happens there, with no thread left in a foreign
// namespace and no child process.
import { debug, isDebug } from "../log.ts";
import * as sys from "../sys/calls.ts";
import * as C from "../sys/constants.ts";
import { EINTR, EMSGSIZE } from "../sys/errno.ts";
import { SyscallError } from "../sys/error.ts";
import { recv, send, setsockopt, setsockoptInt, socket } from "../sys/socket.ts";
import { type Message, Replies, setSeq } from "./netlink-message.ts";
import type { NetnsRef } from "./rtnetlink-message.ts";

/** A network namespace: a process's, an open nsfs fd, or a path (/proc/PID/ns/net, /run/netns/X). */
export type Netns = NetnsRef | { path: string };

/** A refused netlink request: `add veth v1 (peer eth0) in netns of pid 4711: EEXIST`. */
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

export const describeNetns = (ns: Netns): string =>
  "pid" in ns ? `netns of pid ${ns.pid}` : "fd" in ns ? `netns fd ${ns.fd}` : `netns ${ns.path}`;

const RECV_TIMEOUT_S = 10;
const DUMP_TRIES = 5;

function openSocket(protocol: number, what: string): number {
  const fd = socket(C.AF_NETLINK, C.SOCK_RAW, protocol, what);
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
export function netnsFd(ns: Netns): { fd: number; owned: boolean } {
  if ("fd" in ns) return { fd: ns.fd, owned: false };
  const path = "pid" in ns ? `/proc/${ns.pid}/ns/net` : ns.path;
  return { fd: sys.open(path, C.O_RDONLY), owned: true };
}

export class NetlinkSocket {
  private seq = 0;
  private fd: number;
  private readonly buf = new Uint8Array(64 * 1024);
  /** " in netns of pid N" for a socket in another namespace; appended to error messages. */
  readonly where: string;

  private constructor(fd: number, where: string) {
    this.fd = fd;
    this.where = where;
  }

  /** A socket of `protocol` in the caller's network namespace, or in `ns`. */
  static open(protocol: number, ns?: Netns): NetlinkSocket {
    if (!ns) return new NetlinkSocket(openSocket(protocol, ""), "");
    const where = describeNetns(ns);
    const { fd, owned } = netnsFd(ns);
    try {
      return new NetlinkSocket(
        inNetns(fd, where, () => openSocket(protocol, where)),
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

  /** Sends one request and returns its replies (see Replies); a kernel error throws a NetlinkError. */
  exchange(req: Uint8Array, op: string, target: string): Replies {
    const fail = (errno: number, message?: string) =>
      new NetlinkError(op, (target + this.where).trim(), errno, message);
    if (this.fd < 0) throw new Error(`${op} ${target}: netlink handle is closed`);
    const t0 = isDebug() ? performance.now() : 0;
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
    if (t0)
      debug(
        `netlink: ${op} ${(target + this.where).trim()}${status.errno ? " (refused)" : ""}`,
        performance.now() - t0,
      );
    if (status.errno) throw fail(status.errno, status.message);
    return replies;
  }

  /** A dump, redone when the kernel flags it inconsistent (NLM_F_DUMP_INTR: changed meanwhile). */
  dump(req: Uint8Array, op: string): Message[] {
    for (let i = 0; i < DUMP_TRIES; i++) {
      const replies = this.exchange(req, op, "");
      if (!replies.interrupted) return replies.messages;
    }
    throw new NetlinkError(op, this.where.trim(), EINTR, "dump kept changing");
  }
}
