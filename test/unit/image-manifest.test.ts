import { describe, expect, test } from "bun:test";
import {
  DigestMismatchError,
  Sha256Hasher,
  parseDigest,
  sha256Digest,
  sha256Hex,
  verifyDigest,
  verifyingStream,
} from "../../src/image/digest.ts";
import {
  MANIFEST_ACCEPT,
  manifestMediaType,
  parseImageConfig,
  parseManifest,
  selectPlatform,
} from "../../src/image/manifest.ts";
import { MEDIA } from "../../src/image/types.ts";
import type { Descriptor, Index, Platform } from "../../src/image/types.ts";
import { UserError } from "../../src/common/errors.ts";

const enc = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));
const dg = (c: string) => `sha256:${c.repeat(64)}`;
const desc = (mediaType: string, c: string, platform?: Platform): Descriptor => ({
  mediaType,
  digest: dg(c),
  size: 100,
  ...(platform && { platform }),
});

const ociManifest = {
  schemaVersion: 2,
  mediaType: MEDIA.ociManifest,
  config: desc(MEDIA.ociConfig, "c"),
  layers: [desc(MEDIA.ociLayerGzip, "1"), desc(MEDIA.ociLayerZstd, "2")],
};
const dockerManifest = {
  schemaVersion: 2,
  mediaType: MEDIA.dockerManifest,
  config: desc(MEDIA.dockerConfig, "c"),
  layers: [desc(MEDIA.dockerLayerGzip, "1")],
};
const index = (mediaType: string): Index => ({
  schemaVersion: 2,
  mediaType,
  manifests: [
    desc(MEDIA.ociManifest, "a", { os: "linux", architecture: "amd64" }),
    desc(MEDIA.ociManifest, "b", { os: "linux", architecture: "arm64", variant: "v8" }),
    desc(MEDIA.ociManifest, "d", { os: "linux", architecture: "arm", variant: "v6" }),
    desc(MEDIA.ociManifest, "e", { os: "linux", architecture: "arm", variant: "v7" }),
    {
      ...desc(MEDIA.ociManifest, "f", { os: "unknown", architecture: "unknown" }),
      annotations: { "vnd.docker.reference.type": "attestation-manifest" },
    },
  ],
});

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as Error;
  }
  throw new Error("expected an error");
}

describe("parseManifest", () => {
  test("OCI image index and Docker manifest list", () => {
    for (const mt of [MEDIA.ociIndex, MEDIA.dockerList]) {
      const p = parseManifest(enc(index(mt)), { contentType: mt });
      expect(p.kind).toBe("index");
      expect(p.mediaType).toBe(mt);
      if (p.kind === "index") expect(p.index.manifests).toHaveLength(5);
    }
  });

  test("OCI manifest and Docker schema2 manifest", () => {
    const oci = parseManifest(enc(ociManifest));
    expect(oci.kind).toBe("manifest");
    if (oci.kind === "manifest") expect(oci.manifest.layers[1].mediaType).toBe(MEDIA.ociLayerZstd);
    const docker = parseManifest(enc(dockerManifest), `${MEDIA.dockerManifest}; charset=utf-8`);
    expect(docker.mediaType).toBe(MEDIA.dockerManifest);
  });

  test("media type from the header, the document, or the shape", () => {
    const { mediaType: _, ...bare } = ociManifest;
    expect(parseManifest(enc(bare), MEDIA.dockerManifest).mediaType).toBe(MEDIA.dockerManifest);
    expect(parseManifest(enc(bare), "application/json").mediaType).toBe(MEDIA.ociManifest);
    expect(parseManifest(enc({ schemaVersion: 2, manifests: [] })).mediaType).toBe(MEDIA.ociIndex);
    expect(parseManifest(enc(ociManifest), "application/octet-stream").mediaType).toBe(MEDIA.ociManifest);
    expect(manifestMediaType(enc(dockerManifest), MEDIA.ociManifest)).toBe(MEDIA.dockerManifest);
    expect(errorOf(() => parseManifest(enc({ schemaVersion: 2 }))).message).toContain("cannot tell its media type");
  });

  test("Docker schema 1 is refused", () => {
    const want =
      "x:1 uses Docker schema 1 manifests, which mini does not support; re-push the image with a current docker/skopeo";
    const s1 = { schemaVersion: 1, name: "x", tag: "1", fsLayers: [] };
    expect(errorOf(() => parseManifest(enc(s1), { name: "x:1" })).message).toBe(want);
    expect(errorOf(() => parseManifest(enc({}), { contentType: MEDIA.dockerSchema1Signed, name: "x:1" })).message).toBe(
      want,
    );
    expect(errorOf(() => parseManifest(enc({ mediaType: MEDIA.dockerSchema1 }), { name: "x:1" })).message).toBe(want);
  });

  test("malformed documents name the field", () => {
    const cases: [unknown, string][] = [
      ["{not json", "not valid JSON"],
      [[1, 2], "not a JSON object"],
      [{ ...ociManifest, schemaVersion: 3 }, 'field "schemaVersion" must be 2'],
      [{ ...ociManifest, layers: "x" }, 'field "layers" must be an array'],
      [{ ...ociManifest, config: undefined }, 'field "config" must be an object'],
      [
        { ...ociManifest, layers: [{ ...desc(MEDIA.ociLayer, "1"), size: -1 }] },
        'field "layers[0].size" must be a non-negative integer',
      ],
      [
        { ...ociManifest, layers: [desc(MEDIA.ociLayer, "1"), { ...desc(MEDIA.ociLayer, "1"), digest: "md5:x" }] },
        'field "layers[1].digest"',
      ],
      [
        { ...ociManifest, config: { ...desc(MEDIA.ociConfig, "c"), mediaType: 7 } },
        'field "config.mediaType" must be a string',
      ],
      [
        { ...index(MEDIA.ociIndex), manifests: [desc(MEDIA.ociManifest, "a", { os: "linux" } as Platform)] },
        'field "manifests[0].platform.architecture"',
      ],
    ];
    for (const [doc, why] of cases)
      expect(errorOf(() => parseManifest(enc(doc), { name: "r:t" })).message).toContain(why);
    expect(errorOf(() => parseManifest(enc({ ...ociManifest, layers: 1 }), { name: "r:t" })).message).toBe(
      'invalid image manifest for r:t: field "layers" must be an array',
    );
  });

  test("unsupported media types", () => {
    const doc = { ...ociManifest, mediaType: "application/vnd.oci.artifact.manifest.v1+json" };
    expect(errorOf(() => parseManifest(enc(doc))).message).toContain("unsupported manifest media type");
  });

  test("the Accept header lists the four supported types", () => {
    for (const mt of [MEDIA.ociIndex, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.dockerManifest])
      expect(MANIFEST_ACCEPT).toContain(mt);
    expect(MANIFEST_ACCEPT).not.toContain("distribution.manifest.v1");
  });
});

describe("parseImageConfig", () => {
  const config = {
    architecture: "amd64",
    os: "linux",
    config: { Env: ["PATH=/bin"], Cmd: ["sh"], Entrypoint: null, Labels: null, User: "" },
    rootfs: { type: "layers", diff_ids: [dg("1")] },
  };

  test("valid, with docker's nulls", () => {
    const c = parseImageConfig(enc(config));
    expect(c.config?.Cmd).toEqual(["sh"]);
    expect(c.config?.Entrypoint).toBeNull();
    expect(c.config?.Labels).toBeUndefined();
    expect(c.rootfs.diff_ids).toEqual([dg("1")]);
  });

  test("invalid fields", () => {
    expect(errorOf(() => parseImageConfig(enc({ ...config, os: 1 }))).message).toContain('field "os" must be a string');
    expect(errorOf(() => parseImageConfig(enc({ ...config, rootfs: { type: "x", diff_ids: [] } }))).message).toContain(
      '"rootfs.type"',
    );
    expect(
      errorOf(() => parseImageConfig(enc({ ...config, rootfs: { type: "layers", diff_ids: ["x"] } }))).message,
    ).toContain('"rootfs.diff_ids[0]"');
    expect(errorOf(() => parseImageConfig(enc({ ...config, config: { Cmd: "sh" } }))).message).toContain(
      '"config.Cmd" must be an array',
    );
    expect(errorOf(() => parseImageConfig(enc({ ...config, config: { Env: ["A", 1] } }))).message).toContain(
      '"config.Env[1]"',
    );
  });
});

describe("selectPlatform", () => {
  const idx = index(MEDIA.ociIndex);
  test("exact, default-variant and compatible matches", () => {
    expect(selectPlatform(idx, { os: "linux", architecture: "amd64" }).digest).toBe(dg("a"));
    expect(selectPlatform(idx, { os: "linux", architecture: "arm64" }).digest).toBe(dg("b"));
    expect(selectPlatform(idx, { os: "linux", architecture: "arm64", variant: "v8" }).digest).toBe(dg("b"));
    expect(selectPlatform(idx, { os: "linux", architecture: "arm" }).digest).toBe(dg("e"));
    expect(selectPlatform(idx, { os: "linux", architecture: "arm", variant: "v6" }).digest).toBe(dg("d"));
  });

  test("no match lists the available platforms", () => {
    const e = errorOf(() => selectPlatform(idx, { os: "linux", architecture: "s390x" }, "x:1"));
    expect(e.message).toBe(
      "x:1: no matching manifest for linux/s390x in the manifest list entries (available: linux/amd64, linux/arm64/v8, linux/arm/v6, linux/arm/v7)",
    );
    const none: Index = { schemaVersion: 2, manifests: [] };
    expect(errorOf(() => selectPlatform(none, { os: "linux", architecture: "amd64" })).message).toContain(
      "names no platforms",
    );
  });

  test("a single entry without a platform is used", () => {
    const one: Index = { schemaVersion: 2, manifests: [desc(MEDIA.ociManifest, "a")] };
    expect(selectPlatform(one, { os: "linux", architecture: "amd64" }).digest).toBe(dg("a"));
  });
});

describe("digest", () => {
  const hello = enc("hello");
  const helloDigest = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

  test("hashing", () => {
    expect(sha256Hex(hello)).toBe(helloDigest.slice(7));
    expect(sha256Digest("hello")).toBe(helloDigest);
    const h = new Sha256Hasher().update(enc("hel")).update(enc("lo"));
    expect(h.digest()).toBe(helloDigest);
    expect(h.size).toBe(5);
  });

  test("parseDigest", () => {
    expect(parseDigest(helloDigest)).toEqual({ algorithm: "sha256", hex: helloDigest.slice(7) });
    expect(() => parseDigest(`sha512:${"a".repeat(128)}`)).toThrow('unsupported digest algorithm "sha512"');
    expect(() => parseDigest(`sha256:${"A".repeat(64)}`)).toThrow("64 lowercase hex");
    expect(() => parseDigest("sha256:abc")).toThrow("64 lowercase hex");
    expect(() => parseDigest("nonsense")).toThrow('invalid digest "nonsense"');
  });

  test("verifyDigest", () => {
    verifyDigest(hello, helloDigest);
    const wrong = dg("0");
    let err: unknown;
    try {
      verifyDigest(hello, wrong);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect((err as DigestMismatchError).expected).toBe(wrong);
    expect((err as DigestMismatchError).actual).toBe(helloDigest);
    expect((err as Error).message).toContain(`expected ${wrong}, got ${helloDigest}`);
  });

  test("verifyingStream passes data and fails at the end on mismatch", async () => {
    let done = "";
    const ok = verifyingStream(new Blob([hello]).stream(), helloDigest, (d, n) => (done = `${d} ${n}`));
    expect(await new Response(ok).text()).toBe("hello");
    expect(done).toBe(`${helloDigest} 5`);
    const bad = verifyingStream(new Blob([hello]).stream(), dg("0"));
    await expect(new Response(bad).text()).rejects.toBeInstanceOf(DigestMismatchError);
  });
});
