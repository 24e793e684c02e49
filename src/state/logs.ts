// Reading a detached container's log, as mini-shim's monitor writes it: CRI records
// "TIME STREAM F|P TEXT" (F ends a line, P is part of one), in container.log and, once rotated,
// container.log.1. `logs -f` follows the file across rotations until the container has exited.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync, writeSync } from "node:fs";
import type { ContainerRecord } from "./containers.ts";
import { statusOf } from "./status.ts";
import { containerPaths as files } from "../common/paths.ts";

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
    if (out) writeAll(1, out);
    if (err) writeAll(2, err);
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

function writeAll(fd: number, s: string): void {
  const b = Buffer.from(s);
  for (let off = 0; off < b.length; ) off += writeSync(fd, b, off);
}

const parseLines = (text: string) =>
  text
    .split("\n")
    .filter(Boolean)
    .map(parseRecord)
    .filter((r): r is LogRecord => !!r);

/** Prints the container's log; with `follow`, keeps printing until the container has exited. */
export async function followLogs(rec: ContainerRecord, o: LogOptions): Promise<void> {
  const path = files.log(rec.id);
  let fd = -1,
    ino = -1;
  const openCurrent = () => {
    try {
      fd = openSync(path, "r");
      ino = fstatSync(fd).ino;
      return true;
    } catch {
      fd = -1;
      return false;
    }
  };
  if (o.fromOffset === undefined) {
    let old: LogRecord[] = [];
    try {
      old = parseLines(readFileSync(`${path}.1`, "utf8"));
    } catch {
      /* not rotated */
    }
    if (openCurrent()) {
      // Read the current file through fd, so no record written meanwhile is read twice or lost.
      const cur = readFrom(fd);
      const all = old.concat(parseLines(cur.complete));
      emit(o.tail !== undefined ? all.slice(Math.max(0, all.length - o.tail)) : all, o.timestamps);
      pending = cur.rest;
    } else emit(o.tail !== undefined ? old.slice(Math.max(0, old.length - o.tail)) : old, o.timestamps);
  } else if (openCurrent()) {
    pos = o.fromOffset;
  }
  if (!o.follow) {
    if (fd >= 0) closeSync(fd);
    return;
  }
  let finalPass = false;
  for (;;) {
    if (fd < 0 && !openCurrent()) {
      if (exited(rec)) return;
      await Bun.sleep(50);
      continue;
    }
    const got = readFrom(fd);
    if (got.complete) emit(parseLines(got.complete), o.timestamps);
    pending = got.rest;
    if (got.read) continue;
    let rotated = false;
    try {
      rotated = statSync(path).ino !== ino;
    } catch {
      rotated = existsSync(`${path}.1`);
    }
    if (rotated) {
      closeSync(fd);
      fd = -1;
      pos = 0;
      pending = Buffer.alloc(0);
      continue;
    }
    if (finalPass) break;
    if (exited(rec)) {
      finalPass = true;
      continue;
    } // one more read: the monitor wrote its last lines before the exit file
    await Bun.sleep(50);
  }
  if (fd >= 0) closeSync(fd);
}

let pos = 0;
let pending: Buffer = Buffer.alloc(0);

/** Reads from the current position; whole lines in `complete`, the unfinished tail in `rest`. */
function readFrom(fd: number): { complete: string; rest: Buffer; read: boolean } {
  const chunks: Buffer[] = [];
  const buf = Buffer.allocUnsafe(1 << 20);
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, pos);
    if (n <= 0) break;
    pos += n;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  const data = Buffer.concat([pending, ...chunks]);
  const cut = data.lastIndexOf(0x0a) + 1;
  return { complete: data.toString("utf8", 0, cut), rest: data.subarray(cut), read: chunks.length > 0 };
}

function exited(rec: ContainerRecord): boolean {
  const st = statusOf(rec);
  if (st.status === "running" || st.status === "paused") return false;
  return !rec.detached || existsSync(files.exit(rec.id)) || st.status === "created";
}
