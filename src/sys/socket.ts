// Sockets: unix sockets and ptys for the console socket of the OCI runtime CLI (connect to the
// engine's socket and send it the pty master with SCM_RIGHTS, what runc's --console-socket does),
// and the plain socket/setsockopt/send/recv that the netlink client (src/network) is built on.
import { ptr } from "bun:ffi";
import {
  AF_INET,
  AF_UNIX,
  IFF_UP,
  FD_CLOEXEC,
  F_SETFD,
  MSG_CMSG_CLOEXEC,
  SCM_RIGHTS,
  SIOCGIFFLAGS,
  SIOCSIFFLAGS,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
} from "./constants.ts";
import { EINTR, EIO, ENAMETOOLONG } from "./errno.ts";
import { SyscallError } from "./error.ts";
import { errno, libc } from "./libc.ts";

/** A connected AF_UNIX stream socket (close-on-exec). */
export function unixConnect(path: string): number {
  const fd = libc().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new SyscallError("socket", path, errno());
  const addr = Buffer.alloc(110); // struct sockaddr_un: sun_family, sun_path[108]
  addr.writeUInt16LE(AF_UNIX, 0);
  if (Buffer.byteLength(path) > 107) throw new SyscallError("connect", path, ENAMETOOLONG);
  addr.write(path, 2);
  if (libc().connect(fd, addr, 110) < 0) {
    const e = errno();
    libc().close(fd);
    throw new SyscallError("connect", path, e);
  }
  return fd;
}

/** The most fds one SCM_RIGHTS message carries (the kernel's SCM_MAX_FD). */
export const MAX_FDS_PER_MESSAGE = 253;

/** sendmsg(sock) of `data` with `fds` as SCM_RIGHTS (x86_64/arm64 layouts); returns the bytes sent. */
export function sendFds(sock: number, fds: number[], data: Uint8Array, what = ""): number {
  const iov = new BigUint64Array([BigInt(ptr(data)), BigInt(data.length)]);
  const space = 16 + Math.ceil((fds.length * 4) / 8) * 8; // CMSG_SPACE(n ints)
  const control = Buffer.alloc(fds.length ? space : 0);
  if (fds.length) {
    control.writeBigUInt64LE(BigInt(16 + fds.length * 4), 0); // CMSG_LEN
    control.writeInt32LE(SOL_SOCKET, 8);
    control.writeInt32LE(SCM_RIGHTS, 12);
    fds.forEach((fd, i) => {
      control.writeInt32LE(fd, 16 + i * 4);
    });
  }
  const msg = Buffer.alloc(56); // struct msghdr
  msg.writeBigUInt64LE(BigInt(ptr(iov)), 16);
  msg.writeBigUInt64LE(1n, 24);
  if (fds.length) {
    msg.writeBigUInt64LE(BigInt(ptr(control)), 32);
    msg.writeBigUInt64LE(BigInt(control.length), 40);
  }
  for (;;) {
    const n = Number(libc().sendmsg(sock, msg, 0));
    if (n < 0 && errno() === EINTR) continue;
    if (n < 0) throw new SyscallError("sendmsg", what, errno());
    return n;
  }
}

/** sendmsg(sock) with `name` as data (runc sends the pty's path) and `fd` as SCM_RIGHTS. */
export function sendFd(sock: number, fd: number, name: string, what = ""): void {
  sendFds(sock, [fd], Buffer.from(name || "\0"), what);
}

/**
 * recvmsg(sock) into `buf`: the bytes read (0 at EOF) and the fds that came with them
 * (close-on-exec).
 */
export function recvFds(sock: number, buf: Uint8Array, what = ""): { n: number; fds: number[] } {
  const iov = new BigUint64Array([BigInt(ptr(buf)), BigInt(buf.length)]);
  const control = Buffer.alloc(16 + MAX_FDS_PER_MESSAGE * 4 + 8);
  const msg = Buffer.alloc(56); // struct msghdr
  msg.writeBigUInt64LE(BigInt(ptr(iov)), 16);
  msg.writeBigUInt64LE(1n, 24);
  msg.writeBigUInt64LE(BigInt(ptr(control)), 32);
  msg.writeBigUInt64LE(BigInt(control.length), 40);
  for (;;) {
    const n = Number(libc().recvmsg(sock, msg, MSG_CMSG_CLOEXEC));
    if (n < 0 && errno() === EINTR) continue;
    if (n < 0) throw new SyscallError("recvmsg", what, errno());
    const controlLen = Number(msg.readBigUInt64LE(40));
    const fds: number[] = [];
    if (controlLen >= 16 && control.readInt32LE(8) === SOL_SOCKET && control.readInt32LE(12) === SCM_RIGHTS) {
      const count = (Number(control.readBigUInt64LE(0)) - 16) / 4;
      for (let i = 0; i < count; i++) fds.push(control.readInt32LE(16 + i * 4));
    }
    return { n, fds };
  }
}

/** A connected pair of AF_UNIX stream sockets, close-on-exec. */
export function socketpair(): [number, number] {
  const fds = new Int32Array(2);
  if (libc().socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
    throw new SyscallError("socketpair", "", errno());
  return [fds[0]!, fds[1]!];
}

/** recvmsg(sock) of one message carrying an fd: the fd, or undefined when none came (the peer closed). */
export function recvFd(sock: number, what = ""): number | undefined {
  const { fds } = recvFds(sock, Buffer.alloc(4096), what);
  for (const extra of fds.slice(1)) libc().close(extra);
  return fds[0];
}

/** openpty(3): [master, slave], both close-on-exec. */
export function openpty(): [number, number] {
  const fds = new Int32Array(2);
  if (libc().openpty(fds, fds.subarray(1), null, null, null) < 0) throw new SyscallError("openpty", "", errno());
  for (const fd of fds) libc().fcntl(fd, F_SETFD, BigInt(FD_CLOEXEC));
  return [fds[0]!, fds[1]!];
}

/** socket(2); SOCK_CLOEXEC is always added. */
export function socket(domain: number, type: number, protocol: number, what = ""): number {
  const fd = libc().socket(domain, type | SOCK_CLOEXEC, protocol);
  if (fd < 0) throw new SyscallError("socket", what, errno());
  return fd;
}

/** setsockopt(2) with the option's bytes as given. */
export function setsockopt(fd: number, level: number, name: number, value: NodeJS.TypedArray, what = ""): void {
  if (libc().setsockopt(fd, level, name, value, value.byteLength) < 0)
    throw new SyscallError("setsockopt", what, errno());
}

/** setsockopt(2) of an int option. */
export function setsockoptInt(fd: number, level: number, name: number, value: number, what = ""): void {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value);
  setsockopt(fd, level, name, b, what);
}

/** send(2) of one datagram, retried on EINTR; a short send (never on a datagram socket) is an error. */
export function send(fd: number, data: Uint8Array, flags = 0, what = ""): void {
  for (;;) {
    const n = Number(libc().send(fd, data, BigInt(data.byteLength), flags));
    if (n === data.byteLength) return;
    const e = n < 0 ? errno() : 0;
    if (e === EINTR) continue;
    throw new SyscallError("send", what, e || EIO);
  }
}

/** recv(2) into `buf`, retried on EINTR; with MSG_TRUNC in `flags` the datagram's real length. */
export function recv(fd: number, buf: Uint8Array, flags = 0, what = ""): number {
  for (;;) {
    const n = Number(libc().recv(fd, buf, BigInt(buf.byteLength), flags));
    if (n >= 0) return n;
    const e = errno();
    if (e !== EINTR) throw new SyscallError("recv", what, e);
  }
}

/**
 * `ip link set NAME up` in the caller's network namespace, the way ifconfig does it: two
 * netdevice(7) ioctls on an inet socket (a child stage brings its own lo up with this).
 */
export function interfaceUp(name: string): void {
  const fd = socket(AF_INET, SOCK_DGRAM, 0, `for ${name} up`);
  try {
    const ifreq = new Uint8Array(40); // struct ifreq: char ifr_name[16], then ifr_flags (short)
    ifreq.set(Buffer.from(name).subarray(0, 15));
    if (libc().ioctl(fd, BigInt(SIOCGIFFLAGS), ifreq) < 0) throw new SyscallError("ioctl SIOCGIFFLAGS", name, errno());
    const view = new DataView(ifreq.buffer);
    view.setInt16(16, view.getInt16(16, true) | IFF_UP, true);
    if (libc().ioctl(fd, BigInt(SIOCSIFFLAGS), ifreq) < 0) throw new SyscallError("ioctl SIOCSIFFLAGS", name, errno());
  } finally {
    libc().close(fd);
  }
}
