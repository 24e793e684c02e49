// The host side of a container's terminal. The pty always comes from the container's own devpts
// instance (so `tty` inside names /dev/pts/N, which exists there): for `run -t` the child stage
// makes it and sends the master back over a socket, for `exec -t` it is opened here through
// /proc/PID/root. PtyRelay moves bytes between that master and the user's terminal (tty.ts).
import { closeSync, read, writeSync } from "node:fs";
import { openRoot } from "../common/container-file.ts";
import * as sys from "../sys/calls.ts";
import * as C from "../sys/constants.ts";
import { openat2, statxAt } from "../sys/fs-calls.ts";

/** What tty.ts needs of a terminal: Bun's Subprocess terminal has the same shape. */
export interface TerminalLike {
  write(data: Uint8Array | string): void;
  resize(cols: number, rows: number): void;
  readonly closed: boolean;
  close(): void;
}

/** A pty master: its output goes to `onData`; EOF (EIO once every slave is closed) ends it. */
export class PtyRelay implements TerminalLike {
  closed = false;
  private readonly buf = Buffer.alloc(65536);

  constructor(
    private readonly master: number,
    onData: (data: Uint8Array) => void,
  ) {
    // fs.read runs on Bun's thread pool: a blocking read of a pty is fine there.
    const next = () =>
      read(this.master, this.buf, 0, this.buf.length, null, (err, n) => {
        if (err || n === 0) {
          this.closed = true;
          return;
        }
        onData(this.buf.subarray(0, n));
        if (!this.closed) next();
      });
    next();
  }

  write(data: Uint8Array | string): void {
    if (this.closed) return;
    try {
      const b = typeof data === "string" ? Buffer.from(data) : data;
      for (let off = 0; off < b.length; ) off += writeSync(this.master, b, off);
    } catch {
      /* the container's side is gone */
    }
  }

  resize(cols: number, rows: number): void {
    setWindowSize(this.master, rows, cols);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      closeSync(this.master);
    } catch {
      /* closed */
    }
  }
}

/** TIOCSWINSZ: rows and columns of a pty (either side). */
export function setWindowSize(fd: number, rows: number, cols: number): void {
  const ws = new Uint8Array(8);
  const v = new DataView(ws.buffer);
  v.setUint16(0, rows, true);
  v.setUint16(2, cols, true);
  try {
    sys.ioctl(fd, C.TIOCSWINSZ, ws, "TIOCSWINSZ");
  } catch {
    /* the pty is gone */
  }
}

/**
 * A pty from a running container's devpts (`exec -t`): its ptmx opened inside the container's
 * root (no symlink followed, it must be the ptmx device 5:2), the slave opened from the master
 * (TIOCGPTPEER: no path a container could swap). Both close-on-exec.
 */
export function openContainerPty(pid: number): { master: number; slave: number } {
  const root = openRoot(`/proc/${pid}/root`);
  let master: number;
  try {
    master = openat2(
      root,
      "dev/pts/ptmx",
      C.O_RDWR | C.O_NOCTTY,
      C.RESOLVE_IN_ROOT | C.RESOLVE_NO_SYMLINKS,
      "the container's /dev/pts/ptmx",
    );
  } finally {
    closeSync(root);
  }
  try {
    const st = statxAt(master, "", C.AT_EMPTY_PATH, "the container's /dev/pts/ptmx")!;
    if ((st.mode & C.S_IFMT) !== C.S_IFCHR || st.rdevMajor !== 5 || st.rdevMinor !== 2)
      throw new Error("the container's /dev/pts/ptmx is not the pty multiplexer");
    sys.ioctl(master, C.TIOCSPTLCK, new Uint8Array(4), "TIOCSPTLCK");
    const slave = sys.ioctlFd(master, C.TIOCGPTPEER, C.O_RDWR | C.O_NOCTTY | C.O_CLOEXEC, "TIOCGPTPEER");
    return { master, slave };
  } catch (e) {
    closeSync(master);
    throw e;
  }
}
