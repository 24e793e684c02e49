import { describe, expect, test } from "bun:test";
import { DEFAULT_PATH, defaultEnv, mergeEnv, parseEnvFile, parseEnvFlag } from "../../src/config/env.ts";
import { UserError } from "../../src/common/errors.ts";

const host = { FROM_HOST: "hv", EMPTY: "" };

describe("parseEnvFile", () => {
  test("KEY=VAL lines verbatim; comments, blanks and leading space skipped", () => {
    const text = '\uFEFFA=1\n# comment\n\n   B = spaced value \nC="quoted"\nD=x=y\n  # indented comment\nE=\r\n';
    expect(() => parseEnvFile(text, host)).toThrow("line 4: variable 'B ' contains whitespace");
    const ok = '\uFEFFA=1\n# comment\n\n   B= spaced value \nC="quoted"\nD=x=y\n  # indented comment\nE=\r\n';
    expect(parseEnvFile(ok, host)).toEqual(["A=1", "B= spaced value ", 'C="quoted"', "D=x=y", "E="]);
  });
  test("a bare KEY takes the host value or is dropped", () => {
    expect(parseEnvFile("FROM_HOST\nNOT_ON_HOST\nEMPTY\n", host)).toEqual(["FROM_HOST=hv", "EMPTY="]);
  });
  test("bad names are user errors naming the file and line", () => {
    expect(() => parseEnvFile("A=1\n=oops\n", host, "my.env")).toThrow("my.env line 2: no variable name in '=oops'");
    expect(() => parseEnvFile("OK=1\n\nBAD KEY=1\n", host)).toThrow(UserError);
    expect(() => parseEnvFile("OK=1\n\nBAD KEY=1\n", host)).toThrow("line 3:");
    expect(() => parseEnvFile("TRAILING \n", host)).toThrow("contains whitespace");
  });
});

describe("parseEnvFlag", () => {
  test("KEY=VAL as is, KEY from the host, bare KEY kept as an unset marker", () => {
    expect(parseEnvFlag("A=b=c", host)).toBe("A=b=c");
    expect(parseEnvFlag("A=", host)).toBe("A=");
    expect(parseEnvFlag("FROM_HOST", host)).toBe("FROM_HOST=hv");
    expect(parseEnvFlag("MISSING", host)).toBe("MISSING");
    expect(() => parseEnvFlag("=x", host)).toThrow("invalid environment variable: =x");
  });
});

describe("mergeEnv", () => {
  test("later wins in place, new keys appended, order kept", () => {
    expect(mergeEnv(["A=1", "B=2", "C=3"], ["B=20", "D=4", "A=10", "D=40"])).toEqual(["A=10", "B=20", "C=3", "D=40"]);
  });
  test("a bare KEY unsets; it can be set again later", () => {
    expect(mergeEnv(["A=1", "B=2"], ["A", "NOPE"])).toEqual(["B=2"]);
    expect(mergeEnv(["A=1", "B=2"], ["A", "A=3"])).toEqual(["B=2", "A=3"]);
  });
  test("inputs are not modified", () => {
    const base = ["A=1"];
    mergeEnv(base, ["A=2"]);
    expect(base).toEqual(["A=1"]);
  });
});

describe("defaultEnv", () => {
  test("PATH, HOSTNAME, HOME, and TERM only with a tty", () => {
    expect(defaultEnv({ hostname: "box", home: "/root", tty: true })).toEqual([
      `PATH=${DEFAULT_PATH}`,
      "HOSTNAME=box",
      "HOME=/root",
      "TERM=xterm",
    ]);
    expect(defaultEnv({ hostname: "box", home: "/home/app" })).toEqual([
      `PATH=${DEFAULT_PATH}`,
      "HOSTNAME=box",
      "HOME=/home/app",
    ]);
    expect(defaultEnv()).toEqual([`PATH=${DEFAULT_PATH}`, "HOME=/"]);
    expect(DEFAULT_PATH).toBe("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  });
  test("the image and flags override defaults, as docker layers them", () => {
    const image = ["PATH=/opt/bin", "LANG=C.UTF-8"];
    const env = mergeEnv(mergeEnv(defaultEnv({ hostname: "h", home: "/root" }), image), ["HOME=/tmp", "LANG"]);
    expect(env).toEqual(["PATH=/opt/bin", "HOSTNAME=h", "HOME=/tmp"]);
  });
});
