// The tar writer (read back by src/image/tar.ts's reader and by Python's tarfile) and the shapes
// of image archives: index.json, manifest.json, and which manifests a load picks.
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import {
  encodeHeader,
  memorySink,
  paxRecord,
  splitUstarName,
  TarWriter,
  type Body,
  type TarHeader,
} from "../../src/image/tar-write.ts";
import { readBody, readTar, type TarEntry } from "../../src/image/tar.ts";
import {
  blobPath,
  buildDockerManifest,
  buildIndex,
  chooseManifests,
  CONTAINERD_NAME,
  entryName,
  parseDockerManifest,
  parseLayoutIndex,
  REF_NAME,
  type SavedImage,
} from "../../src/image/layout.ts";
import { applyChange } from "../../src/image/change-instructions.ts";
import { importConfig } from "../../src/image/import-rootfs.ts";
import { MEDIA, type Descriptor, type Index } from "../../src/image/types.ts";
import { UserError } from "../../src/common/errors.ts";

const enc = new TextEncoder();
const streamOf = (b: Uint8Array) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < b.byteLength; i += 700) c.enqueue(b.subarray(i, i + 700));
      c.close();
    },
  });

async function write(entries: [TarHeader, Body?][]): Promise<Uint8Array> {
  const sink = memorySink();
  const w = new TarWriter(sink);
  for (const [h, b] of entries) await w.add(h, b);
  await w.finish();
  return sink.bytes();
}

async function readAll(b: Uint8Array): Promise<(Omit<TarEntry, "body" | "xattrs" | "offset"> & { text: string })[]> {
  const out = [];
  for await (const e of readTar(streamOf(b))) {
    const { body: _b, xattrs: _x, offset: _o, ...rest } = e;
    out.push({ ...rest, text: new TextDecoder().decode(await readBody(e)) });
  }
  return out;
}

const longDir = `${"d".repeat(120)}/${"e".repeat(30)}`;
const veryLong = `${"x/".repeat(140)}file.txt`; // 288 bytes: PAX path
const entries = (): [TarHeader, Body?][] => [
  [{ name: "oci-layout" }, enc.encode('{"imageLayoutVersion":"1.0.0"}')],
  [{ name: "blobs", type: "dir" }],
  [{ name: "empty" }, new Uint8Array(0)],
  [{ name: `${longDir}/name.txt`, mode: 0o600, mtime: 1_700_000_000, uid: 1000, gid: 100 }, enc.encode("prefix split")],
  [{ name: veryLong }, enc.encode("pax path")],
  [{ name: "ünïcode/名前.txt" }, enc.encode("utf-8")],
  [{ name: "link", type: "symlink", linkname: `../${"t".repeat(150)}` }],
  [{ name: "hard", type: "hardlink", linkname: "empty" }],
  [
    { name: "chunks", size: 1500 },
    (async function* () {
      for (let i = 0; i < 3; i++) yield enc.encode(String(i).repeat(500));
    })(),
  ],
];

describe("tar writer", () => {
  test("round-trips through src/image/tar.ts", async () => {
    const bytes = await write(entries());
    expect(bytes.byteLength % 512).toBe(0);
    const got = await readAll(bytes);
    expect(got.map((e) => [e.name, e.type])).toEqual([
      ["oci-layout", "file"],
      ["blobs/", "dir"],
      ["empty", "file"],
      [`${longDir}/name.txt`, "file"],
      [veryLong, "file"],
      ["ünïcode/名前.txt", "file"],
      ["link", "symlink"],
      ["hard", "hardlink"],
      ["chunks", "file"],
    ]);
    expect(got[0].text).toBe('{"imageLayoutVersion":"1.0.0"}');
    expect(got[3]).toMatchObject({ text: "prefix split", mode: 0o600, mtime: 1_700_000_000, uid: 1000, gid: 100 });
    expect(got[4].text).toBe("pax path");
    expect(got[5].text).toBe("utf-8");
    expect(got[6].linkname).toBe(`../${"t".repeat(150)}`);
    expect(got[7].linkname).toBe("empty");
    expect(got[8].text).toBe("0".repeat(500) + "1".repeat(500) + "2".repeat(500));
    expect(got[1].mode).toBe(0o755);
    expect(got[2].mode).toBe(0o644);
  });

  test("Python's tarfile reads the same archive", async () => {
    const bytes = await write(entries());
    const py =
      "import sys,tarfile,io\nt=tarfile.open(fileobj=io.BytesIO(sys.stdin.buffer.read()))\nfor m in t.getmembers(): print(m.name, m.size, m.type.decode() if m.type else '0', m.linkname)";
    const r = spawnSync("python3", ["-c", py], { input: bytes, encoding: "utf8" });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toContain(`${veryLong} 8 0 `);
    expect(lines).toContain(`${longDir}/name.txt 12 0 `);
    expect(lines).toContain(`link 0 2 ../${"t".repeat(150)}`);
    expect(lines).toContain("ünïcode/名前.txt 5 0 ");
  });

  test("a body that is not the declared size is refused", async () => {
    const w = new TarWriter(memorySink());
    await expect(w.add({ name: "a", size: 10 }, enc.encode("short"))).rejects.toThrow(/5 bytes, header says 10/);
    const w2 = new TarWriter(memorySink());
    await expect(w2.add({ name: "b", size: 2 }, [enc.encode("toolong")])).rejects.toThrow(/longer than 2/);
  });

  test("sizes past ustar's 8 GiB go into a PAX record", async () => {
    const h = encodeHeader({ name: "big", size: 9_000_000_000 });
    expect(h.byteLength).toBe(512 * 3); // PAX header + its record block + the entry's header
    for await (const e of readTar(streamOf(h), { drain: false })) {
      expect(e.size).toBe(9_000_000_000);
      break; // its body isn't there
    }
  });

  test("ustar name splitting and PAX record lengths", () => {
    expect(splitUstarName("short")).toEqual({ name: "short", prefix: "" });
    expect(splitUstarName(`${longDir}/n`)).toEqual({ name: "n", prefix: longDir });
    expect(splitUstarName(`a/${"b".repeat(101)}`)).toBeUndefined();
    expect(splitUstarName("é")).toBeUndefined();
    for (const v of ["", "x".repeat(3), "x".repeat(89), "x".repeat(90), "x".repeat(991), "x".repeat(995)]) {
      const r = new TextDecoder().decode(paxRecord("path", v));
      expect(Number(r.split(" ")[0])).toBe(Buffer.byteLength(r));
      expect(r.endsWith(`path=${v}\n`)).toBe(true);
    }
  });
});

const d = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const saved: SavedImage[] = [
  {
    manifest: { mediaType: MEDIA.ociManifest, digest: d(1), size: 400 },
    configDigest: d(2),
    layerDigests: [d(3), d(4)],
    platform: { os: "linux", architecture: "amd64" },
    names: ["docker.io/library/busybox:latest", "127.0.0.1:5000/x/y:v1"],
  },
  {
    manifest: { mediaType: MEDIA.dockerManifest, digest: d(5), size: 500 },
    configDigest: d(6),
    layerDigests: [],
    names: [],
  },
];

describe("archive shapes", () => {
  test("index.json: one entry per name, full references in both annotations", () => {
    const index = buildIndex(saved);
    expect(index).toEqual({
      schemaVersion: 2,
      mediaType: MEDIA.ociIndex,
      manifests: [
        {
          mediaType: MEDIA.ociManifest,
          digest: d(1),
          size: 400,
          platform: { os: "linux", architecture: "amd64" },
          annotations: {
            [CONTAINERD_NAME]: "docker.io/library/busybox:latest",
            [REF_NAME]: "docker.io/library/busybox:latest",
          },
        },
        {
          mediaType: MEDIA.ociManifest,
          digest: d(1),
          size: 400,
          platform: { os: "linux", architecture: "amd64" },
          annotations: { [CONTAINERD_NAME]: "127.0.0.1:5000/x/y:v1", [REF_NAME]: "127.0.0.1:5000/x/y:v1" },
        },
        { mediaType: MEDIA.dockerManifest, digest: d(5), size: 500 },
      ],
    });
    expect(parseLayoutIndex(JSON.stringify(index))).toEqual(index);
  });

  test("manifest.json: docker's shape over the layout's blobs", () => {
    const m = buildDockerManifest(saved);
    expect(m).toEqual([
      {
        Config: blobPath(d(2)),
        RepoTags: ["busybox:latest", "127.0.0.1:5000/x/y:v1"],
        Layers: [blobPath(d(3)), blobPath(d(4))],
      },
      { Config: blobPath(d(6)), RepoTags: [], Layers: [] },
    ]);
    expect(blobPath(d(3))).toBe(`blobs/sha256/${"3".repeat(64)}`);
    expect(parseDockerManifest(JSON.stringify(m))).toEqual(m);
    expect(parseDockerManifest('[{"Config":"a.json","RepoTags":null,"Layers":["l/layer.tar"]}]')).toEqual([
      { Config: "a.json", RepoTags: null, Layers: ["l/layer.tar"] },
    ]);
    expect(() => parseDockerManifest('{"Config":1}')).toThrow(UserError);
    expect(() => parseDockerManifest('[{"Layers":[]}]')).toThrow(/no Config/);
    expect(() => parseLayoutIndex('{"schemaVersion":2,"manifests":[{"digest":"md5:x"}]}')).toThrow(UserError);
  });

  test("entry names: containerd's name first, ref.name normalized", () => {
    const e = (a: Record<string, string>): Descriptor => ({
      mediaType: MEDIA.ociManifest,
      digest: d(1),
      size: 1,
      annotations: a,
    });
    expect(entryName(e({ [REF_NAME]: "busybox" }))).toBe("docker.io/library/busybox:latest");
    expect(entryName(e({ [REF_NAME]: "latest", [CONTAINERD_NAME]: "docker.io/library/alpine:3" }))).toBe(
      "docker.io/library/alpine:3",
    );
    expect(entryName(e({}))).toBeUndefined();
    expect(entryName(e({ [REF_NAME]: "v1.0+build.5" }))).toBeUndefined();
  });

  test("a load picks the host platform among several manifests, and resolves nested indexes", () => {
    const want = { os: "linux", architecture: "amd64" };
    const m = (digest: string, arch: string, name?: string): Descriptor => ({
      mediaType: MEDIA.ociManifest,
      digest,
      size: 1,
      platform: { os: "linux", architecture: arch },
      ...(name && { annotations: { [REF_NAME]: name } }),
    });
    const index: Index = {
      schemaVersion: 2,
      manifests: [m(d(1), "arm64", "a:1"), m(d(2), "amd64", "a:1"), m(d(3), "arm64", "b:1"), m(d(2), "amd64", "c:1")],
    };
    const picked = chooseManifests(index, want, () => {
      throw new Error("no nested index");
    });
    expect(picked.map((c) => [c.manifest.digest, c.names])).toEqual([
      [d(2), ["docker.io/library/a:1", "docker.io/library/c:1"]],
      [d(3), ["docker.io/library/b:1"]], // the only manifest of its name: loaded whatever its platform
    ]);
    const nested: Index = {
      schemaVersion: 2,
      manifests: [{ mediaType: MEDIA.ociIndex, digest: d(9), size: 1, annotations: { [CONTAINERD_NAME]: "n:1" } }],
    };
    const inner: Index = { schemaVersion: 2, manifests: [m(d(7), "arm64"), m(d(8), "amd64")] };
    expect(
      chooseManifests(nested, want, (x) => {
        expect(x.digest).toBe(d(9));
        return inner;
      }).map((c) => [c.manifest.digest, c.names]),
    ).toEqual([[d(8), ["docker.io/library/n:1"]]]);
    const foreign: Index = { schemaVersion: 2, manifests: [m(d(1), "arm64"), m(d(2), "s390x")] };
    expect(() => chooseManifests(foreign, want, () => inner)).toThrow(/no matching manifest for linux\/amd64/);
  });
});

describe("import config", () => {
  test("host platform, diff_ids, default PATH and --change instructions", () => {
    const c = importConfig(
      d(1),
      [
        'CMD ["sh","-c","echo hi"]',
        'ENV A=1 B="two words"',
        "ENV PATH /bin",
        "WORKDIR /srv",
        "USER 1000:1000",
        "LABEL k=v",
        "EXPOSE 80 53/udp",
        "ENTRYPOINT /init --x",
        "VOLUME /data",
      ],
      "msg",
      new Date(0),
    );
    expect(c).toMatchObject({
      created: "1970-01-01T00:00:00.000Z",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [d(1)] },
      config: {
        Cmd: ["sh", "-c", "echo hi"],
        Entrypoint: ["/bin/sh", "-c", "/init --x"],
        Env: ["PATH=/bin", "A=1", "B=two words"],
        WorkingDir: "/srv",
        User: "1000:1000",
        Labels: { k: "v" },
        ExposedPorts: { "80/tcp": {}, "53/udp": {} },
        Volumes: { "/data": {} },
      },
      history: [{ created_by: "mini import", comment: "msg" }],
    });
    expect(importConfig(d(1), []).config).toEqual({
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    });
    expect(() => applyChange({}, "RUN rm -rf /")).toThrow(/unsupported instruction RUN/);
    expect(() => applyChange({}, "CMD [sh")).toThrow(/invalid JSON/);
    expect(() => applyChange({}, "CMD")).toThrow(/needs an argument/);
  });
});
