import { describe, expect, test } from "bun:test";
import {
  applyCapFlags,
  CAPABILITIES,
  capName,
  capNumber,
  capsToMask,
  DEFAULT_CAPS,
  maskToCaps,
  normalizeCap,
  ociCapabilities,
} from "../../src/config/capabilities.ts";
import { UserError } from "../../src/common/errors.ts";

const sorted = (l: readonly string[]) => [...l].sort((a, b) => capNumber(a)! - capNumber(b)!);

describe("names and numbers", () => {
  test("the table matches linux/capability.h", () => {
    expect(CAPABILITIES.length).toBe(41);
    expect(capNumber("CAP_CHOWN")).toBe(0);
    expect(capNumber("CAP_NET_RAW")).toBe(13);
    expect(capNumber("CAP_SYS_ADMIN")).toBe(21);
    expect(capNumber("CAP_SETFCAP")).toBe(31);
    expect(capNumber("CAP_AUDIT_READ")).toBe(37);
    expect(capNumber("CAP_CHECKPOINT_RESTORE")).toBe(40);
    expect(capName(39)).toBe("CAP_BPF");
    expect(capNumber("CAP_NOPE")).toBeUndefined();
  });
  test("normalizeCap accepts any case, with or without CAP_", () => {
    expect(normalizeCap("net_admin")).toBe("CAP_NET_ADMIN");
    expect(normalizeCap("Cap_Sys_Time")).toBe("CAP_SYS_TIME");
    expect(normalizeCap("all")).toBe("ALL");
    expect(() => normalizeCap("FLY")).toThrow(UserError);
    expect(() => normalizeCap("FLY")).toThrow('unknown capability: "FLY"');
  });
  test("masks", () => {
    expect(capsToMask(DEFAULT_CAPS)).toBe(0xa80425fbn); // docker's CapBnd
    expect(capsToMask(["net_raw"])).toBe(1n << 13n);
    expect(capsToMask(undefined)).toBe(0n);
    expect(capsToMask(CAPABILITIES)).toBe(0x1ffffffffffn);
    expect(maskToCaps(0xa80425fbn)).toEqual(sorted(DEFAULT_CAPS));
    expect(maskToCaps(1n << 50n)).toEqual(["CAP_50"]);
    expect(() => capsToMask(["CAP_FLY"])).toThrow("unknown capability");
  });
});

describe("applyCapFlags (docker's TweakCapabilities)", () => {
  test("no flags: the defaults", () => {
    expect(applyCapFlags(DEFAULT_CAPS, [], [])).toEqual(sorted(DEFAULT_CAPS));
  });
  test("defaults minus drop plus add, any spelling, no duplicates", () => {
    const got = applyCapFlags(DEFAULT_CAPS, ["sys_admin", "CAP_CHOWN"], ["net_raw", "CAP_MKNOD"]);
    expect(got).toContain("CAP_SYS_ADMIN");
    expect(got).not.toContain("CAP_NET_RAW");
    expect(got).not.toContain("CAP_MKNOD");
    expect(got.filter((c) => c === "CAP_CHOWN").length).toBe(1);
    expect(got.length).toBe(DEFAULT_CAPS.length - 2 + 1);
  });
  test("--cap-add ALL --cap-drop X: everything but X", () => {
    const got = applyCapFlags(DEFAULT_CAPS, ["ALL"], ["sys_admin"]);
    expect(got.length).toBe(40);
    expect(got).not.toContain("CAP_SYS_ADMIN");
  });
  test("--cap-drop ALL --cap-add X: only X", () => {
    expect(applyCapFlags(DEFAULT_CAPS, ["net_bind_service"], ["all"])).toEqual(["CAP_NET_BIND_SERVICE"]);
    expect(applyCapFlags(DEFAULT_CAPS, [], ["ALL"])).toEqual([]);
  });
  test("ALL in both: add wins, as in docker", () => {
    expect(applyCapFlags(DEFAULT_CAPS, ["ALL"], ["ALL"])).toEqual([...CAPABILITIES]);
    expect(applyCapFlags(DEFAULT_CAPS, ["ALL"], [])).toEqual([...CAPABILITIES]);
  });
  test("unknown names fail", () => {
    expect(() => applyCapFlags(DEFAULT_CAPS, ["CAP_FLY"], [])).toThrow('unknown capability: "CAP_FLY"');
    expect(() => applyCapFlags(DEFAULT_CAPS, [], ["walk"])).toThrow('unknown capability: "walk"');
  });
});

describe("ociCapabilities", () => {
  test("root: bounding = effective = permitted, no inheritable or ambient", () => {
    const caps = ociCapabilities(DEFAULT_CAPS, 0);
    expect(caps).toEqual({ bounding: [...DEFAULT_CAPS], effective: [...DEFAULT_CAPS], permitted: [...DEFAULT_CAPS] });
  });
  test("non-root: only bounding (execve would clear the rest)", () => {
    expect(ociCapabilities(DEFAULT_CAPS, 1000)).toEqual({ bounding: [...DEFAULT_CAPS] });
  });
});
