// The child stage's report channel (its fd 4, close-on-exec): one JSON message, or nothing.
//   {"message": "...", "code": N}   setup or exec failed; the child exits with N
//   {"created": true}               OCI create: set up, now waiting on exec.fifo for `start`
//   EOF without a message           the command was exec'd (the channel closed at execve)
// The parent's end is non-blocking, so a waiting parent keeps its event loop (signals, a tty).
import { readSync } from "node:fs";

export type ChildReport =
  | { kind: "exec" }
  | { kind: "created" }
  /** `mountpoints`: what the child created in the rootfs before failing, for the parent to remove. */
  | { kind: "failed"; message: string; code: number; mountpoints?: string[] };

/** Reads the report; with `timeoutMs`, gives up and returns undefined when none came in time. */
export async function readChildReport(fd: number, timeoutMs?: number): Promise<ChildReport | undefined> {
  const buf = Buffer.alloc(65536);
  let text = "";
  let pause = 1;
  const deadline = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") return { kind: "exec" };
      if (performance.now() > deadline) return undefined;
      await Bun.sleep(pause);
      pause = Math.min(pause * 2, 16);
      continue;
    }
    if (n === 0) return text ? parse(text) : { kind: "exec" };
    text += buf.toString("utf8", 0, n);
    const complete = tryParse(text);
    if (complete) return complete;
  }
}

function tryParse(text: string): ChildReport | undefined {
  let msg: { created?: boolean; message?: string; code?: number; mountpoints?: string[] };
  try {
    msg = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (msg.created) return { kind: "created" };
  return {
    kind: "failed",
    message: String(msg.message ?? "container setup failed"),
    code: msg.code ?? 125,
    mountpoints: Array.isArray(msg.mountpoints) ? msg.mountpoints.map(String) : undefined,
  };
}

/** At EOF: a message cut short is still the child's words. */
const parse = (text: string): ChildReport => tryParse(text) ?? { kind: "failed", message: text.trim(), code: 125 };
