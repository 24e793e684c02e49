// Reading a detached container's log, as mini-shim's monitor writes it: CRI records
// "TIME STREAM F|P TEXT" (F ends a line, P is part of one), in container.log and, once rotated,
// container.log.1. `logs -f` follows the file across rotations until the container has exited.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import type { ContainerRecord } from "./containers.ts";
import { statusOf } from "./status.ts";
import { containerPaths as files } from "../common/paths.ts";
import { writeAll } from "../sys/calls.ts";

export interface LogRecord {
  time: string;
  stream: "stdout" | "stderr";
  partial: boolean;
  text: string;
}

export function parseRecord(line: string): LogRecord | undefined {
  const a = line.indexOf(" ");
  const b = line.indexOf(" ", a + 1);
  if (a < 0 || b < 0) return undefined;
  const stream = line.slice(a + 1, b);
  if (stream !== "stdout" && stream !== "stderr") return undefined;
  return { time: line.slice(0, a), stream, partial: line[b + 1] === "P", text: line.slice(b + 3) };
}

export interface LogOptions {
  follow: boolean;
  timestamps: boolean;
  /** Only the last N records. */
  tail?: number;
  /** Start at this byte of the current file (skip what was there: `start -a`). */
  fromOffset?: number;
}

/** Writes records to our stdout/stderr, batched per stream. */
function emit(records: LogRecord[], timestamps: boolean): void {
  let out = "",
    err = "";
  const flush = () => {
    if (out) writeAll(1, Buffer.from(out));
    if (err) writeAll(2, Buffer.from(err));
    out = err = "";
  };
  for (const r of records) {
    const s = `${timestamps ? `${r.time} ` : ""}${r.text}${r.partial ? "" : "\n"}`;
    if (r.stream === "stdout") {
      if (err) flush();
      out += s;
    } else {
      if (out) flush();
      err += s;
    }
  }
  flush();
}

const parseLines = (text: string) =>
  text
    .split("\n")
    .filter(Boolean)
    .map(parseRecord)
    .filter((r): r is LogRecord => !!r);

/**
 * A read position in a container's log: the open file, the byte offset reached and the unfinished
 * line read so far. Each follower has its own, so two in one process don't disturb each other.
 */
export class LogCursor {
  private fd = -1;
  private ino = -1;
  private pos = 0;
  private pending: Buffer = Buffer.alloc(0);

  constructor(readonly path: string) {}

  get isOpen(): boolean {
    return this.fd >= 0;
  }

  /** Opens the file now at `path`; false when there is none. */
  open(): boolean {
    try {
      this.fd = openSync(this.path, "r");
      this.ino = fstatSync(this.fd).ino;
      return true;
    } catch {
      this.fd = -1;
      return false;
    }
  }

  /** Moves to byte `offset` of the file. */
  seek(offset: number): void {
    this.pos = offset;
  }

  /**
   * Reads from the current position to the end of the file: whole lines in `complete`, the
   * unfinished tail kept for the next read; `read` is false when there was nothing new.
   */
  read(): { complete: string; read: boolean } {
    const chunks: Buffer[] = [];
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(this.fd, buf, 0, buf.length, this.pos);
      if (n <= 0) break;
      this.pos += n;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    const data = Buffer.concat([this.pending, ...chunks]);
    const cut = data.lastIndexOf(0x0a) + 1;
    this.pending = data.subarray(cut);
    return { complete: data.toString("utf8", 0, cut), read: chunks.length > 0 };
  }

  /** True when `path` is no longer the file open (the monitor rotated it to `path`.1). */
  rotated(): boolean {
    try {
      return statSync(this.path).ino !== this.ino;
    } catch {
      return existsSync(`${this.path}.1`);
    }
  }

  /** Closes the file and forgets the position: the next open() starts at byte 0. */
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.pos = 0;
    this.pending = Buffer.alloc(0);
  }
}

/** Prints the container's log; with `follow`, keeps printing until the container has exited. */
export async function followLogs(rec: ContainerRecord, o: LogOptions): Promise<void> {
  const path = files.log(rec.id);
  const cur = new LogCursor(path);
  if (o.fromOffset === undefined) {
    let old: LogRecord[] = [];
    try {
      old = parseLines(readFileSync(`${path}.1`, "utf8"));
    } catch {
      /* not rotated */
    }
    if (cur.open()) {
      // Read the current file through its fd, so no record written meanwhile is read twice or lost.
      const all = old.concat(parseLines(cur.read().complete));
      emit(o.tail !== undefined ? all.slice(Math.max(0, all.length - o.tail)) : all, o.timestamps);
    } else emit(o.tail !== undefined ? old.slice(Math.max(0, old.length - o.tail)) : old, o.timestamps);
  } else if (cur.open()) {
    cur.seek(o.fromOffset);
  }
  if (!o.follow) {
    cur.close();
    return;
  }
  let finalPass = false;
  for (;;) {
    if (!cur.isOpen && !cur.open()) {
      if (exited(rec)) return;
      await Bun.sleep(50);
      continue;
    }
    const got = cur.read();
    if (got.complete) emit(parseLines(got.complete), o.timestamps);
    if (got.read) continue;
    if (cur.rotated()) {
      cur.close();
      continue;
    }
    if (finalPass) break;
    if (exited(rec)) {
      finalPass = true;
      continue;
    } // one more read: the monitor wrote its last lines before the exit file
    await Bun.sleep(50);
  }
  cur.close();
}

function exited(rec: ContainerRecord): boolean {
  const st = statusOf(rec);
  if (st.status === "running" || st.status === "paused") return false;
  return !rec.detached || existsSync(files.exit(rec.id)) || st.status === "created";
}
