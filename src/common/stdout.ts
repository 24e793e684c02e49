// Command output on stdout with a plain write(2). Touching process.stdout first builds Node's stream
// machinery, ~8 ms of a short command's start (measured: a compiled Bun program that prints one
// line with process.stdout.write takes 13.3 ms, with fs.writeSync 5.3 ms).
import { writeSync } from "node:fs";

/** Writes all of `text` to fd 1. A reader that went away (EPIPE: `mini ps | head`) ends the output. */
export function printOut(text: string): void {
  let buf = Buffer.from(text);
  while (buf.length > 0) {
    let n: number;
    try {
      n = writeSync(1, buf);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") {
        Bun.sleepSync(1); // an fd left non-blocking by whoever shares it
        continue;
      }
      if (code === "EPIPE") return;
      throw e;
    }
    buf = buf.subarray(n);
  }
}
