// The log cursor `logs -f` follows a container's log with: each cursor keeps its own file, offset
// and unfinished line, so two followers in one process (two containers, or the same one twice)
// read independently.
import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LogCursor } from "../../src/state/logs.ts";

const dir = mkdtempSync(join(tmpdir(), "mini-logs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rec = (stream: "stdout" | "stderr", text: string, partial = false) =>
  `2026-01-01T00:00:00.000000000Z ${stream} ${partial ? "P" : "F"} ${text}\n`;

/** The text of each whole record line a read returned. */
const lines = (c: LogCursor) =>
  c
    .read()
    .complete.split("\n")
    .filter(Boolean)
    .map((l) => l.split(" ").slice(3).join(" "));

describe("log cursor", () => {
  test("two cursors on one file keep their own position and unfinished line", () => {
    const path = join(dir, "same.log");
    writeFileSync(path, `${rec("stdout", "one")}${rec("stderr", "two")}2026-01-01T00:00:00Z stdout F thr`);
    const a = new LogCursor(path);
    const b = new LogCursor(path);
    expect(a.open()).toBe(true);
    expect(lines(a)).toEqual(["one", "two"]);
    appendFileSync(path, `ee\n${rec("stdout", "four")}`);
    expect(b.open()).toBe(true);
    // b starts at byte 0 although a has read the file: nothing of a's is shared.
    expect(lines(b)).toEqual(["one", "two", "three", "four"]);
    // a goes on from where it stopped, its half line completed.
    expect(lines(a)).toEqual(["three", "four"]);
    expect(a.read()).toEqual({ complete: "", read: false });
    expect(b.read()).toEqual({ complete: "", read: false });
    appendFileSync(path, rec("stdout", "five"));
    expect(lines(b)).toEqual(["five"]);
    expect(lines(a)).toEqual(["five"]);
    a.close();
    b.close();
  });

  test("cursors on two containers' logs don't share an offset", () => {
    const long = join(dir, "long.log");
    const short = join(dir, "short.log");
    writeFileSync(long, Array.from({ length: 50 }, (_, i) => rec("stdout", `long ${i}`)).join(""));
    writeFileSync(short, rec("stdout", "short 0"));
    const a = new LogCursor(long);
    const b = new LogCursor(short);
    a.open();
    b.open();
    expect(lines(a)).toHaveLength(50);
    // A shared offset would start b past the end of its (shorter) file and lose its record.
    expect(lines(b)).toEqual(["short 0"]);
    appendFileSync(short, rec("stderr", "short 1"));
    appendFileSync(long, rec("stdout", "long 50"));
    expect(lines(b)).toEqual(["short 1"]);
    expect(lines(a)).toEqual(["long 50"]);
    a.close();
    b.close();
  });

  test("seek, rotation: one cursor reopens the new file while the other reads the old one", () => {
    const path = join(dir, "rotate.log");
    const first = rec("stdout", "before");
    writeFileSync(path, `${first}${rec("stdout", "after")}`);
    const a = new LogCursor(path);
    const b = new LogCursor(path);
    a.open();
    b.open();
    a.seek(Buffer.byteLength(first)); // `start -a`: only what comes after
    expect(lines(a)).toEqual(["after"]);
    expect(lines(b)).toEqual(["before", "after"]);
    expect(a.rotated()).toBe(false);

    renameSync(path, `${path}.1`);
    writeFileSync(path, rec("stdout", "new file"));
    appendFileSync(`${path}.1`, rec("stdout", "late line in the old file"));
    expect(a.rotated()).toBe(true);
    expect(b.rotated()).toBe(true);
    a.close();
    expect(a.isOpen).toBe(false);
    expect(a.open()).toBe(true);
    expect(lines(a)).toEqual(["new file"]);
    expect(a.rotated()).toBe(false);
    // b still holds the rotated file open and reads its last line before moving on.
    expect(lines(b)).toEqual(["late line in the old file"]);
    b.close();
    b.open();
    expect(lines(b)).toEqual(["new file"]);
    a.close();
    b.close();
  });

  test("no file yet: open() is false until the monitor creates it", () => {
    const path = join(dir, "later.log");
    const c = new LogCursor(path);
    expect(c.open()).toBe(false);
    expect(c.isOpen).toBe(false);
    writeFileSync(path, rec("stderr", "hello"));
    expect(c.open()).toBe(true);
    expect(lines(c)).toEqual(["hello"]);
    c.close();
  });
});
