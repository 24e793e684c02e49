// The cgroup v2 device program: built as data, run by an interpreter against device accesses.
import { describe, expect, test } from "bun:test";
import { DEFAULT_DEVICE_RULES } from "../../src/config/defaults.ts";
import type { DeviceRule } from "../../src/config/types.ts";
import { decode, deviceProgram, effectiveRules, encode, OP } from "../../src/cgroups/v2/devices.ts";
import { devCtx, run } from "../helpers/ebpf-interp.ts";

const allowed = (rules: DeviceRule[], type: "c" | "b", major: number, minor: number, access: string) =>
  run(deviceProgram(rules), devCtx(type, major, minor, access)) === 1;

describe("device program", () => {
  test("docker's default rules: the standard devices and ptys, mknod of anything, no disks", () => {
    const r = DEFAULT_DEVICE_RULES;
    expect(allowed(r, "c", 1, 3, "rw")).toBe(true); // /dev/null
    expect(allowed(r, "c", 1, 9, "r")).toBe(true); // /dev/urandom
    expect(allowed(r, "c", 136, 4, "rw")).toBe(true); // a pty
    expect(allowed(r, "c", 5, 2, "rw")).toBe(true); // ptmx
    expect(allowed(r, "b", 8, 0, "m")).toBe(true); // mknod of a disk node is allowed...
    expect(allowed(r, "b", 8, 0, "r")).toBe(false); // ...opening it is not
    expect(allowed(r, "c", 10, 229, "rw")).toBe(false); // /dev/fuse
    expect(allowed(r, "c", 1, 1, "r")).toBe(false); // /dev/mem
  });

  test("an allow rule with an access subset allows only that subset", () => {
    const r: DeviceRule[] = [
      { allow: false, access: "rwm" },
      { allow: true, type: "c", major: 10, minor: 229, access: "r" },
    ];
    expect(allowed(r, "c", 10, 229, "r")).toBe(true);
    expect(allowed(r, "c", 10, 229, "rw")).toBe(false);
    expect(allowed(r, "c", 10, 228, "r")).toBe(false);
  });

  test("the last matching rule wins; a deny matches any access it names", () => {
    const r: DeviceRule[] = [
      { allow: false, access: "rwm" },
      { allow: true, type: "b", major: 7, access: "rw" }, // every loop device
      { allow: false, type: "b", major: 7, minor: 3, access: "w" }, // but loop3 read-only
    ];
    expect(allowed(r, "b", 7, 1, "rw")).toBe(true);
    expect(allowed(r, "b", 7, 3, "r")).toBe(true);
    expect(allowed(r, "b", 7, 3, "rw")).toBe(false);
    expect(allowed(r, "c", 7, 1, "r")).toBe(false); // a char device with the same numbers
  });

  test("an 'all devices' rule resets the default and forgets the rules before it", () => {
    expect(effectiveRules([{ allow: true, type: "c", major: 1, minor: 1 }, { allow: true }])).toEqual({
      defaultAllow: true,
      rules: [],
    });
    const privileged: DeviceRule[] = [
      { allow: false, access: "rwm" },
      { allow: true, access: "rwm" },
    ];
    expect(allowed(privileged, "b", 8, 0, "rw")).toBe(true);
    expect(allowed(privileged, "c", 1, 1, "rwm")).toBe(true);
    // no rules at all: deny (the always-allowed devices still pass)
    expect(allowed([], "b", 8, 0, "r")).toBe(false);
    expect(allowed([], "c", 1, 3, "rw")).toBe(true);
  });

  test("instructions: context loads first, one exit per rule plus the default, encoding round-trips", () => {
    const prog = deviceProgram([
      { allow: false, access: "rwm" },
      { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
    ]);
    expect(prog.slice(0, 6).map((x) => x.code)).toEqual([OP.LDXW, OP.AND32K, OP.LDXW, OP.RSH32K, OP.LDXW, OP.LDXW]);
    expect(prog.at(-1)!.code).toBe(OP.EXIT);
    const bytes = encode(prog);
    expect(bytes.length).toBe(prog.length * 8);
    expect(decode(bytes)).toEqual(prog);
    // the first instruction: r2 = *(u32 *)(r1 + 0) → 61 12 00 00 00 00 00 00
    expect([...bytes.slice(0, 8)]).toEqual([0x61, 0x12, 0, 0, 0, 0, 0, 0]);
  });
});
