// The child stage's terminal: a pty from the container's own devpts instance (so `tty` names
// /dev/pts/N, which exists inside), bound to /dev/console as docker and runc do, made the
// process's stdin/stdout/stderr and controlling tty; its master goes out over a unix socket (fd
// CONSOLE_FD): to `mini run -t` (which relays it to the user's terminal) or to an OCI engine's
// --console-socket.
import * as sys from "../sys/calls.ts";
import * as C from "../sys/constants.ts";
import { SyscallError } from "../sys/error.ts";
import { sendFd } from "../sys/socket.ts";

/** After pivot_root. `size`: the terminal's rows and columns, set before the process starts. */
export function setupConsole(socketFd: number, size?: { height: number; width: number }): void {
  const master = sys.open("/dev/pts/ptmx", C.O_RDWR | C.O_NOCTTY);
  sys.ioctl(master, C.TIOCSPTLCK, new Uint8Array(4), "TIOCSPTLCK /dev/pts/ptmx");
  const n = new Uint8Array(4);
  sys.ioctl(master, C.TIOCGPTN, n, "TIOCGPTN /dev/pts/ptmx");
  const slavePath = `/dev/pts/${new DataView(n.buffer).getUint32(0, true)}`;
  const slave = sys.ioctlFd(master, C.TIOCGPTPEER, C.O_RDWR | C.O_NOCTTY | C.O_CLOEXEC, `TIOCGPTPEER ${slavePath}`);
  if (size) {
    const ws = new Uint8Array(8);
    const v = new DataView(ws.buffer);
    v.setUint16(0, size.height, true);
    v.setUint16(2, size.width, true);
    sys.ioctl(slave, C.TIOCSWINSZ, ws, `TIOCSWINSZ ${slavePath}`);
  }
  bindConsole(slavePath);
  sendFd(socketFd, master, slavePath, "console socket");
  sys.close(master);
  sys.close(socketFd);
  try {
    sys.setsid();
  } catch (e) {
    if (!(e instanceof SyscallError && e.code === "EPERM")) throw e; // already a session leader
  }
  sys.ioctl(slave, C.TIOCSCTTY, null, `TIOCSCTTY ${slavePath}`);
  for (const fd of [0, 1, 2]) sys.dup2(slave, fd);
  sys.close(slave);
}

/** /dev/console: the pty's slave bound over it. Skipped where /dev is read-only (the config's choice). */
function bindConsole(slavePath: string): void {
  const { closeSync, openSync } = require("node:fs") as typeof import("node:fs");
  try {
    closeSync(openSync("/dev/console", "a", 0o600));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EROFS") return;
    throw new SyscallError("create", "/dev/console", Math.abs((e as NodeJS.ErrnoException).errno ?? 0));
  }
  sys.mount(slavePath, "/dev/console", null, C.MS_BIND);
}
