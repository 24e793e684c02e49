// The child stage's report channel (its fd 4, close-on-exec): JSON lines, the last one deciding.
//   {"warning": "..."}              something the runtime says (logged by the parent, not written
//   {"debug": "..."}                to the container's stderr); more lines follow
//   {"message": "...", "code": N}   setup or exec failed; the child exits with N
//   {"created": true}               OCI create: set up, now waiting on exec.fifo for `start`
//   EOF without a message           the command was exec'd (the channel closed at execve)
// The parent's end is non-blocking, so a waiting parent keeps its event loop (signals, a tty).
import { readSync } from "node:fs";
import * as log from "../log.ts";

export type ChildReport =
  | { kind: "exec" }
  | { kind: "created" }
  /** `mountpoints`: what the child created in the rootfs before failing, for the parent to remove. */
  | { kind: "failed"; message: string; code: number; mountpoints?: string[] };

/** Reads the report; with `timeoutMs`, gives up and returns undefined when none came in time. */
export async function readChildReport(fd: number, timeoutMs?: number): Promise<ChildReport | undefined> {
  const buf = Buffer.alloc(65536);
  let text = "";
  /** The complete lines so far: warnings logged and dropped, the first other message returned. */
  const nextMessage = (): ChildReport | undefined => {
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n")) {
      const line = text.slice(0, nl);
      text = text.slice(nl + 1);
      const said = logLineOf(line);
      if (said?.warning !== undefined) log.warn(said.warning);
      else if (said?.debug !== undefined) log.debug(said.debug);
      else if (line.trim()) return parse(line);
    }
    return undefined;
  };
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
    if (n === 0) {
      const last = nextMessage();
      if (last) return last;
      return text.trim() ? parse(text) : { kind: "exec" };
    }
    text += buf.toString("utf8", 0, n);
    const complete = nextMessage();
    if (complete) return complete;
  }
}

function logLineOf(line: string): { warning?: string; debug?: string } | undefined {
  try {
    const msg = JSON.parse(line);
    if (typeof msg?.warning === "string") return { warning: msg.warning };
    if (typeof msg?.debug === "string") return { debug: msg.debug };
  } catch {
    /* not JSON: the child's own words */
  }
  return undefined;
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
