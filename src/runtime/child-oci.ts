// The child stage's OCI `create` parts: the console (a pty from the container's own devpts, its
// master sent to the engine's --console-socket) and the wait for `start` on exec.fifo.
import { readSync, writeSync } from "node:fs";
import * as sys from "../sys/calls.ts";
import * as C from "../sys/constants.ts";
import { SyscallError } from "../sys/error.ts";
import { sendFd } from "../sys/socket.ts";
import { ERROR_FD } from "./child-config.ts";

/** Opened before pivot_root (the fifo lives on the host); O_RDWR so the open doesn't block. */
export function openStartFifo(path: string): number {
  return sys.open(path, C.O_RDWR | C.O_CLOEXEC);
}

/**
 * After pivot_root: a pty from /dev/ptmx (the container's devpts instance), the master sent over
 * the console socket (fd `socketFd`), the slave made stdin/stdout/stderr and controlling tty.
 */
export function setupConsole(socketFd: number, size?: { height: number; width: number }): void {
  const master = sys.open("/dev/ptmx", C.O_RDWR | C.O_NOCTTY | C.O_CLOEXEC);
  sys.ioctl(master, C.TIOCSPTLCK, new Uint8Array(4), "TIOCSPTLCK /dev/ptmx");
  const n = new Uint8Array(4);
  sys.ioctl(master, C.TIOCGPTN, n, "TIOCGPTN /dev/ptmx");
  const slavePath = `/dev/pts/${new DataView(n.buffer).getUint32(0, true)}`;
  const slave = sys.open(slavePath, C.O_RDWR | C.O_NOCTTY | C.O_CLOEXEC);
  if (size) {
    const ws = new Uint8Array(8);
    const v = new DataView(ws.buffer);
    v.setUint16(0, size.height, true);
    v.setUint16(2, size.width, true);
    sys.ioctl(slave, C.TIOCSWINSZ, ws, `TIOCSWINSZ ${slavePath}`);
  }
  sendFd(socketFd, master, slavePath, "console socket");
  sys.close(master);
  sys.close(socketFd);
  try {
    sys.setsid();
  } catch (e) {
    if (!(e instanceof SyscallError && e.code === "EPERM")) throw e;
  } // already a session leader
  sys.ioctl(slave, C.TIOCSCTTY, null, `TIOCSCTTY ${slavePath}`);
  for (const fd of [0, 1, 2]) sys.dup2(slave, fd);
  sys.close(slave);
}

/** Tells `create` that setup is done, then blocks until `start` writes to the fifo. */
export function awaitStart(fifo: number): void {
  writeSync(ERROR_FD, JSON.stringify({ created: true }));
  const b = Buffer.alloc(1);
  for (;;) {
    try {
      if (readSync(fifo, b, 0, 1, null) === 1) break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EINTR" && (e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
    }
  }
  sys.close(fifo);
}
