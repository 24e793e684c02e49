// Self-test of the registry helpers: a real docker-registry, every kind of test image, the
// fault-injecting proxy and the token flow, checked from outside with skopeo and curl.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Fault, startFaultyProxy, startTokenServer } from "./faulty-proxy";
import {
  BUSYBOX_LABEL,
  cleanupImages,
  HOSTILE,
  HOSTILE_KINDS,
  MULTI_LAYER,
  type Pushed,
  pushBusybox,
  pushHostileLayer,
  pushMultiLayer,
  pushTwoPlatform,
  TWO_PLATFORM,
} from "./images";
import { decompressLayer, listTar, MT, sha256, type TarEntry } from "./layout";
import { liveRegistries, type Registry, startRegistry } from "./server";
import { run as runCaptured } from "../mini.ts";

// Everything is spawned asynchronously: the proxies are served by this process's event loop.
const run = (cmd: string[]) => runCaptured(cmd, { inheritEnv: true });

async function inspect(ref: string, extra: string[] = []): Promise<any> {
  const r = await run(["skopeo", "inspect", "--tls-verify=false", "--retry-times", "0", ...extra, `docker://${ref}`]);
  if (r.code !== 0) throw new Error(`skopeo inspect ${ref}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const ACCEPT = [MT.manifest, MT.index, MT.dockerManifest, MT.dockerList].join(", ");

/** curl of a manifest or blob: exit code, status, response headers, body bytes. */
let curlN = 0;
async function curl(
  url: string,
  args: string[] = [],
): Promise<{ code: number; status: number; headers: string; body: Uint8Array; stderr: string }> {
  // Headers and body go to files: `-D /dev/stderr` makes curl crash when stderr is a pipe.
  const base = join(tmpdir(), `mini-selftest-curl-${process.pid}-${curlN++}`);
  try {
    const { code, stderr } = await run(["curl", "-sS", "-D", `${base}.h`, "-o", `${base}.b`, ...args, url]);
    const headers = existsSync(`${base}.h`) ? readFileSync(`${base}.h`, "utf8") : "";
    const body = existsSync(`${base}.b`) ? new Uint8Array(readFileSync(`${base}.b`)) : new Uint8Array();
    const status = Number([...headers.matchAll(/^HTTP\/[\d.]+ (\d+)/gm)].at(-1)?.[1] ?? 0);
    return { code, status, headers, body, stderr };
  } finally {
    rmSync(`${base}.h`, { force: true });
    rmSync(`${base}.b`, { force: true });
  }
}

const json = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b));
const timings: Record<string, number> = {};
async function timed<T>(name: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await f();
  } finally {
    timings[name] = Math.round(performance.now() - t0);
  }
}

let reg: Registry;
const pushed: Record<string, Pushed> = {};

beforeAll(async () => {
  reg = await timed("startRegistry", () => startRegistry());
});

afterAll(async () => {
  await reg?.stop();
  cleanupImages();
  console.log("registry helper timings (ms):", JSON.stringify(timings));
});

async function manifestOf(name: string, ref: string, base = reg.url): Promise<any> {
  const r = await curl(`${base}/v2/${name}/manifests/${ref}`, ["-H", `Accept: ${ACCEPT}`]);
  expect(r.status).toBe(200);
  return json(r.body);
}

async function blobOf(name: string, digest: string, base = reg.url): Promise<Uint8Array> {
  const r = await curl(`${base}/v2/${name}/blobs/${digest}`);
  expect(r.status).toBe(200);
  expect(sha256(r.body)).toBe(digest);
  return r.body;
}

describe("registry server", () => {
  test("answers /v2/ on 127.0.0.1 from its own temp dir", async () => {
    expect(reg.host).toMatch(/^127\.0\.0\.1:\d+$/);
    const r = await fetch(`${reg.url}/v2/`);
    expect(r.status).toBe(200);
    expect(r.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
    expect(existsSync(`${reg.dir}/config.yml`)).toBe(true);
    expect(liveRegistries()).toContain(reg.pid);
  });

  test("htpasswd: 401 without credentials, push and inspect with them; stop() leaves nothing", async () => {
    const creds = { user: "mini", password: "s3cret pass" };
    const a = await timed("startRegistry(htpasswd)", () => startRegistry({ htpasswd: creds }));
    const r = await fetch(`${a.url}/v2/`);
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toMatch(/^Basic realm="mini-test"/);
    await expect(pushBusybox(a.host, "bb", "1")).rejects.toThrow();
    const p = await pushBusybox(a.host, "bb", "1", { creds });
    const ok = await run([
      "skopeo",
      "inspect",
      "--tls-verify=false",
      "--creds",
      `${creds.user}:${creds.password}`,
      `docker://${p.ref}`,
    ]);
    expect(ok.code).toBe(0);
    const denied = await run(["skopeo", "inspect", "--tls-verify=false", "--no-creds", `docker://${p.ref}`]);
    expect(denied.code).not.toBe(0);
    const { pid, dir } = a;
    await a.stop();
    expect(existsSync(dir)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
    expect(liveRegistries()).not.toContain(pid);
  });
});

describe("images", () => {
  test("busybox (gzip): OCI manifest, one gzip layer, Cmd sh, PATH, label", async () => {
    const p = (pushed.busybox = await timed("pushBusybox(gzip)", () => pushBusybox(reg.host, "busybox", "latest")));
    const m = await manifestOf("busybox", "latest");
    expect(m.mediaType ?? MT.manifest).toBe(MT.manifest);
    expect(m.layers).toHaveLength(1);
    expect(m.layers[0].mediaType).toBe(MT.layerGzip);
    const info = await inspect(p.ref);
    expect(info.Digest).toBe(p.digest);
    expect(info.Architecture).toBe("amd64");
    expect(info.Labels[BUSYBOX_LABEL.key]).toBe(BUSYBOX_LABEL.value);
    const cfg = json(await blobOf("busybox", m.config.digest));
    expect(cfg.config.Cmd).toEqual(["sh"]);
    expect(cfg.config.Env.some((e: string) => e.startsWith("PATH=/"))).toBe(true);
    const names = listTar(decompressLayer(m.layers[0].mediaType, await blobOf("busybox", m.layers[0].digest))).map(
      (e) => e.name,
    );
    expect(names).toContain("bin/busybox");
    expect(names).toContain("etc/os-release");
    // a second push of the same image reuses the built layout
    const again = await timed("pushBusybox(cached)", () => pushBusybox(reg.host, "busybox2", "1"));
    expect(again.digest).toBe(p.digest);
    expect(again.ms.build).toBe(0);
  });

  test("busybox (zstd): the layer is tar+zstd, even with the gzip blobs already in the registry", async () => {
    const p = await timed("pushBusybox(zstd)", () =>
      pushBusybox(reg.host, "busybox-zstd", "1", { compression: "zstd" }),
    );
    const m = await manifestOf("busybox-zstd", "1");
    expect(m.layers).toHaveLength(1);
    expect(m.layers[0].mediaType).toBe(MT.layerZstd);
    const blob = await blobOf("busybox-zstd", m.layers[0].digest);
    expect([...blob.subarray(0, 4)]).toEqual([0x28, 0xb5, 0x2f, 0xfd]);
    expect(listTar(decompressLayer(MT.layerZstd, blob)).map((e) => e.name)).toContain("bin/busybox");
    expect((await inspect(p.ref, ["--raw"])).layers[0].mediaType).toBe(MT.layerZstd);
  });

  test("multi-layer: 4 layers, umoci's whiteouts, an opaque dir, links, setuid, config", async () => {
    const p = await timed("pushMultiLayer", () => pushMultiLayer(reg.host, "multi", "v1"));
    const m = await manifestOf("multi", "v1");
    expect(m.layers).toHaveLength(MULTI_LAYER.layers);
    const layers: TarEntry[][] = [];
    for (const l of m.layers) layers.push(listTar(decompressLayer(l.mediaType, await blobOf("multi", l.digest))));
    const byName = (i: number) => new Map(layers[i].map((e) => [e.name.replace(/\/$/, ""), e]));
    const l2 = byName(1),
      l3 = byName(2),
      l4 = byName(3);
    for (const f of ["data/a", "data/b", "etc/motd", "opt/old/x", "opt/old/sub/y", "opt/keep/k1"])
      expect(l2.has(f)).toBe(true);
    for (const w of MULTI_LAYER.whiteouts[3]) expect(l3.has(w)).toBe(true);
    expect([...l3.keys()].some((n) => n.endsWith(".wh..wh..opq"))).toBe(false);
    expect(l3.get("data/link")).toMatchObject({ type: "2", linkname: "b" });
    expect(l3.get("data/abs-link")).toMatchObject({ type: "2", linkname: "/etc/motd" });
    expect(l3.get("data/hard")).toMatchObject({ type: "1", linkname: "data/b" });
    expect(l3.get("data/b")).toMatchObject({ uid: 1000, gid: 1000 });
    expect(l3.get("usr/local/bin/suid-file")!.mode & 0o7777).toBe(0o4755);
    expect(l3.get("data/sgid-dir")!.mode & 0o7777).toBe(0o2775);
    expect(l3.has("etc/os-release")).toBe(true);
    expect([...l4.keys()]).toEqual(["opt", "opt/keep", "opt/keep/.wh..wh..opq", "opt/keep/replaced"]);
    const info = await inspect(p.ref, ["--config"]);
    const c = info.config;
    expect(c.Entrypoint).toEqual(MULTI_LAYER.config.Entrypoint);
    expect(c.Cmd).toEqual(MULTI_LAYER.config.Cmd);
    expect(c.Env).toEqual(MULTI_LAYER.config.Env);
    expect(c.WorkingDir).toBe(MULTI_LAYER.config.WorkingDir);
    expect(c.User).toBe(MULTI_LAYER.config.User);
    expect(info.rootfs.diff_ids).toHaveLength(4);

    // MULTI_LAYER describes what a correct unpacker makes of it: check with umoci's.
    const tmp = mkdtempSync(join(tmpdir(), "mini-selftest-unpack-"));
    try {
      const cp = await run(["skopeo", "copy", "-q", "--src-tls-verify=false", `docker://${p.ref}`, `oci:${tmp}/oci:x`]);
      expect(cp.stderr).toBe("");
      const up = await run(["umoci", "unpack", "--image", `${tmp}/oci:x`, `${tmp}/b`]);
      expect(up.stderr).toBe("");
      const R = `${tmp}/b/rootfs`;
      for (const [f, content] of Object.entries(MULTI_LAYER.files)) expect(readFileSync(R + f, "utf8")).toBe(content);
      for (const f of MULTI_LAYER.absent) expect(existsSync(R + f)).toBe(false);
      for (const [f, target] of Object.entries(MULTI_LAYER.symlinks)) expect(readlinkSync(R + f)).toBe(target);
      for (const [a, b] of MULTI_LAYER.hardlinks) expect(lstatSync(R + a).ino).toBe(lstatSync(R + b).ino);
      for (const [f, mode] of Object.entries(MULTI_LAYER.modes)) expect(lstatSync(R + f).mode & 0o7777).toBe(mode);
      for (const [f, [u, g]] of Object.entries(MULTI_LAYER.owners))
        expect([lstatSync(R + f).uid, lstatSync(R + f).gid]).toEqual([u, g]);
      expect(readdirSync(`${R}/opt/keep`)).toEqual(["replaced"]);
      expect(readdirSync(`${R}/opt/old`)).toEqual(["new"]);
      expect(readFileSync(`${R}/etc/os-release`, "utf8")).toContain(MULTI_LAYER.osReleaseLine);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test("two platforms: an OCI index with linux/amd64 and linux/arm64/v8", async () => {
    const p = await timed("pushTwoPlatform", () => pushTwoPlatform(reg.host, "multiarch", "1"));
    expect(p.mediaType).toBe(MT.index);
    const idx = await manifestOf("multiarch", "1");
    expect(idx.mediaType).toBe(MT.index);
    expect(idx.manifests.map((d: any) => d.platform)).toEqual([
      { architecture: "amd64", os: "linux" },
      { architecture: "arm64", os: "linux", variant: "v8" },
    ]);
    for (const [i, d] of idx.manifests.entries()) {
      const m = await manifestOf("multiarch", d.digest);
      expect(m.layers).toHaveLength(2);
      const cfg = json(await blobOf("multiarch", m.config.digest));
      expect(cfg.architecture).toBe(TWO_PLATFORM.platforms[i].architecture);
      const marker = listTar(decompressLayer(m.layers[1].mediaType, await blobOf("multiarch", m.layers[1].digest)));
      expect(marker.map((e) => e.name)).toContain(TWO_PLATFORM.markerPath.slice(1));
    }
    const arm = await inspect(p.ref, ["--override-arch", "arm64", "--override-variant", "v8"]);
    expect(arm.Architecture).toBe("arm64");
    expect(arm.Labels["org.mini.test.platform"]).toBe("linux/arm64/v8");
    const raw = await inspect(p.ref, ["--raw"]);
    expect(raw.manifests).toHaveLength(2);
  });

  for (const kind of HOSTILE_KINDS) {
    test(`hostile layer: ${kind}`, async () => {
      const p = await timed(`pushHostileLayer(${kind})`, () =>
        pushHostileLayer(reg.host, `hostile/${kind}`, "1", kind),
      );
      const m = await manifestOf(`hostile/${kind}`, "1");
      expect(m.layers).toHaveLength(2);
      const cfg = json(await blobOf(`hostile/${kind}`, m.config.digest));
      expect(cfg.rootfs.diff_ids).toHaveLength(2);
      const blob = await blobOf(`hostile/${kind}`, m.layers[1].digest);
      if (kind === "corrupt-gzip") {
        expect([...blob.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
        expect(() => Bun.gunzipSync(blob as Uint8Array<ArrayBuffer>)).toThrow();
        return;
      }
      const tar = decompressLayer(m.layers[1].mediaType, blob);
      expect(sha256(tar)).toBe(cfg.rootfs.diff_ids[1]);
      const entries = listTar(tar);
      expect(entries[0].name).toBe(HOSTILE.okFile);
      const names = entries.map((e) => e.name);
      if (kind === "dotdot") {
        expect(names).toContain("../mini-hostile-dotdot");
        expect(names).toContain("sub/../../mini-hostile-dotdot-2");
      } else if (kind === "absolute-symlink-then-file") {
        expect(p.canary).toBeTruthy();
        expect(entries[1]).toMatchObject({ name: "a", type: "2", linkname: p.canary });
        expect(entries[2]).toMatchObject({ name: "a/passwd", type: "0" });
      } else if (kind === "hardlink-outside") {
        for (const [n, target] of Object.entries(HOSTILE.hardlinks))
          expect(entries.find((e) => e.name === n)).toMatchObject({ type: "1", linkname: target });
      } else if (kind === "huge-size") {
        expect(entries[1]).toMatchObject({ name: "big", size: HOSTILE.hugeDeclared });
        expect(tar.length).toBeLessThan(2 << 20);
      }
    });
  }
});

describe("faulty proxy", () => {
  let layer: { name: string; digest: string; size: number };
  beforeAll(async () => {
    if (!pushed.busybox) pushed.busybox = await pushBusybox(reg.host, "busybox", "latest");
    const m = await manifestOf("busybox", "latest");
    layer = { name: "busybox", digest: m.layers[0].digest, size: m.layers[0].size };
  });
  const blobUrl = (base: string) => `${base}/v2/${layer.name}/blobs/${layer.digest}`;
  const manifestUrl = (base: string) => `${base}/v2/${layer.name}/manifests/latest`;

  async function withProxy(
    fault: Fault,
    f: (base: string, stats: { faults: number; log: string[] }) => Promise<void>,
    opts = {},
  ) {
    const px = await startFaultyProxy(reg.host, fault, opts);
    try {
      await f(px.url, px.stats);
    } finally {
      await px.stop();
    }
  }

  test("none: transparent, blob and HEAD intact", () =>
    withProxy("none", async (base) => {
      const r = await curl(blobUrl(base));
      expect(r.status).toBe(200);
      expect(sha256(r.body)).toBe(layer.digest);
      const h = await curl(manifestUrl(base), ["-I", "-H", `Accept: ${ACCEPT}`]);
      expect(h.status).toBe(200);
      expect(h.headers).toMatch(/docker-content-digest: sha256:/i);
      expect(h.headers).toMatch(/content-length: [1-9]/i);
      expect((await inspect(`${base.slice(7)}/busybox:latest`)).Digest).toBe(pushed.busybox.digest);
    }));

  test("corrupt-blob: same length, different sha256", () =>
    withProxy("corrupt-blob", async (base, stats) => {
      const r = await curl(blobUrl(base));
      expect(r.status).toBe(200);
      expect(r.body.length).toBe(layer.size);
      expect(sha256(r.body)).not.toBe(layer.digest);
      expect(stats.faults).toBe(1);
    }));

  test("drop-mid-blob-once: the first GET is cut at half, the second is whole", () =>
    withProxy("drop-mid-blob-once", async (base) => {
      const first = await curl(blobUrl(base));
      expect(first.code).not.toBe(0); // curl: (18) or (56)
      expect(first.body.length).toBe(Math.floor(layer.size / 2));
      expect(first.headers).toMatch(new RegExp(`content-length: ${layer.size}`, "i"));
      const second = await curl(blobUrl(base));
      expect(second.code).toBe(0);
      expect(sha256(second.body)).toBe(layer.digest);
    }));

  test("drop-mid-blob-always: every GET is cut", () =>
    withProxy("drop-mid-blob-always", async (base, stats) => {
      for (let i = 0; i < 2; i++) {
        const r = await curl(blobUrl(base));
        expect(r.code).not.toBe(0);
        expect(r.body.length).toBeLessThan(layer.size);
      }
      expect(stats.faults).toBe(2);
    }));

  test("404-manifest: GET and HEAD 404, blobs still served", () =>
    withProxy("404-manifest", async (base) => {
      const g = await curl(manifestUrl(base), ["-H", `Accept: ${ACCEPT}`]);
      expect(g.status).toBe(404);
      expect(json(g.body).errors[0].code).toBe("MANIFEST_UNKNOWN");
      expect((await curl(manifestUrl(base), ["-I"])).status).toBe(404);
      expect((await curl(blobUrl(base))).status).toBe(200);
    }));

  test("500-once then 200; 500-always stays 500", async () => {
    await withProxy("500-once", async (base) => {
      expect((await curl(manifestUrl(base), ["-H", `Accept: ${ACCEPT}`])).status).toBe(500);
      expect((await curl(manifestUrl(base), ["-H", `Accept: ${ACCEPT}`])).status).toBe(200);
      expect((await curl(blobUrl(base))).status).toBe(500);
      expect(sha256((await curl(blobUrl(base))).body)).toBe(layer.digest);
    });
    await withProxy("500-always", async (base) => {
      for (let i = 0; i < 3; i++) expect((await curl(manifestUrl(base), ["-H", `Accept: ${ACCEPT}`])).status).toBe(500);
      expect((await curl(blobUrl(base))).status).toBe(500);
    });
  });

  test("slow: delayed and throttled, but whole", () =>
    withProxy(
      "slow",
      async (base) => {
        const t0 = performance.now();
        const r = await curl(blobUrl(base));
        const ms = performance.now() - t0;
        expect(sha256(r.body)).toBe(layer.digest);
        // 200 ms delay + ~1 MB at 4 MiB/s
        expect(ms).toBeGreaterThan(200 + (layer.size / (4 << 20)) * 1000 * 0.7);
      },
      { delayMs: 200, bytesPerSec: 4 << 20 },
    ));
});

describe("token server", () => {
  test("Bearer flow with curl: challenge, token with Basic credentials, scoped access", async () => {
    if (!pushed.busybox) pushed.busybox = await pushBusybox(reg.host, "busybox", "latest");
    const ts = await startTokenServer(reg.host, { user: "tok", password: "pw" });
    try {
      const url = `${ts.url}/v2/busybox/manifests/latest`;
      const c = await curl(url, ["-H", `Accept: ${ACCEPT}`]);
      expect(c.status).toBe(401);
      const wa = /www-authenticate: (.*)\r?\n/i.exec(c.headers)![1].trim();
      expect(wa).toBe(`Bearer realm="${ts.realm}",service="mini-test",scope="repository:busybox:pull"`);
      const ping = await curl(`${ts.url}/v2/`);
      expect(ping.status).toBe(401);
      expect(ping.headers).toMatch(/www-authenticate: Bearer realm="[^"]+",service="mini-test"\r?\n/i);

      const tokUrl = `${ts.realm}?service=mini-test&scope=repository:busybox:pull`;
      expect((await curl(tokUrl)).status).toBe(401);
      expect((await curl(tokUrl, ["-u", "tok:wrong"])).status).toBe(401);
      expect((await curl(`${ts.realm}?service=other&scope=repository:busybox:pull`, ["-u", "tok:pw"])).status).toBe(
        400,
      );
      const t = await curl(tokUrl, ["-u", "tok:pw"]);
      expect(t.status).toBe(200);
      const { token, access_token, expires_in } = json(t.body);
      expect(token).toBe(access_token);
      expect(expires_in).toBe(300);

      const ok = await curl(url, ["-H", `Accept: ${ACCEPT}`, "-H", `Authorization: Bearer ${token}`]);
      expect(ok.status).toBe(200);
      expect(json(ok.body).layers).toHaveLength(1);
      const blob = await curl(`${ts.url}/v2/busybox/blobs/${json(ok.body).layers[0].digest}`, [
        "-H",
        `Authorization: Bearer ${token}`,
      ]);
      expect(sha256(blob.body)).toBe(json(ok.body).layers[0].digest);
      // a token for busybox opens nothing else, and it can't push
      expect((await curl(`${ts.url}/v2/other/manifests/latest`, ["-H", `Authorization: Bearer ${token}`])).status).toBe(
        401,
      );
      const post = await curl(`${ts.url}/v2/busybox/blobs/uploads/`, [
        "-X",
        "POST",
        "-H",
        `Authorization: Bearer ${token}`,
      ]);
      expect(post.status).toBe(401);
      expect(post.headers).toMatch(/scope="repository:busybox:pull,push"/);
      expect((await curl(url, ["-H", "Authorization: Bearer forged"])).status).toBe(401);
      // skopeo does the whole dance itself
      const info = await inspect(`${ts.host}/busybox:latest`, ["--creds", "tok:pw"]);
      expect(info.Digest).toBe(pushed.busybox.digest);
      expect(
        ts.stats.tokenRequests.some(
          (r) => r.status === 200 && r.basic && r.granted.includes("repository:busybox:pull"),
        ),
      ).toBe(true);
    } finally {
      await ts.stop();
    }
  });

  test("anonymous tokens and repository restrictions", async () => {
    const ts = await startTokenServer(reg.host, { repositories: ["busybox"], actions: ["pull"] });
    try {
      const t = json(
        (await curl(`${ts.realm}?service=mini-test&scope=repository:busybox:pull,push&scope=repository:multi:pull`))
          .body,
      );
      expect(ts.stats.tokenRequests.at(-1)!.granted).toEqual(["repository:busybox:pull"]);
      const h = ["-H", `Authorization: Bearer ${t.token}`, "-H", `Accept: ${ACCEPT}`];
      expect((await curl(`${ts.url}/v2/busybox/manifests/latest`, h)).status).toBe(200);
      expect((await curl(`${ts.url}/v2/multi/manifests/v1`, h)).status).toBe(401);
      expect((await inspect(`${ts.host}/busybox:latest`)).Digest).toBeTruthy();
    } finally {
      await ts.stop();
    }
  });
});
