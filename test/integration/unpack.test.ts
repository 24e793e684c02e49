// Layer unpacking as root into temp dirs: every entry kind and its metadata, overlay whiteouts,
// digests across compressions, and hostile layers that must never write outside the destination.
import { afterAll, describe, expect, test } from "bun:test";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { unpackLayer, type UnpackOptions } from "../../src/image/unpack.ts";
import { lgetxattr } from "../../src/sys/fs-calls.ts";
import { UserError } from "../../src/common/errors.ts";
import { concat, enc, makeTar, streamOf, type Spec } from "../helpers/tar-fixtures.ts";

const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

/** A fresh destination with an empty sentinel directory beside it. */
function fresh(): { parent: string; dest: string; sentinel: string } {
  const parent = mkdtempSync(`${tmpdir()}/mini-unpack-`);
  temps.push(parent);
  const dest = `${parent}/layer`,
    sentinel = `${parent}/sentinel`;
  mkdirSync(dest);
  mkdirSync(sentinel);
  return { parent, dest, sentinel };
}
const unpack = (tar: Uint8Array, dest: string, opts?: UnpackOptions) => unpackLayer(streamOf(tar), dest, opts);
const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
const dev = (rdev: bigint) => [Number((rdev >> 8n) & 0xfffn), Number((rdev & 0xffn) | ((rdev >> 12n) & 0xfff00n))];
const xattr = (p: string, n: string) => {
  const v = lgetxattr(p, n);
  return v && Buffer.from(v).toString();
};

describe("unpackLayer", () => {
  test("files, dirs, modes, owners, times, links, devices, fifos, xattrs", async () => {
    const { dest } = fresh();
    const cap = new Uint8Array([0, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // cap_net_raw+p, v2
    const tar = makeTar([
      { name: "./", flag: "5", mode: 0o700 }, // the root itself: skipped
      {
        name: "d/",
        flag: "5",
        mode: 0o750,
        uid: 1000,
        gid: 1001,
        mtime: 1_500_000_000,
        pax: { "SCHILY.xattr.user.dir": "yes" },
      },
      {
        name: "d/f",
        body: "hello",
        mode: 0o640,
        uid: 1000,
        gid: 1001,
        pax: {
          mtime: "1600000000.5",
          "SCHILY.xattr.user.color": "blue",
          "SCHILY.xattr.security.capability": cap,
          "SCHILY.xattr.trusted.overlay.redirect": "/x",
          "SCHILY.xattr.security.selinux": "system_u:object_r:bin_t:s0",
        },
      },
      { name: "d/suid", body: "#!/bin/sh\n", mode: 0o4755, uid: 1000, gid: 1000 },
      { name: "d/sgid", body: "", mode: 0o2755, uid: 1000, gid: 1000 },
      { name: "tmp/", flag: "5", mode: 0o1777 },
      { name: "d/link", flag: "2", linkname: "f", uid: 1000, gid: 1001, mtime: 1_400_000_000 },
      { name: "abs", flag: "2", linkname: "/etc/passwd" },
      { name: "d/hard", flag: "1", linkname: "d/f" },
      { name: "dev/null2", flag: "3", devmajor: 1, devminor: 3, mode: 0o666 },
      { name: "dev/loop9", flag: "4", devmajor: 7, devminor: 300, mode: 0o660, gid: 6 },
      { name: "dev/fifo", flag: "6", mode: 0o620 },
      { name: "deep/a/b/c", body: "implicit parents" },
      { name: "/rooted/x", body: "leading slash stripped" },
      { name: "a/../b", body: "normalized" },
    ]);
    const r = await unpack(tar, dest);
    expect(r.entries).toBe(15);
    expect(readdirSync(dest).sort()).toEqual(["abs", "b", "d", "deep", "dev", "rooted", "tmp"]);

    const f = lstatSync(`${dest}/d/f`, { bigint: true });
    expect(readFileSync(`${dest}/d/f`, "utf8")).toBe("hello");
    expect([Number(f.mode & 0o7777n), Number(f.uid), Number(f.gid), f.mtimeNs]).toEqual([
      0o640,
      1000,
      1001,
      1_600_000_000_500_000_000n,
    ]);
    expect(xattr(`${dest}/d/f`, "user.color")).toBe("blue");
    expect([...lgetxattr(`${dest}/d/f`, "security.capability")!]).toEqual([...cap]);
    expect(lgetxattr(`${dest}/d/f`, "trusted.overlay.redirect")).toBeUndefined();
    expect(lgetxattr(`${dest}/d/f`, "security.selinux")).toBeUndefined();

    expect(statSync(`${dest}/d/suid`).mode & 0o7777).toBe(0o4755);
    expect(statSync(`${dest}/d/sgid`).mode & 0o7777).toBe(0o2755);
    expect(statSync(`${dest}/tmp`).mode & 0o7777).toBe(0o1777);
    const d = lstatSync(`${dest}/d`, { bigint: true });
    expect([Number(d.mode & 0o7777n), Number(d.uid), Number(d.gid), d.mtimeNs]).toEqual([
      0o750,
      1000,
      1001,
      1_500_000_000_000_000_000n,
    ]);
    expect(xattr(`${dest}/d`, "user.dir")).toBe("yes");

    const l = lstatSync(`${dest}/d/link`, { bigint: true });
    expect(l.isSymbolicLink()).toBe(true);
    expect(readlinkSync(`${dest}/d/link`)).toBe("f");
    expect([Number(l.uid), Number(l.gid), l.mtimeNs]).toEqual([1000, 1001, 1_400_000_000_000_000_000n]);
    expect(readlinkSync(`${dest}/abs`)).toBe("/etc/passwd");

    const h = lstatSync(`${dest}/d/hard`);
    expect(h.ino).toBe(lstatSync(`${dest}/d/f`).ino);
    expect(h.nlink).toBe(2);

    const c = lstatSync(`${dest}/dev/null2`, { bigint: true });
    expect(c.isCharacterDevice()).toBe(true);
    expect(dev(c.rdev)).toEqual([1, 3]);
    expect(Number(c.mode & 0o7777n)).toBe(0o666);
    const b = lstatSync(`${dest}/dev/loop9`, { bigint: true });
    expect(b.isBlockDevice()).toBe(true);
    expect(dev(b.rdev)).toEqual([7, 300]);
    expect([Number(b.mode & 0o7777n), Number(b.gid)]).toEqual([0o660, 6]);
    const p = lstatSync(`${dest}/dev/fifo`);
    expect(p.isFIFO()).toBe(true);
    expect(p.mode & 0o7777).toBe(0o620);

    expect(readFileSync(`${dest}/deep/a/b/c`, "utf8")).toBe("implicit parents");
    expect(statSync(`${dest}/deep/a`).mode & 0o7777).toBe(0o755);
    expect(readFileSync(`${dest}/rooted/x`, "utf8")).toBe("leading slash stripped");
    expect(readFileSync(`${dest}/b`, "utf8")).toBe("normalized");
  });

  test("whiteouts become char 0:0, opaque dirs get trusted.overlay.opaque, AUFS metadata is skipped", async () => {
    const { dest } = fresh();
    const r = await unpack(
      makeTar([
        { name: "etc/", flag: "5", mode: 0o755 },
        { name: "etc/.wh.motd" },
        { name: ".wh.toplevel" },
        { name: "var/cache/", flag: "5", mode: 0o755 },
        { name: "var/cache/.wh..wh..opq" },
        { name: "var/cache/keep", body: "k" },
        { name: ".wh..wh.plnk/", flag: "5" },
        { name: ".wh..wh.plnk/123.456", body: "aufs" },
        { name: "new/.wh..wh..opq" }, // parent created on the fly
      ]),
      dest,
    );
    expect(r.entries).toBe(9);
    for (const w of ["etc/motd", "toplevel"]) {
      const st = lstatSync(`${dest}/${w}`, { bigint: true });
      expect(st.isCharacterDevice()).toBe(true);
      expect(dev(st.rdev)).toEqual([0, 0]);
    }
    expect(existsSync(`${dest}/etc/.wh.motd`)).toBe(false);
    expect(xattr(`${dest}/var/cache`, "trusted.overlay.opaque")).toBe("y");
    expect(xattr(`${dest}/new`, "trusted.overlay.opaque")).toBe("y");
    expect(xattr(`${dest}/etc`, "trusted.overlay.opaque")).toBeUndefined();
    expect(readdirSync(`${dest}/var/cache`)).toEqual(["keep"]);
    expect(readdirSync(dest).sort()).toEqual(["etc", "new", "toplevel", "var"]);
  });

  test("an existing entry of another kind is replaced", async () => {
    const { dest } = fresh();
    await unpack(
      makeTar([
        { name: "r/", flag: "5" },
        { name: "r/sub/", flag: "5" },
        { name: "r/sub/x", body: "x" },
        { name: "r/l", flag: "2", linkname: "/" },
        { name: "r", body: "file now" }, // dir tree → file
        { name: "s", body: "file" },
        { name: "s/", flag: "5", mode: 0o711 },
        { name: "s/in", body: "in dir" }, // file → dir
        { name: "t/", flag: "5", mode: 0o700 },
        { name: "t/keep", body: "k" },
        { name: "t/", flag: "5", mode: 0o755 }, // dir stays, new mode
        { name: "u", flag: "2", linkname: "x" },
        { name: "u", flag: "6" }, // symlink → fifo
        { name: "v", body: "old" },
        { name: "v", body: "new" },
      ]),
      dest,
    );
    expect(readFileSync(`${dest}/r`, "utf8")).toBe("file now");
    expect(readFileSync(`${dest}/s/in`, "utf8")).toBe("in dir");
    expect(statSync(`${dest}/s`).mode & 0o7777).toBe(0o711);
    expect(readdirSync(`${dest}/t`)).toEqual(["keep"]);
    expect(statSync(`${dest}/t`).mode & 0o7777).toBe(0o755);
    expect(lstatSync(`${dest}/u`).isFIFO()).toBe(true);
    expect(readFileSync(`${dest}/v`, "utf8")).toBe("new");
  });

  test("gzip, zstd and plain layers give the same diffID; digest and size are the blob's", async () => {
    const tar = makeTar([
      { name: "a/", flag: "5" },
      { name: "a/b", body: randomBytes(200_000) },
      { name: "a/c", flag: "2", linkname: "b" },
    ]);
    const diffID = `sha256:${createHash("sha256").update(tar).digest("hex")}`;
    for (const [blob, compression] of [
      [tar, "none"],
      [new Uint8Array(gzipSync(tar)), "gzip"],
      [new Uint8Array(zstdCompressSync(tar)), "zstd"],
    ] as const) {
      const { dest } = fresh();
      const r = await unpack(blob, dest);
      expect(r).toMatchObject({
        diffID,
        compression,
        size: blob.length,
        uncompressedSize: tar.length,
        digest: `sha256:${createHash("sha256").update(blob).digest("hex")}`,
      });
      expect(readFileSync(`${dest}/a/b`).length).toBe(200_000);
    }
    const { dest } = fresh();
    const e = await unpack(tar, dest, { expectDiffID: `sha256:${"0".repeat(64)}` }).catch((x) => x);
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).toMatch(/diffID mismatch/);
  });

  test("many directories and deep paths (the dir fd cache evicts between entries)", async () => {
    const { dest } = fresh();
    const specs: Spec[] = [];
    for (let i = 0; i < 150; i++)
      specs.push(
        { name: `m/d${i}/`, flag: "5", mode: 0o755, mtime: 1_000_000 + i },
        { name: `m/d${i}/f`, body: `${i}` },
      );
    const deep = Array.from({ length: 100 }, (_, i) => `x${i}`).join("/");
    specs.push({ name: "long", body: "deep", pax: { path: `${deep}/file` } });
    const deep2 = Array.from({ length: 100 }, (_, i) => `y${i}`).join("/");
    specs.push({ name: "long", flag: "1", pax: { path: `${deep2}/hard`, linkpath: `${deep}/file` } }); // ~200 new dir fds in one entry
    specs.push({ name: "m/d0/f2", flag: "1", linkname: "m/d149/f" });
    await unpack(makeTar(specs), dest);
    for (let i = 0; i < 150; i += 37) {
      expect(readFileSync(`${dest}/m/d${i}/f`, "utf8")).toBe(`${i}`);
      expect(statSync(`${dest}/m/d${i}`).mtimeMs).toBe((1_000_000 + i) * 1000);
    }
    expect(readFileSync(`${dest}/${deep2}/hard`, "utf8")).toBe("deep");
    expect(readFileSync(`${dest}/m/d0/f2`, "utf8")).toBe("149");
    const fds = readdirSync("/proc/self/fd").length;
    await unpack(makeTar(specs), fresh().dest);
    expect(readdirSync("/proc/self/fd").length).toBeLessThanOrEqual(fds); // nothing leaked
  });
});

for (const resolveWith of ["openat2", "openat"] as const)
  describe(`hostile layers (${resolveWith})`, () => {
    const unpack = (tar: Uint8Array, dest: string, opts?: UnpackOptions) =>
      unpackLayer(streamOf(tar), dest, { resolveWith, ...opts });
    const passwd = sha("/etc/passwd"),
      shadow = sha("/etc/shadow");
    const passwdMode = statSync("/etc/passwd").mode;

    /** Unpacks `tar`, expects a UserError naming `entry`, and checks nothing appeared outside. */
    async function refused(tar: Uint8Array, entry: string, why: RegExp, opts?: UnpackOptions): Promise<string> {
      const { parent, dest, sentinel } = fresh();
      const e = await unpack(tar, dest, opts).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(UserError);
      const msg = (e as Error).message;
      expect(msg).toContain(entry);
      expect(msg).toMatch(why);
      expect(readdirSync(sentinel)).toEqual([]);
      expect(readdirSync(parent).sort()).toEqual(["layer", "sentinel"]);
      expect(sha("/etc/passwd")).toBe(passwd);
      expect(sha("/etc/shadow")).toBe(shadow);
      expect(statSync("/etc/passwd").mode).toBe(passwdMode);
      return dest;
    }

    test("../ traversal", async () => {
      await refused(makeTar([{ name: "../evil", body: "x" }]), '"../evil"', /leaves the layer/);
      await refused(makeTar([{ name: "ok/../../sentinel/evil", body: "x" }]), "sentinel/evil", /leaves the layer/);
      await refused(makeTar([{ name: "/../../sentinel/evil", body: "x" }]), "sentinel/evil", /leaves the layer/);
    });

    test("absolute names are stripped to the layer root", async () => {
      const { dest, sentinel } = fresh();
      await unpack(
        makeTar([
          { name: "/abs", body: "in" },
          { name: `${sentinel}/x`, body: "in too" },
        ]),
        dest,
      );
      expect(readFileSync(`${dest}/abs`, "utf8")).toBe("in");
      expect(readFileSync(`${dest}${sentinel}/x`, "utf8")).toBe("in too");
      expect(readdirSync(sentinel)).toEqual([]);
    });

    test("writing through a symlink made earlier in the layer", async () => {
      await refused(
        makeTar([
          { name: "a", flag: "2", linkname: "/etc" },
          { name: "a/passwd", body: "root::0:0::/:/bin/sh\n" },
        ]),
        '"a/passwd"',
        /symlink "a"/,
      );
      await refused(
        makeTar([
          { name: "a", flag: "2", linkname: "../../.." },
          { name: "a/x", body: "x" },
        ]),
        '"a/x"',
        /symlink/,
      );
      await refused(
        makeTar([
          { name: "a", flag: "2", linkname: "../sentinel" },
          { name: "a/x", body: "x" },
        ]),
        '"a/x"',
        /symlink/,
      );
      await refused(
        makeTar([
          { name: "d/", flag: "5" },
          { name: "d/s", flag: "2", linkname: "../../sentinel" },
          { name: "d/s/deeper/x", body: "x" },
        ]),
        '"d/s/deeper/x"',
        /symlink "d\/s"/,
      );
      await refused(
        makeTar([
          { name: "a", flag: "2", linkname: "../sentinel" },
          { name: "a/", flag: "5" },
          { name: "a/.wh..wh..opq" },
          { name: "a/b", flag: "2", linkname: "/" },
          { name: "a/b/.wh.x" },
        ]),
        '"a/b/.wh.x"',
        /symlink "a\/b"/,
      );
    });

    test("replacing a symlink never writes to its target", async () => {
      const { dest, sentinel } = fresh();
      await unpack(
        makeTar([
          { name: "p", flag: "2", linkname: "/etc/passwd" },
          { name: "p", body: "replaced", mode: 0o777 },
          { name: "s", flag: "2", linkname: "../sentinel" },
          { name: "s/", flag: "5", mode: 0o777 },
          { name: "s/x", body: "inside" },
          { name: "q", flag: "2", linkname: "/etc/passwd" },
          { name: "q", flag: "6", mode: 0o777 },
        ]),
        dest,
      );
      expect(readFileSync(`${dest}/p`, "utf8")).toBe("replaced");
      expect(readFileSync(`${dest}/s/x`, "utf8")).toBe("inside");
      expect(lstatSync(`${dest}/q`).isFIFO()).toBe(true);
      expect(readdirSync(sentinel)).toEqual([]);
      expect(sha("/etc/passwd")).toBe(passwd);
      expect(statSync("/etc/passwd").mode).toBe(passwdMode);
    });

    test("hardlinks to outside or through a symlink", async () => {
      await refused(
        makeTar([{ name: "h", flag: "1", linkname: "/etc/shadow" }]),
        '"h"',
        /hardlink target "\/etc\/shadow".*does not exist in the layer/,
      );
      await refused(makeTar([{ name: "h", flag: "1", linkname: "../x" }]), '"h"', /leaves the layer/);
      await refused(
        makeTar([
          { name: "l", flag: "2", linkname: "/etc" },
          { name: "h", flag: "1", linkname: "l/shadow" },
        ]),
        '"h"',
        /symlink "l"/,
      );
      await refused(
        makeTar([
          { name: "d/", flag: "5" },
          { name: "h", flag: "1", linkname: "d" },
        ]),
        '"h"',
        /is a directory/,
      );
      await refused(
        makeTar([
          { name: "d/", flag: "5" },
          { name: "d/f", body: "x" },
          { name: "d", flag: "1", linkname: "d/f" },
        ]),
        '"d"',
        /inside the entry it replaces/,
      );
      // a hardlink to a symlink links the symlink itself
      const { dest } = fresh();
      await unpack(
        makeTar([
          { name: "l", flag: "2", linkname: "/etc/shadow" },
          { name: "h", flag: "1", linkname: "l" },
          { name: "h2", flag: "1", linkname: "./l" },
        ]),
        dest,
      );
      expect(lstatSync(`${dest}/h`).isSymbolicLink()).toBe(true);
      expect(lstatSync(`${dest}/h`).ino).toBe(lstatSync(`${dest}/l`).ino);
      expect(lstatSync(`${dest}/h2`).nlink).toBe(3);
    });

    test("absurd sizes, truncation, bad checksums, huge PAX headers, long names", async () => {
      const hundredGiB = 100 * 2 ** 30;
      await refused(
        makeTar([{ name: "big", size: hundredGiB, body: "short" }], false),
        '"big"',
        /exceeds the 68719476736-byte limit/,
      );
      const dest = await refused(
        makeTar([{ name: "big", size: hundredGiB, body: "short" }], false),
        '"big"',
        /unexpected end of data/,
        { maxFileSize: 2 ** 40 },
      );
      expect(statSync(`${dest}/big`).size).toBe(512); // what arrived (body + padding), nothing more
      await refused(
        makeTar([
          { name: "ok", body: "x" },
          { name: "bad", body: "y", badChecksum: true },
        ]),
        "offset 1024",
        /bad header checksum/,
      );
      await refused(
        makeTar([{ name: "p", pax: { comment: "x".repeat(10 << 20) } }]),
        "offset 0",
        /PAX header of 10485\d+ bytes exceeds/,
      );
      await refused(makeTar([{ name: "x", pax: { path: `${"n".repeat(300)}/f` } }]), "nnn", /longer than 255 bytes/);
      await refused(makeTar([{ name: "x", pax: { path: `${"a/".repeat(2100)}f` } }]), "a/a/", /longer than 4095 bytes/);
      await refused(makeTar([{ name: ".wh..." }]), '".wh..."', /whiteout of an invalid name/);
      await refused(makeTar([{ name: "x", pax: { path: "a\0b" } }]), "a", /NUL byte/);
    });

    test("a corrupt gzip stream is a UserError", async () => {
      const gz = gzipSync(makeTar([{ name: "a", body: randomBytes(100_000) }]));
      const { dest } = fresh();
      const e = await unpack(new Uint8Array(gz.subarray(0, gz.length >> 1)), dest).catch((x) => x);
      expect(e).toBeInstanceOf(UserError);
      expect(e.message).toMatch(/gzip layer/);
    });
  });

describe("throughput", () => {
  test("a ~50 MB gzip layer", async () => {
    // 1600 files of 64 KiB, half random (incompressible) and half text: ~105 MB of tar, ~53 MB gzip.
    const specs: Spec[] = [];
    const text = enc
      .encode("the quick brown fox jumps over the lazy dog 0123456789\n".repeat(600))
      .subarray(0, 32 << 10);
    for (let d = 0; d < 40; d++) {
      specs.push({ name: `dir${d}/`, flag: "5", mode: 0o755 });
      for (let f = 0; f < 40; f++)
        specs.push({ name: `dir${d}/file${f}`, body: concat([randomBytes(32 << 10), text]), mode: 0o644 });
    }
    const tar = makeTar(specs);
    const gz = new Uint8Array(gzipSync(tar, { level: 1 }));
    const { parent, dest } = fresh();
    writeFileSync(`${parent}/layer.tar.gz`, gz); // from a file, as from the content store
    Bun.spawnSync(["sync"]); // don't time the writeback of what the earlier tests wrote
    const t0 = performance.now();
    const r = await unpackLayer(Bun.file(`${parent}/layer.tar.gz`).stream(), dest);
    const secs = (performance.now() - t0) / 1000;
    expect(r.entries).toBe(1640);
    expect(r.diffID).toBe(`sha256:${createHash("sha256").update(tar).digest("hex")}`);
    console.log(
      `unpack: ${(gz.length / 1e6).toFixed(1)} MB gzip (${(tar.length / 1e6).toFixed(1)} MB tar) in ${(secs * 1000).toFixed(0)} ms: ${(gz.length / 1e6 / secs).toFixed(0)} MB/s compressed, ${(tar.length / 1e6 / secs).toFixed(0)} MB/s uncompressed`,
    );
  }, 60_000);
});
