import { describe, expect, test } from "bun:test";
import {
  blockSize,
  broadcastOf,
  contains,
  formatCidr,
  formatIPv4,
  macFromIPv4,
  nthAddress,
  overlaps,
  parseCidr,
  parseIPv4,
  tryParseIPv4,
} from "../../src/network/cidr.ts";

describe("IPv4 addresses", () => {
  test.each([
    ["0.0.0.0", 0],
    ["127.0.0.1", 0x7f000001],
    ["172.17.0.2", 0xac110002],
    ["255.255.255.255", 0xffffffff],
  ])("%s ⇄ %d", (s, n) => {
    expect(parseIPv4(s)).toBe(n);
    expect(formatIPv4(n)).toBe(s);
  });

  test.each(["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.-1", "a.b.c.d", " 1.2.3.4", "1..2.3", "::1"])(
    "rejects %p",
    (s) => {
      expect(tryParseIPv4(s)).toBeUndefined();
      expect(() => parseIPv4(s)).toThrow(`invalid IPv4 address "${s}"`);
    },
  );
});

describe("CIDR blocks", () => {
  test("parse, normalize, format", () => {
    expect(parseCidr("172.18.0.0/16")).toEqual({ network: 0xac120000, prefix: 16 });
    expect(formatCidr(parseCidr("172.18.5.9/16"))).toBe("172.18.0.0/16");
    expect(formatCidr(parseCidr("10.1.2.3/32"))).toBe("10.1.2.3/32");
    expect(formatCidr(parseCidr("10.1.2.3/0"))).toBe("0.0.0.0/0");
  });

  test.each(["172.18.0.0", "172.18.0.0/33", "172.18.0.0/-1", "172.18.0.0/", "172.18.0/16", "x/8", "1.2.3.4/016"])(
    "rejects %p",
    (s) => expect(() => parseCidr(s)).toThrow(`invalid CIDR "${s}"`),
  );

  test("size, broadcast, contains", () => {
    const c = parseCidr("192.168.16.0/20");
    expect(blockSize(c)).toBe(4096);
    expect(formatIPv4(broadcastOf(c))).toBe("192.168.31.255");
    expect(contains(c, parseIPv4("192.168.16.0"))).toBe(true);
    expect(contains(c, parseIPv4("192.168.31.255"))).toBe(true);
    expect(contains(c, parseIPv4("192.168.32.0"))).toBe(false);
    expect(contains(c, parseIPv4("192.168.15.255"))).toBe(false);
    expect(blockSize(parseCidr("0.0.0.0/0"))).toBe(2 ** 32);
    expect(contains(parseCidr("0.0.0.0/0"), 0xffffffff)).toBe(true);
  });

  test("overlaps", () => {
    const o = (a: string, b: string) => overlaps(parseCidr(a), parseCidr(b));
    expect(o("172.17.0.0/16", "172.17.5.0/24")).toBe(true);
    expect(o("172.17.5.0/24", "172.17.0.0/16")).toBe(true);
    expect(o("172.16.0.0/12", "172.31.255.0/24")).toBe(true);
    expect(o("172.17.0.0/16", "172.18.0.0/16")).toBe(false);
    expect(o("10.0.0.0/8", "11.0.0.0/8")).toBe(false);
    expect(o("10.0.0.1/32", "10.0.0.1/32")).toBe(true);
  });

  test("nth address", () => {
    const c = parseCidr("172.18.0.0/16");
    expect(formatIPv4(nthAddress(c, 0))).toBe("172.18.0.0");
    expect(formatIPv4(nthAddress(c, 1))).toBe("172.18.0.1");
    expect(formatIPv4(nthAddress(c, 256))).toBe("172.18.1.0");
    expect(formatIPv4(nthAddress(c, 65535))).toBe("172.18.255.255");
    expect(() => nthAddress(c, 65536)).toThrow("no address #65536 in 172.18.0.0/16");
    expect(() => nthAddress(c, -1)).toThrow();
  });
});

describe("MAC from IP", () => {
  test("docker's 02:42 prefix then the address", () => {
    expect(macFromIPv4(parseIPv4("172.17.0.2"))).toBe("02:42:ac:11:00:02");
    expect(macFromIPv4(parseIPv4("10.255.1.254"))).toBe("02:42:0a:ff:01:fe");
  });
});
