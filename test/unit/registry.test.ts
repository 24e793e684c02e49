import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findCredentials, parseChallenge, removeCredentials, saveCredentials } from "../../src/image/auth.ts";
import { DigestMismatchError, sha256Digest } from "../../src/image/digest.ts";
import { RegistryClient, RegistryError, isLoopbackRegistry } from "../../src/image/registry.ts";
import { MEDIA } from "../../src/image/types.ts";

const manifest = JSON.stringify({
  schemaVersion: 2,
  mediaType: MEDIA.ociManifest,
  config: { mediaType: MEDIA.ociConfig, digest: `sha256:${"c".repeat(64)}`, size: 2 },
  layers: [],
});
const manifestDigest = sha256Digest(manifest);
const blob = "layer bytes";
const blobDigest = sha256Digest(blob);
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}`;
const fast = { retryDelayMs: 1 };

interface Seen {
  path: string;
  auth: string | null;
  url: URL;
}
const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

/** A fake HTTP server on 127.0.0.1 recording every request. */
function serve(handler: (req: Request, url: URL, n: number) => Response | Promise<Response>) {
  const seen: Seen[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      seen.push({ path: url.pathname, auth: req.headers.get("authorization"), url });
      return handler(req, url, seen.length);
    },
  });
  cleanups.push(() => server.stop(true));
  return { host: `127.0.0.1:${server.port}`, seen };
}

const manifestResponse = () =>
  new Response(manifest, { headers: { "content-type": MEDIA.ociManifest, "docker-content-digest": manifestDigest } });
const errorBody = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  Response.json({ errors: [{ code, message, detail: null }] }, { status, headers });

describe("RegistryClient", () => {
  test("bearer flow: challenge, token with scope and Basic credentials, token cached", async () => {
    const tokens = serve((_req, url) => {
      if (url.searchParams.get("scope") !== "repository:ns/x:pull" || url.searchParams.get("service") !== "fake") {
        return new Response("bad scope", { status: 400 });
      }
      return Response.json({ access_token: "tok-123", expires_in: 300 });
    });
    const reg = serve((req) => {
      if (req.headers.get("authorization") !== "Bearer tok-123") {
        const challenge = `Bearer realm="http://${tokens.host}/token",service="fake",scope="repository:ns/x:pull"`;
        return errorBody(401, "UNAUTHORIZED", "authentication required", { "www-authenticate": challenge });
      }
      return manifestResponse();
    });
    const client = new RegistryClient(reg.host, { credentials: { username: "u", password: "p:w" }, ...fast });
    const m = await client.getManifest("ns/x", "v1");
    expect(m.digest).toBe(manifestDigest);
    expect(m.mediaType).toBe(MEDIA.ociManifest);
    expect(new TextDecoder().decode(m.bytes)).toBe(manifest);
    expect(tokens.seen).toHaveLength(1);
    expect(tokens.seen[0].auth).toBe(basic("u", "p:w"));
    await client.getManifest("ns/x", "v2");
    expect(tokens.seen).toHaveLength(1);
    expect(reg.seen.map((s) => s.auth)).toEqual([null, "Bearer tok-123", "Bearer tok-123"]);
  });

  test("anonymous token (the `token` field), no Authorization to the token server", async () => {
    const tokens = serve(() => Response.json({ token: "anon" }));
    const reg = serve((req) =>
      req.headers.get("authorization") === "Bearer anon"
        ? new Response(blob)
        : new Response(null, {
            status: 401,
            headers: { "www-authenticate": `Bearer realm="http://${tokens.host}/t",service="s"` },
          }),
    );
    const bytes = await new RegistryClient(reg.host, fast).getBlobBytes("x", blobDigest);
    expect(new TextDecoder().decode(bytes)).toBe(blob);
    expect(tokens.seen[0].auth).toBeNull();
    expect(tokens.seen[0].url.searchParams.get("scope")).toBe("repository:x:pull");
  });

  test("a rejected token request names the token server", async () => {
    const tokens = serve(() => Response.json({ details: "incorrect username or password" }, { status: 401 }));
    const reg = serve(
      () =>
        new Response(null, { status: 401, headers: { "www-authenticate": `Bearer realm="http://${tokens.host}/t"` } }),
    );
    const client = new RegistryClient(reg.host, { credentials: { username: "u", password: "bad" }, ...fast });
    await expect(client.getManifest("x", "t")).rejects.toThrow(
      `pull ${reg.host}/x:t: authentication at ${tokens.host} failed: incorrect username or password (401)`,
    );
  });

  test("basic auth", async () => {
    const reg = serve((req) =>
      req.headers.get("authorization") === basic("alice", "secret")
        ? manifestResponse()
        : errorBody(401, "UNAUTHORIZED", "authentication required", { "www-authenticate": 'Basic realm="fake"' }),
    );
    const ok = new RegistryClient(reg.host, { credentials: { username: "alice", password: "secret" }, ...fast });
    await ok.ping();
    await ok.getManifest("x", "t");
    expect(reg.seen.map((s) => s.auth)).toEqual([null, basic("alice", "secret"), basic("alice", "secret")]);

    const anon = new RegistryClient(reg.host, fast);
    const err = await anon.getManifest("x", "t").catch((e) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.message).toBe(`pull ${reg.host}/x:t: unauthorized: authentication required (401)`);
    const wrong = new RegistryClient(reg.host, { credentials: { username: "alice", password: "nope" }, ...fast });
    await expect(wrong.getManifest("x", "t")).rejects.toThrow("unauthorized: authentication required (401)");
  });

  test("404 manifest unknown: one line, not retried", async () => {
    const reg = serve(() => errorBody(404, "MANIFEST_UNKNOWN", "manifest unknown"));
    const err = await new RegistryClient(reg.host, fast).getManifest("x", "nope").catch((e) => e);
    expect(err.message).toBe(`pull ${reg.host}/x:nope: manifest unknown (404)`);
    expect(err.status).toBe(404);
    expect(err.code).toBe("MANIFEST_UNKNOWN");
    expect(reg.seen).toHaveLength(1);
  });

  test("403 without a JSON body is not retried", async () => {
    const reg = serve(() => new Response("no", { status: 403, statusText: "Forbidden" }));
    await expect(new RegistryClient(reg.host, fast).getBlob("x", blobDigest)).rejects.toThrow(
      `pull ${reg.host}/x@${blobDigest}: forbidden (403)`,
    );
    expect(reg.seen).toHaveLength(1);
  });

  test("500 then success is retried; persistent 500 gives up after `retries`", async () => {
    const flaky = serve((_r, _u, n) => (n === 1 ? new Response("oops", { status: 500 }) : manifestResponse()));
    expect((await new RegistryClient(flaky.host, fast).getManifest("x", "t")).digest).toBe(manifestDigest);
    expect(flaky.seen).toHaveLength(2);

    const down = serve(() => errorBody(503, "UNAVAILABLE", "try later"));
    const err = await new RegistryClient(down.host, { retries: 2, ...fast }).getManifest("x", "t").catch((e) => e);
    expect(err.message).toBe(`pull ${down.host}/x:t: unavailable: try later (503)`);
    expect(down.seen).toHaveLength(3);
  });

  test("429 is retried", async () => {
    const reg = serve((_r, _u, n) => (n < 3 ? new Response(null, { status: 429 }) : new Response(blob)));
    expect(new TextDecoder().decode(await new RegistryClient(reg.host, fast).getBlobBytes("x", blobDigest))).toBe(blob);
    expect(reg.seen).toHaveLength(3);
  });

  test("a dropped connection then success", async () => {
    let connections = 0;
    const sockets: Socket[] = [];
    const server: NetServer = createServer((socket) => {
      sockets.push(socket);
      const n = ++connections;
      socket.once("data", () => {
        if (n === 1) return socket.destroy();
        socket.end(
          `HTTP/1.1 200 OK\r\nContent-Type: ${MEDIA.ociManifest}\r\nContent-Length: ${manifest.length}\r\nConnection: close\r\n\r\n${manifest}`,
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    cleanups.push(() => {
      for (const s of sockets) s.destroy();
      server.close();
    });
    const port = (server.address() as { port: number }).port;
    const m = await new RegistryClient(`127.0.0.1:${port}`, fast).getManifest("x", "t");
    expect(m.digest).toBe(manifestDigest);
    expect(connections).toBe(2);
  });

  test("connection refused, after retries", async () => {
    const gone = serve(() => new Response());
    cleanups.pop()!();
    const err = await new RegistryClient(gone.host, { retries: 1, ...fast }).getManifest("x", "t").catch((e) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.message).toBe(`pull ${gone.host}/x:t: connection refused by ${gone.host}`);
  });

  test("TLS errors are reported and not retried", async () => {
    let calls = 0;
    const fakeFetch = (async () => {
      calls++;
      throw Object.assign(new TypeError("unable to verify the first certificate"), {
        code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      });
    }) as unknown as typeof fetch;
    const err = await new RegistryClient("registry.example", { fetch: fakeFetch, ...fast }).ping().catch((e) => e);
    expect(err.message).toStartWith(
      "pull registry.example: TLS error talking to registry.example: unable to verify the first certificate",
    );
    expect(calls).toBe(1);
  });

  test("blob redirect to another host does not forward Authorization", async () => {
    const storage = serve((_req, url) =>
      url.searchParams.get("sig") === "ok" ? new Response(blob) : new Response(null, { status: 403 }),
    );
    const reg = serve((req, url) => {
      if (req.headers.get("authorization") !== basic("u", "p")) {
        return new Response(null, { status: 401, headers: { "www-authenticate": 'Basic realm="r"' } });
      }
      if (url.pathname.endsWith("/here")) return Response.redirect(`/v2/x/blobs/${blobDigest}/there`, 307);
      return Response.redirect(`http://${storage.host}/bucket/obj?sig=ok`, 307);
    });
    const client = new RegistryClient(reg.host, { credentials: { username: "u", password: "p" }, ...fast });
    const res = await client.getBlob("x", blobDigest);
    expect(await res.text()).toBe(blob);
    expect(storage.seen).toHaveLength(1);
    expect(storage.seen[0].auth).toBeNull();
    expect(reg.seen.at(-1)!.auth).toBe(basic("u", "p"));
    expect(new TextDecoder().decode(await client.getBlobBytes("x", blobDigest))).toBe(blob);
  });

  test("digest mismatch on a blob and on a manifest", async () => {
    const reg = serve((_r, url) =>
      url.pathname.includes("/blobs/")
        ? new Response("tampered")
        : new Response(manifest, {
            headers: { "content-type": MEDIA.ociManifest, "docker-content-digest": blobDigest },
          }),
    );
    const client = new RegistryClient(reg.host, fast);
    const err = await client.getBlobBytes("x", blobDigest).catch((e) => e);
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect(err.expected).toBe(blobDigest);
    expect(err.actual).toBe(sha256Digest("tampered"));
    await expect(client.getManifest("x", blobDigest)).rejects.toBeInstanceOf(DigestMismatchError);
    await expect(client.getManifest("x", "t")).rejects.toBeInstanceOf(DigestMismatchError);
    await expect(client.getBlob("x", "sha512:abc")).rejects.toThrow("unsupported digest algorithm");
  });

  test("manifest by digest is verified and returned", async () => {
    const reg = serve(() => new Response(manifest, { headers: { "content-type": "application/octet-stream" } }));
    const m = await new RegistryClient(reg.host, fast).getManifest("x", manifestDigest);
    expect(m.digest).toBe(manifestDigest);
    expect(m.mediaType).toBe(MEDIA.ociManifest);
    expect(reg.seen[0].path).toBe(`/v2/x/manifests/${manifestDigest}`);
  });

  test("scheme: plain HTTP only on loopback or when insecure", () => {
    expect(new RegistryClient("docker.io").baseUrl).toBe("https://registry-1.docker.io");
    expect(new RegistryClient("example.com:5000").baseUrl).toBe("https://example.com:5000");
    expect(new RegistryClient("example.com:5000", { insecure: true }).baseUrl).toBe("http://example.com:5000");
    expect(new RegistryClient("localhost:5000").baseUrl).toBe("http://localhost:5000");
    for (const r of ["localhost", "127.0.0.1:5000", "127.1.2.3", "[::1]:5000"])
      expect(isLoopbackRegistry(r)).toBe(true);
    for (const r of ["128.0.0.1", "localhost.example.com", "10.0.0.1:5000"]) expect(isLoopbackRegistry(r)).toBe(false);
  });
});

describe("parseChallenge", () => {
  test("Bearer and Basic", () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      ),
    ).toEqual({
      scheme: "bearer",
      params: {
        realm: "https://auth.docker.io/token",
        service: "registry.docker.io",
        scope: "repository:library/busybox:pull",
      },
    });
    expect(parseChallenge('basic realm="Registry Realm"')).toEqual({
      scheme: "basic",
      params: { realm: "Registry Realm" },
    });
    expect(parseChallenge("Negotiate abc")).toBeUndefined();
    expect(parseChallenge(null)).toBeUndefined();
  });
});

describe("credentials", () => {
  const dir = mkdtempSync(join(tmpdir(), "mini-auth-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const paths = { mini: join(dir, "mini", "auth.json"), docker: join(dir, "docker.json") };
  const b64 = (s: string) => Buffer.from(s).toString("base64");

  test("docker's config: base64 auth, username/password, key forms", () => {
    writeFileSync(
      paths.docker,
      JSON.stringify({
        auths: {
          "https://index.docker.io/v1/": { auth: b64("hub:pw:with:colons") },
          "127.0.0.1:5000": { username: "local", password: "lpw" },
          "https://ghcr.io/v2/": { auth: b64("gh:tok") },
        },
      }),
    );
    expect(findCredentials("docker.io", paths)).toEqual({ username: "hub", password: "pw:with:colons" });
    expect(findCredentials("127.0.0.1:5000", paths)).toEqual({ username: "local", password: "lpw" });
    expect(findCredentials("ghcr.io", paths)).toEqual({ username: "gh", password: "tok" });
    expect(findCredentials("quay.io", paths)).toBeUndefined();
  });

  test("mini's file first; save, mode 0600, remove", () => {
    saveCredentials("127.0.0.1:5000", "mine", "s3cret", paths);
    expect(statSync(paths.mini).mode & 0o777).toBe(0o600);
    expect(findCredentials("127.0.0.1:5000", paths)).toEqual({ username: "mine", password: "s3cret" });
    saveCredentials("docker.io", "me", "x", paths);
    const file = JSON.parse(readFileSync(paths.mini, "utf8"));
    expect(Object.keys(file.auths).sort()).toEqual(["127.0.0.1:5000", "https://index.docker.io/v1/"]);
    expect(file.auths["127.0.0.1:5000"].auth).toBe(b64("mine:s3cret"));
    expect(findCredentials("docker.io", paths)).toEqual({ username: "me", password: "x" });
    expect(removeCredentials("127.0.0.1:5000", paths)).toBe(true);
    expect(removeCredentials("127.0.0.1:5000", paths)).toBe(false);
    expect(findCredentials("127.0.0.1:5000", paths)).toEqual({ username: "local", password: "lpw" });
  });

  test("missing files mean no credentials", () => {
    expect(
      findCredentials("docker.io", { mini: "/nonexistent/a.json", docker: "/nonexistent/b.json" }),
    ).toBeUndefined();
  });
});
