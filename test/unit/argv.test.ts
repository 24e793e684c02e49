import { describe, expect, test } from "bun:test";
import { list, parseOptions } from "../../src/cli/argv.ts";
import { runArgs } from "../../src/cli/commands/run.ts";

describe("argv pre-pass", () => {
  test("everything after ROOTFS belongs to the command", () => {
    const p = parseOptions(["-it", "--hostname", "h", "./rootfs", "sh", "-c", "echo hi", "--help"], runArgs, true);
    expect(p.values.interactive).toBe(true);
    expect(p.values.tty).toBe(true);
    expect(p.values.hostname).toBe("h");
    expect(p.operands).toEqual(["./rootfs", "sh", "-c", "echo hi", "--help"]);
    expect(p.help).toBe(false);
  });

  test("repeatable flags keep every value, in every spelling", () => {
    const p = parseOptions(["-e", "A=1", "--env=B=2", "-eC=3", "--env", "D", "-v", "/a:/b", "r"], runArgs, true);
    expect(list(p.values.env)).toEqual(["A=1", "B=2", "C=3", "D"]);
    expect(list(p.values.volume)).toEqual(["/a:/b"]);
  });

  test("short flags with attached values", () => {
    const p = parseOptions(["-m32m", "-w", "/x", "r"], runArgs, true);
    expect(p.values.memory).toBe("32m");
    expect(p.values.workdir).toBe("/x");
  });

  test("unknown flags and missing values are errors", () => {
    expect(() => parseOptions(["--bogus", "r"], runArgs, true)).toThrow("unknown flag: --bogus");
    expect(() => parseOptions(["-Z", "r"], runArgs, true)).toThrow("unknown shorthand flag");
    expect(() => parseOptions(["--memory"], runArgs, true)).toThrow("flag needs an argument");
  });

  test("--help before ROOTFS asks for help; -- ends options", () => {
    expect(parseOptions(["--help"], runArgs, true).help).toBe(true);
    expect(parseOptions(["--", "-weird-rootfs", "cmd"], runArgs, true).operands).toEqual(["-weird-rootfs", "cmd"]);
  });

  test("enum values are checked", () => {
    expect(() => parseOptions(["--log-level", "loud", "r"], runArgs, true)).toThrow("invalid value");
  });
});
