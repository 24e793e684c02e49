// The child stage's OCI `create` part: the wait for `start` on exec.fifo.
import { readSync, writeSync } from "node:fs";
import * as sys from "../sys/calls.ts";
import * as C from "../sys/constants.ts";
import { ERROR_FD } from "./child-config.ts";

/** Opened before pivot_root (the fifo lives on the host); O_RDWR so the open doesn't block. */
export function openStartFifo(path: string): number {
  return sys.open(path, C.O_RDWR | C.O_CLOEXEC);
}

/** Tells `create` that setup is done, then blocks until `start` writes to the fifo. */
export function awaitStart(fifo: number): void {
  writeSync(ERROR_FD, `${JSON.stringify({ created: true })}\n`);
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
