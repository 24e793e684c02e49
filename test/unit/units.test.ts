import { describe, expect, test } from "bun:test";
import { MIN_MEMORY_BYTES, parseBytes, parseCpus, parseMemory, parseMemorySwap } from "../../src/config/units.ts";
import { UserError } from "../../src/common/errors.ts";

const MiB = 1024 * 1024;

describe("parseBytes", () => {
  test.each([
    ["1024", 1024],
    ["32m", 32 * MiB],
    ["32M", 32 * MiB],
    ["32mb", 32 * MiB],
    ["32MiB", 32 * MiB],
    ["512k", 512 * 1024],
    ["1g", 1024 * MiB],
    ["1.5g", 1.5 * 1024 * MiB],
    ["2t", 2 * 1024 ** 4],
    ["100b", 100],
    ["100B", 100],
    ["7 m", 7 * MiB],
    ["0", 0],
  ])("%p → %p", (s, n) => expect(parseBytes(s)).toBe(n));

  test.each(["abc", "", "-1", "1x", "1.5.5g", "m", "12ib", "1bb", "1e3", " 1 2 "])("rejects %p", (s) => {
    expect(() => parseBytes(s)).toThrow(UserError);
  });

  test("message is one clear line", () => {
    expect(() => parseBytes("abc")).toThrow(
      'invalid memory size "abc": use a number with an optional unit (b, k, m, g)',
    );
  });
});

describe("parseMemory", () => {
  test("accepts 6m and more", () => expect(parseMemory("6m")).toBe(MIN_MEMORY_BYTES));
  test("rejects below 6 MiB", () => expect(() => parseMemory("4m")).toThrow("minimum memory limit allowed is 6MB"));
});

describe("parseMemorySwap", () => {
  test("unset with memory: twice the memory", () => expect(parseMemorySwap(64 * MiB, undefined)).toBe(128 * MiB));
  test("unset without memory: unset", () => expect(parseMemorySwap(undefined, undefined)).toBeUndefined());
  test("-1: unlimited", () => expect(parseMemorySwap(64 * MiB, "-1")).toBe(-1));
  test("-1 without memory", () => expect(parseMemorySwap(undefined, "-1")).toBe(-1));
  test("a size: the total", () => expect(parseMemorySwap(64 * MiB, "1g")).toBe(1024 * MiB));
  test("equal to memory: no swap", () => expect(parseMemorySwap(64 * MiB, "64m")).toBe(64 * MiB));
  test("0 means unset", () => expect(parseMemorySwap(64 * MiB, "0")).toBe(128 * MiB));
  test("below memory", () =>
    expect(() => parseMemorySwap(64 * MiB, "32m")).toThrow(
      "minimum memoryswap limit should be larger than memory limit",
    ));
  test("without memory", () => expect(() => parseMemorySwap(undefined, "1g")).toThrow(UserError));
  test("bad size", () => expect(() => parseMemorySwap(64 * MiB, "lots")).toThrow('invalid memory-swap size "lots"'));
});

describe("parseCpus", () => {
  test("0.5", () => expect(parseCpus("0.5", 2)).toEqual({ quota: 50000, period: 100000 }));
  test("1.5", () => expect(parseCpus("1.5", 2)).toEqual({ quota: 150000, period: 100000 }));
  test("all cpus", () => expect(parseCpus("2", 2)).toEqual({ quota: 200000, period: 100000 }));
  test("0.01", () => expect(parseCpus("0.01", 2)).toEqual({ quota: 1000, period: 100000 }));
  test("more than the host has", () =>
    expect(() => parseCpus("3", 2)).toThrow(
      'invalid --cpus "3": range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available',
    ));
  test.each(["0", "-1", "abc", "", "NaN", "Infinity", "0.001", "1e2"])("rejects %p", (s) => {
    expect(() => parseCpus(s, 4)).toThrow(UserError);
  });
  test("defaults to the host's CPU count", () => {
    expect(() => parseCpus("0.5")).not.toThrow();
    expect(() => parseCpus("100000")).toThrow("CPUs available");
  });
});
