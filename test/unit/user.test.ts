import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseGroup, parsePasswd, resolveUser } from "../../src/config/user.ts";
import { UserError } from "../../src/common/errors.ts";

const PASSWD = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment
broken:x:notanumber:1::/:/bin/sh
app:x:1000:1000:App:/home/app:/bin/sh
nohome:x:1001:100::
`;
const GROUP = `root:x:0:root
wheel:x:10:root,app
users:x:100:
app:x:1000:
audio:x:29:app, nohome
docker:x:999:other
`;

let dir: string, rootfs: string, bare: string, linked: string, outside: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "mini-user-"));
  rootfs = join(dir, "rootfs");
  mkdirSync(join(rootfs, "etc"), { recursive: true });
  writeFileSync(join(rootfs, "etc/passwd"), PASSWD);
  writeFileSync(join(rootfs, "etc/group"), GROUP);
  bare = join(dir, "bare");
  mkdirSync(bare);
  // A rootfs whose /etc/passwd is an absolute symlink: it must resolve inside the rootfs.
  linked = join(dir, "linked");
  mkdirSync(join(linked, "etc"), { recursive: true });
  mkdirSync(join(linked, "data"));
  writeFileSync(join(linked, "data/passwd"), "inside:x:4242:4242::/in:/bin/sh\n");
  symlinkSync("/data/passwd", join(linked, "etc/passwd"));
  // A host file the symlink would reach if followed on the host.
  outside = join(dir, "outside");
  mkdirSync(join(outside, "etc"), { recursive: true });
  writeFileSync(join(outside, "etc/group"), "evil:x:6666:inside\n");
  symlinkSync(`../../../outside/etc/group`, join(linked, "etc/group"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("resolveUser", () => {
  test("default is root with root's groups, primary gid first", () => {
    expect(resolveUser(rootfs, undefined)).toEqual({
      user: { uid: 0, gid: 0, additionalGids: [0, 10] },
      home: "/root",
      name: "root",
    });
  });
  test("by name: uid, gid, home and membership groups", () => {
    expect(resolveUser(rootfs, "app")).toEqual({
      user: { uid: 1000, gid: 1000, additionalGids: [1000, 10, 29] },
      home: "/home/app",
      name: "app",
    });
  });
  test("numeric uid found in passwd behaves like its name", () => {
    expect(resolveUser(rootfs, "1000").user).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 10, 29] });
  });
  test("numeric uid not in passwd: gid 0, home /, no groups", () => {
    expect(resolveUser(rootfs, "4321")).toEqual({ user: { uid: 4321, gid: 0, additionalGids: [0] }, home: "/" });
  });
  test("explicit group by name or number drops membership groups", () => {
    expect(resolveUser(rootfs, "app:users").user).toEqual({ uid: 1000, gid: 100, additionalGids: [100] });
    expect(resolveUser(rootfs, "app:55").user).toEqual({ uid: 1000, gid: 55, additionalGids: [55] });
    expect(resolveUser(rootfs, "4321:4321").user).toEqual({ uid: 4321, gid: 4321, additionalGids: [4321] });
  });
  test("empty user part means root with the given group", () => {
    expect(resolveUser(rootfs, ":wheel").user).toEqual({ uid: 0, gid: 10, additionalGids: [10] });
  });
  test("empty home falls back to /; members with spaces still match", () => {
    expect(resolveUser(rootfs, "nohome")).toEqual({
      user: { uid: 1001, gid: 100, additionalGids: [100, 29] },
      home: "/",
      name: "nohome",
    });
  });
  test("malformed passwd lines are skipped", () => {
    expect(() => resolveUser(rootfs, "broken")).toThrow(
      "unable to find user broken: no matching entries in passwd file",
    );
  });
  test("unknown names are user errors with docker's wording", () => {
    expect(() => resolveUser(rootfs, "nobody")).toThrow(UserError);
    expect(() => resolveUser(rootfs, "nobody")).toThrow(
      "unable to find user nobody: no matching entries in passwd file",
    );
    expect(() => resolveUser(rootfs, "app:nogroup")).toThrow(
      "unable to find group nogroup: no matching entries in group file",
    );
  });
  test("ids out of range are refused", () => {
    expect(() => resolveUser(rootfs, "4294967296")).toThrow("user id 4294967296 is out of range");
    expect(() => resolveUser(rootfs, "0:99999999999")).toThrow("group id 99999999999 is out of range");
  });
  test("missing passwd/group files are fine for numeric ids, not for names", () => {
    expect(resolveUser(bare, undefined)).toEqual({ user: { uid: 0, gid: 0, additionalGids: [0] }, home: "/" });
    expect(resolveUser(bare, "1000:1000").user).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000] });
    expect(() => resolveUser(bare, "app")).toThrow("unable to find user app");
    expect(() => resolveUser(bare, "0:staff")).toThrow("unable to find group staff");
  });
  test("--group-add by name or number, deduplicated", () => {
    expect(resolveUser(rootfs, "app", { groupAdd: ["docker", "10", "77"] }).user.additionalGids).toEqual([
      1000, 10, 29, 999, 77,
    ]);
    expect(() => resolveUser(rootfs, "app", { groupAdd: ["nope"] })).toThrow("unable to find group nope");
  });
  test("symlinks resolve inside the rootfs, never on the host", () => {
    expect(resolveUser(linked, "inside")).toEqual({
      user: { uid: 4242, gid: 4242, additionalGids: [4242] },
      home: "/in",
      name: "inside",
    });
  });
  test("an injected reader replaces the filesystem", () => {
    const files: Record<string, string> = { "/etc/passwd": "u:x:5:6::/h:/bin/sh\n", "/etc/group": "g:x:7:u\n" };
    expect(resolveUser("/nonexistent", "u", { readFile: (p) => files[p] }).user).toEqual({
      uid: 5,
      gid: 6,
      additionalGids: [6, 7],
    });
  });
});

describe("parsers", () => {
  test("parsePasswd and parseGroup", () => {
    expect(parsePasswd(PASSWD).map((u) => u.name)).toEqual(["root", "daemon", "app", "nohome"]);
    expect(parseGroup(GROUP).find((g) => g.name === "audio")).toEqual({
      name: "audio",
      gid: 29,
      members: ["app", "nohome"],
    });
  });
});
