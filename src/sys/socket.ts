// Unix sockets and ptys for the console socket of the OCI runtime CLI: connect to the engine's
// socket and send it the pty master with SCM_RIGHTS (what runc's --console-socket does).
import { ptr } from "bun:ffi";
import { AF_UNIX, FD_CLOEXEC, F_SETFD, SCM_RIGHTS, SOCK_CLOEXEC, SOCK_STREAM, SOL_SOCKET } from "./constants.ts";
import { ENAMETOOLONG } from "./errno.ts";
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

/** sendmsg(sock) with `name` as data (runc sends the pty's path) and `fd` as SCM_RIGHTS (x86_64/arm64 layouts). */
export function sendFd(sock: number, fd: number, name: string, what = ""): void {
  const data = Buffer.from(name || "\0");
  const iov = new BigUint64Array([BigInt(ptr(data)), BigInt(data.length)]);
  const control = Buffer.alloc(24); // CMSG_SPACE(sizeof(int)): cmsg_len(8) level(4) type(4) int(4) pad(4)
  control.writeBigUInt64LE(20n, 0); // CMSG_LEN(4)
  control.writeInt32LE(SOL_SOCKET, 8);
  control.writeInt32LE(SCM_RIGHTS, 12);
  control.writeInt32LE(fd, 16);
  const msg = Buffer.alloc(56); // struct msghdr
  msg.writeBigUInt64LE(BigInt(ptr(iov)), 16);
  msg.writeBigUInt64LE(1n, 24);
  msg.writeBigUInt64LE(BigInt(ptr(control)), 32);
  msg.writeBigUInt64LE(24n, 40);
  if (libc().sendmsg(sock, msg, 0) < 0) throw new SyscallError("sendmsg", what, errno());
}

/** openpty(3): [master, slave], both close-on-exec. */
export function openpty(): [number, number] {
  const fds = new Int32Array(2);
  if (libc().openpty(fds, fds.subarray(1), null, null, null) < 0) throw new SyscallError("openpty", "", errno());
  for (const fd of fds) libc().fcntl(fd, F_SETFD, BigInt(FD_CLOEXEC));
  return [fds[0]!, fds[1]!];
}
