// The tar reader and the decompressor on archives built here: the small tar writer in
// test/helpers/tar-fixtures.ts, and
// Python's tarfile for an independent writer (PAX, GNU long names, base-256).
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { gzipSync, zstdCompressSync } from "node:zlib";
import {
  parseNumeric,
  parsePaxTime,
  readBody,
  readTar,
  type TarEntry,
  type TarReadOptions,
} from "../../src/image/tar.ts";
import { decodeReader, decompress, detectCompression } from "../../src/image/decompress.ts";
import { UserError } from "../../src/common/errors.ts";
import { concat, enc, makeTar, putNum, reusingReader, streamOf } from "../helpers/tar-fixtures.ts";

type Got = Omit<TarEntry, "body"> & { data: string };
async function collect(b: Uint8Array, opts: TarReadOptions & { chunk?: number } = {}): Promise<Got[]> {
  const out: Got[] = [];
  for await (const e of readTar(streamOf(b, opts.chunk), opts)) {
    const { body: _, ...rest } = e;
    out.push({ ...rest, data: Buffer.from(await readBody(e)).toString() });
  }
  return out;
}
async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a failure");
}

function python(script: string): Uint8Array {
  const r = spawnSync("python3", ["-c", script], { maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return new Uint8Array(r.stdout);
}

describe("numeric fields", () => {
  test("octal with spaces and NULs, base-256 positive and negative", () => {
    expect(parseNumeric(enc.encode("0000644\0"))).toBe(0o644);
    expect(parseNumeric(enc.encode("  755 \0"))).toBe(0o755);
    expect(parseNumeric(new Uint8Array(8))).toBe(0);
    const h = new Uint8Array(12);
    putNum(h, 0, 12, 2 ** 40 + 5);
    expect(h[0] & 0x80).toBe(0x80);
    expect(parseNumeric(h)).toBe(2 ** 40 + 5);
    putNum(h, 0, 12, -12345);
    expect(parseNumeric(h)).toBe(-12345);
    expect(() => parseNumeric(enc.encode("0009\0"))).toThrow(/octal/);
  });
  test("PAX times with fractions, negative too", () => {
    expect(parsePaxTime("1700000000.123456789")).toEqual({ sec: 1700000000, nsec: 123456789 });
    expect(parsePaxTime("1700000000.5")).toEqual({ sec: 1700000000, nsec: 500000000 });
    expect(parsePaxTime("12")).toEqual({ sec: 12, nsec: 0 });
    expect(parsePaxTime("-1.25")).toEqual({ sec: -2, nsec: 750000000 });
  });
});

describe("readTar", () => {
  test("every entry type and its fields", async () => {
    const tar = makeTar([
      { name: "d/", flag: "5", mode: 0o755, uid: 1, gid: 2, uname: "u", gname: "g" },
      { name: "d/f", body: "hello", mode: 0o4755, uid: 1000, gid: 1001, mtime: 1234567890 },
      { name: "d/old", flag: "\0", body: "v7 style", magic: "v7" },
      { name: "d/olddir/", flag: "\0", magic: "v7" },
      { name: "d/contig", flag: "7", body: "contiguous" },
      { name: "d/hard", flag: "1", linkname: "d/f", size: 99 }, // link sizes carry no body
      { name: "d/sym", flag: "2", linkname: "../x", mode: 0o777 },
      { name: "d/null", flag: "3", devmajor: 1, devminor: 3 },
      { name: "d/loop", flag: "4", devmajor: 7, devminor: 300 },
      { name: "d/fifo", flag: "6" },
      { name: `long-name-${"x".repeat(90)}`, prefix: "p".repeat(120), body: "prefixed" },
    ]);
    const got = await collect(tar);
    expect(got.map((e) => [e.name, e.type, e.data])).toEqual([
      ["d/", "dir", ""],
      ["d/f", "file", "hello"],
      ["d/old", "file", "v7 style"],
      ["d/olddir/", "dir", ""],
      ["d/contig", "file", "contiguous"],
      ["d/hard", "hardlink", ""],
      ["d/sym", "symlink", ""],
      ["d/null", "char", ""],
      ["d/loop", "block", ""],
      ["d/fifo", "fifo", ""],
      [`${"p".repeat(120)}/long-name-${"x".repeat(90)}`, "file", "prefixed"],
    ]);
    expect(got[0]).toMatchObject({ mode: 0o755, uid: 1, gid: 2, uname: "u", gname: "g", offset: 0 });
    expect(got[1]).toMatchObject({
      mode: 0o4755,
      uid: 1000,
      gid: 1001,
      mtime: 1234567890,
      mtimeNsec: 0,
      size: 5,
      offset: 512,
    });
    expect(got[5]).toMatchObject({ linkname: "d/f", size: 0 });
    expect(got[6].linkname).toBe("../x");
    expect(got[8]).toMatchObject({ devmajor: 7, devminor: 300 });
  });

  test("chunk boundaries don't matter; unread bodies are skipped", async () => {
    const big = new Uint8Array(70_000).map((_, i) => i % 251);
    const tar = makeTar([
      { name: "a", body: big },
      { name: "b", body: "x".repeat(513) },
      { name: "c", body: "end" },
    ]);
    const want = await collect(tar);
    for (const chunk of [1, 7, 511, 512, 513, 4096]) expect(await collect(tar, { chunk })).toEqual(want);
    const names: string[] = [];
    for await (const e of readTar(streamOf(tar, 1000))) names.push(e.name); // bodies never read
    expect(names).toEqual(["a", "b", "c"]);
    expect(Buffer.from(want[0].data, "utf8").length).toBeGreaterThan(0);
  });

  test("GNU long names and long link targets", async () => {
    const long = `${"dir/".repeat(60)}file`;
    const target = `${"t/".repeat(80)}x`;
    const got = await collect(
      makeTar([
        { name: "trunc", longName: long, longLink: target, flag: "2" },
        { name: "short", body: "s" },
      ]),
    );
    expect(got[0]).toMatchObject({ name: long, linkname: target, type: "symlink" });
    expect(got[1].name).toBe("short"); // long names apply to one entry only
  });

  test("PAX: path, linkpath, size, ids, names, times, xattrs", async () => {
    const cap = new Uint8Array([1, 0, 0, 2, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const got = await collect(
      makeTar([
        {
          name: "short",
          body: "0123456789",
          size: 3,
          pax: {
            path: `ü/${"long/".repeat(40)}name`,
            size: "10",
            uid: "5000000",
            gid: "6000000",
            uname: "üser",
            gname: "grp",
            mtime: "1700000000.123456789",
            atime: "1700000001.5",
            "SCHILY.xattr.user.k": "v",
            "SCHILY.xattr.security.capability": cap,
            "LIBARCHIVE.xattr.user.%41b": Buffer.from("base64 value").toString("base64"),
          },
        },
        { name: "l", flag: "2", linkname: "short", pax: { linkpath: "y".repeat(300) } },
        { name: "plain", body: "p" },
      ]),
    );
    expect(got[0]).toMatchObject({
      name: `ü/${"long/".repeat(40)}name`,
      size: 10,
      data: "0123456789",
      uid: 5000000,
      gid: 6000000,
      uname: "üser",
      gname: "grp",
      mtime: 1700000000,
      mtimeNsec: 123456789,
      atime: { sec: 1700000001, nsec: 500000000 },
    });
    expect(Buffer.from(got[0].xattrs["user.k"]).toString()).toBe("v");
    expect([...got[0].xattrs["security.capability"]]).toEqual([...cap]);
    expect(Buffer.from(got[0].xattrs["user.Ab"]).toString()).toBe("base64 value");
    expect(got[1].linkname).toBe("y".repeat(300));
    expect(got[2]).toMatchObject({ name: "plain", uid: 0, xattrs: {} }); // x applies to one entry
  });

  test("PAX global headers give defaults; local records and empty values override", async () => {
    const got = await collect(
      makeTar([
        { name: "a", global: { uid: "77", mtime: "5.5", path: "ignored", "SCHILY.xattr.user.g": "1" } },
        { name: "b", pax: { uid: "88" } },
        { name: "c", global: { uid: "" } }, // unset
      ]),
    );
    expect(got.map((e) => [e.name, e.uid, e.mtime, e.mtimeNsec, Object.keys(e.xattrs)])).toEqual([
      ["a", 77, 5, 500000000, ["user.g"]],
      ["b", 88, 5, 500000000, ["user.g"]],
      ["c", 0, 5, 500000000, ["user.g"]],
    ]);
  });

  test("no end marker, a single zero block, and bytes after the end are accepted", async () => {
    const body = makeTar([{ name: "a", body: "x" }], false);
    expect((await collect(body)).map((e) => e.name)).toEqual(["a"]);
    expect((await collect(concat([body, new Uint8Array(512)]))).map((e) => e.name)).toEqual(["a"]);
    // onBytes sees every byte, including GNU tar's record padding after the end marker
    const padded = concat([makeTar([{ name: "a", body: "x" }]), new Uint8Array(8192)]);
    let seen = 0;
    await collect(padded, { onBytes: (c) => (seen += c.length) });
    expect(seen).toBe(padded.length);
  });

  test("a bad checksum names the header offset", async () => {
    const tar = makeTar([
      { name: "ok", body: "x" },
      { name: "bad", body: "y", badChecksum: true },
    ]);
    const e = await failure(collect(tar));
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).toMatch(/bad header checksum.*offset 1024/);
  });

  test("sparse, unknown types and GNU.sparse PAX records are refused", async () => {
    expect((await failure(collect(makeTar([{ name: "s", flag: "S" }])))).message).toMatch(
      /"s": sparse files are not supported/,
    );
    expect((await failure(collect(makeTar([{ name: "v", flag: "V" }])))).message).toMatch(
      /"v": unsupported entry type 'V'/,
    );
    expect((await failure(collect(makeTar([{ name: "p", pax: { "GNU.sparse.major": "1" } }])))).message).toMatch(
      /sparse/,
    );
  });

  test("oversized metadata and files are refused before reading them", async () => {
    const huge = makeTar([{ name: "a", pax: { comment: "x".repeat(2 << 20) } }]);
    expect((await failure(collect(huge))).message).toMatch(
      /PAX header of \d+ bytes exceeds the 1048576-byte limit.*offset 0/,
    );
    const longName = makeTar([{ name: "a", longName: "n".repeat(5000) }]);
    expect((await failure(collect(longName, { maxHeaderSize: 4096 }))).message).toMatch(
      /GNU long name of 5001 bytes exceeds/,
    );
    const big = makeTar([{ name: "big", size: 100 * 2 ** 30, body: "short" }], false);
    expect((await failure(collect(big))).message).toMatch(
      /"big": size 107374182400 exceeds the 68719476736-byte limit/,
    );
  });

  test("truncated bodies and headers are errors naming the entry", async () => {
    const t = makeTar([{ name: "cut", body: "0123456789", size: 1 << 20 }], false);
    const e = await failure(collect(t));
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).toMatch(/unexpected end of data in "cut"/);
    const half = makeTar([{ name: "a", body: "x" }]).subarray(0, 1024 + 100);
    expect(
      (await failure(collect(concat([makeTar([{ name: "a", body: "x" }], false), new Uint8Array(100).fill(1)]))))
        .message,
    ).toMatch(/end of data in a header/);
    expect((await failure(collect(half))).message).toMatch(/end of data in a header.*offset 1024/); // as Go's reader
    // a body left unread is skipped, and its truncation still found
    const err = await failure(
      (async () => {
        for await (const _ of readTar(streamOf(t))) {
          /* skip */
        }
      })(),
    );
    expect(err.message).toMatch(/"cut"/);
  });

  test("malformed PAX records are refused", async () => {
    const bad = makeTar([{ name: "a", pax: {} }]);
    // replace the (empty) PAX body with garbage of a declared size
    const tar = makeTar([{ name: "PaxHeaders/x", flag: "x", body: "99 path=a\n" }, { name: "a" }]);
    expect((await failure(collect(tar))).message).toMatch(/malformed PAX record/);
    expect((await collect(bad)).map((e) => e.name)).toEqual(["a"]);
  });
});

describe("readTar against Python's tarfile", () => {
  test("PAX format: long names, fractional mtime, big ids, xattrs, all types", async () => {
    const tar = python(`
import tarfile, io, sys
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
    def add(name, type=tarfile.REGTYPE, data=b"", **kw):
        ti = tarfile.TarInfo(name); ti.type = type; ti.size = len(data)
        for k, v in kw.items(): setattr(ti, k, v)
        t.addfile(ti, io.BytesIO(data) if data else None)
    add("dir", tarfile.DIRTYPE, mode=0o1777)
    add("dir/" + "n" * 200, data=b"long name body", mtime=1700000000.25, uid=3000000, gid=4000000, uname="ünï", pax_headers={"SCHILY.xattr.user.color": "blue"})
    add("dir/link", tarfile.SYMTYPE, linkname="t" * 150)
    add("dir/hard", tarfile.LNKTYPE, linkname="dir/" + "n" * 200)
    add("dir/chr", tarfile.CHRTYPE, devmajor=4, devminor=64)
    add("dir/fifo", tarfile.FIFOTYPE)
sys.stdout.buffer.write(buf.getvalue())
`);
    const got = await collect(tar);
    expect(got.map((e) => [e.name, e.type])).toEqual([
      ["dir/", "dir"],
      [`dir/${"n".repeat(200)}`, "file"],
      ["dir/link", "symlink"],
      ["dir/hard", "hardlink"],
      ["dir/chr", "char"],
      ["dir/fifo", "fifo"],
    ]);
    expect(got[0].mode).toBe(0o1777);
    expect(got[1]).toMatchObject({
      data: "long name body",
      mtime: 1700000000,
      mtimeNsec: 250000000,
      uid: 3000000,
      gid: 4000000,
      uname: "ünï",
    });
    expect(Buffer.from(got[1].xattrs["user.color"]).toString()).toBe("blue");
    expect(got[2].linkname).toBe("t".repeat(150));
    expect(got[3].linkname).toBe(`dir/${"n".repeat(200)}`);
    expect(got[4]).toMatchObject({ devmajor: 4, devminor: 64 });
  });

  test("GNU format: L/K records and base-256 numbers", async () => {
    const tar = python(`
import tarfile, io, sys
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
    ti = tarfile.TarInfo("g/" + "x" * 300); data = b"gnu"; ti.size = 3; ti.uid = 2**40; ti.gid = 2**33; ti.mtime = 2**36
    t.addfile(ti, io.BytesIO(data))
    ti = tarfile.TarInfo("g/l"); ti.type = tarfile.SYMTYPE; ti.linkname = "L" * 200
    t.addfile(ti)
sys.stdout.buffer.write(buf.getvalue())
`);
    const got = await collect(tar);
    expect(got[0]).toMatchObject({
      name: `g/${"x".repeat(300)}`,
      data: "gnu",
      uid: 2 ** 40,
      gid: 2 ** 33,
      mtime: 2 ** 36,
    });
    expect(got[1]).toMatchObject({ name: "g/l", linkname: "L".repeat(200) });
  });
});

describe("decompress", () => {
  const tar = makeTar([{ name: "a", body: "hello" }]);
  test("a source that reuses one buffer: every entry, PAX record and body arrives intact", async () => {
    const big = makeTar([
      {
        name: "p",
        body: "x".repeat(3000),
        pax: { path: `pax/${"n".repeat(300)}`, "SCHILY.xattr.user.k": "v".repeat(700) },
      },
      { name: "g", longName: `gnu/${"l".repeat(400)}`, body: "y".repeat(5000) },
      { name: "s", body: "short" },
    ]);
    const want = await collect(big);
    for (const input of [big, new Uint8Array(gzipSync(big)), new Uint8Array(zstdCompressSync(big))]) {
      for (const chunk of [1, 7, 511, 513, 4096]) {
        const { reader } = await decodeReader(reusingReader(input, chunk));
        const got: Got[] = [];
        for await (const e of readTar(reader)) {
          const { body: _, ...rest } = e;
          got.push({ ...rest, data: Buffer.from(await readBody(e)).toString() });
        }
        expect(got).toEqual(want);
      }
    }
  });
  test("detects gzip, zstd and plain by magic bytes", async () => {
    expect(detectCompression(gzipSync(tar))).toBe("gzip");
    expect(detectCompression(zstdCompressSync(tar))).toBe("zstd");
    expect(detectCompression(tar)).toBe("none");
    expect(detectCompression(new Uint8Array([0x28, 0xb5]))).toBe("none");
    for (const input of [gzipSync(tar), zstdCompressSync(tar), tar]) {
      for (const chunk of [1, 3, 1 << 16]) {
        let seen = 0;
        const d = await decompress(streamOf(new Uint8Array(input), chunk), { onInput: (c) => (seen += c.length) });
        expect(Buffer.from(await new Response(d.stream).arrayBuffer()).equals(Buffer.from(tar))).toBe(true);
        expect(seen).toBe(input.length);
      }
    }
  });
  test("empty and tiny inputs pass through", async () => {
    for (const b of [new Uint8Array(0), new Uint8Array([1, 2])]) {
      const d = await decompress(streamOf(b));
      expect(d.compression).toBe("none");
      expect(Buffer.from(await new Response(d.stream).arrayBuffer()).equals(Buffer.from(b))).toBe(true);
    }
  });
  test("corrupt or truncated compressed data is a UserError", async () => {
    const gz = gzipSync(tar);
    const d = await decompress(streamOf(new Uint8Array(gz.subarray(0, gz.length - 10))));
    const e = await failure(new Response(d.stream).arrayBuffer());
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).toMatch(/^gzip layer:/);
    const z = zstdCompressSync(tar);
    const d2 = await decompress(streamOf(concat([new Uint8Array(z.subarray(0, 4)), new Uint8Array(64).fill(7)])));
    expect((await failure(new Response(d2.stream).arrayBuffer())).message).toMatch(/^zstd layer:/);
  });
});
