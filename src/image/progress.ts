// Pull progress on stderr: one bar line per layer on a terminal (bytes, rate), plain lines
// otherwise, nothing with -q.
import { writeSync } from "node:fs";
import { isTerminal } from "../common/terminal.ts";

export interface Progress {
  line(msg: string): void;
  layerProgress(digest: string, done: number, total: number): void;
  layerDone(digest: string, size: number, existed: boolean): void;
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

function quietProgress(): Progress {
  return { line() {}, layerProgress() {}, layerDone() {} };
}

function plainProgress(): Progress {
  return {
    line: (msg) => writeSync(2, `${msg}\n`),
    layerProgress() {},
    layerDone: (d, size, existed) =>
      writeSync(2, `${d.slice(7, 19)}: ${existed ? "already exists" : `pulled ${mib(size)}`}\n`),
  };
}

/** Bars redrawn in place (ANSI cursor moves), at most every 100 ms. */
function terminalProgress(): Progress {
  const rows: string[] = [];
  const state = new Map<string, { row: number; started: number; done: number; total: number; text?: string }>();
  let drawn = 0;
  let last = 0;
  const draw = (force = false) => {
    const now = performance.now();
    if (!force && now - last < 100) return;
    last = now;
    let out = drawn ? `\x1b[${drawn}A` : "";
    for (const r of rows) out += `\r\x1b[2K${r}\n`;
    drawn = rows.length;
    writeSync(2, out);
  };
  const bar = (done: number, total: number) => {
    const w = 30,
      f = total ? Math.min(w, Math.round((done / total) * w)) : 0;
    return `[${"=".repeat(f)}${f < w ? ">" : ""}${" ".repeat(Math.max(0, w - f - 1))}]`;
  };
  const row = (d: string) => {
    let s = state.get(d);
    if (!s) {
      s = { row: rows.length, started: performance.now(), done: 0, total: 0 };
      state.set(d, s);
      rows.push("");
    }
    return s;
  };
  return {
    line(msg) {
      rows.push(msg);
      draw(true);
    },
    layerProgress(d, done, total) {
      const s = row(d);
      s.done = done;
      s.total = total;
      const secs = (performance.now() - s.started) / 1000;
      rows[s.row] =
        `${d.slice(7, 19)}: ${bar(done, total)} ${mib(done)}/${mib(total)} ${secs > 0 ? mib(done / secs) : "-"}/s`;
      draw();
    },
    layerDone(d, size, existed) {
      const s = row(d);
      rows[s.row] = `${d.slice(7, 19)}: ${existed ? "already exists" : `pull complete ${mib(size)}`}`;
      draw(true);
    },
  };
}

export function progressFor(quiet: boolean): Progress {
  if (quiet) return quietProgress();
  return isTerminal(2) ? terminalProgress() : plainProgress();
}
