// Reverse proxies in front of a test registry (on 127.0.0.1, served by the test process):
// one injects faults into blob and manifest responses, one demands Bearer tokens from a tiny
// token server.
//
//   const reg = await startRegistry();
//   await pushBusybox(reg.host, "bb", "1");
//   const px = await startFaultyProxy(reg.host, "drop-mid-blob-once");
//   ... pull `${px.host}/bb:1` ...; expect(px.stats.faults).toBeGreaterThan(0);
//   await px.stop();
//
//   const ts = await startTokenServer(reg.host, { user: "u", password: "p" });
//   ... pull `${ts.host}/bb:1` with credentials u:p ...
//   await ts.stop();
//
// The proxies live in the test process: from a test, talk to them with fetch or an async
// Bun.spawn (`await proc.exited`), never with spawnSync/execSync, which would block the event
// loop that serves them (a deadlock until the client times out).
import type { Server } from "bun";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Fault =
  | "none" //                  transparent (counts requests)
  | "corrupt-blob" //          GET blob: 16 bytes in the middle flipped (length unchanged)
  | "oversize-blob" //         GET blob: the real blob, then 1 MiB more (Content-Length says so)
  | "oversize-blob-chunked" // the same without a Content-Length (chunked, sent in 64 KiB writes)
  | "short-blob-once" //       first GET of each blob digest: half the body, chunked, ended cleanly
  | "drop-mid-blob-once" //    first GET of each blob digest: full Content-Length, half the body, reset
  | "drop-mid-blob-always" //  every GET of a blob is cut like that
  | "404-manifest" //          GET/HEAD manifest: 404 MANIFEST_UNKNOWN
  | "500-once" //              first request of each method+path for a manifest or blob: 500
  | "500-always" //            every manifest/blob request: 500
  | "slow"; //                 manifests and blobs wait delayMs; blob bodies trickle at bytesPerSec

export interface FaultOptions {
  /** slow: delay before each manifest/blob response (default 300 ms). */
  delayMs?: number;
  /** slow: blob body rate (default 1 MiB/s). */
  bytesPerSec?: number;
  /** Only blobs with these digests get blob faults (default: every blob, config included). */
  digests?: string[];
}

export interface ProxyStats {
  requests: number;
  /** How many responses the fault was applied to. */
  faults: number;
  /** "METHOD PATH -> STATUS [fault]" for each request. */
  log: string[];
}

export interface Proxy {
  host: string;
  url: string;
  stats: ProxyStats;
  stop(): Promise<void>;
}

const BLOB = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/;
const MANIFEST = /^\/v2\/(.+)\/manifests\/([^/]+)$/;
const REPO = /^\/v2\/(.+?)\/(?:manifests|blobs|tags)\//;

const HOP = [
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "proxy-connection",
  "te",
  "trailer",
  "host",
  "content-length",
];

function upstreamBase(upstream: string): string {
  return /^https?:\/\//.test(upstream) ? upstream.replace(/\/$/, "") : `http://${upstream}`;
}

function errorBody(code: string, message: string): string {
  return JSON.stringify({ errors: [{ code, message, detail: null }] });
}

interface Upstream {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}

/**
 * Sends a request to upstream and returns status, headers (hop-by-hop ones dropped; for HEAD
 * Content-Length kept) and the whole body (test blobs are small). Location headers that point
 * at the upstream are rewritten to `self`.
 */
async function forward(
  method: string,
  pathAndQuery: string,
  inHeaders: Iterable<[string, string]>,
  body: Uint8Array | undefined,
  base: string,
  self: string,
  dropAuth = false,
): Promise<Upstream> {
  const headers = new Headers();
  for (const [k, v] of inHeaders) if (!HOP.includes(k.toLowerCase())) headers.append(k, v);
  if (dropAuth) headers.delete("authorization");
  headers.set("accept-encoding", "identity");
  const res = await fetch(base + pathAndQuery, {
    method,
    headers,
    body: method === "GET" || method === "HEAD" ? undefined : body,
    redirect: "manual",
  });
  const data = method === "HEAD" ? new Uint8Array() : new Uint8Array(await res.arrayBuffer());
  const out: [string, string][] = [];
  res.headers.forEach((v, k) => {
    const lk = k.toLowerCase();
    if (HOP.includes(lk) && !(lk === "content-length" && method === "HEAD")) return;
    if (lk === "location" && v.startsWith(base)) v = self + v.slice(base.length);
    out.push([k, v]);
  });
  return { status: res.status, headers: out, body: data };
}

/**
 * A reverse proxy on 127.0.0.1 in front of `upstream` ("127.0.0.1:PORT" or a URL) that applies
 * `fault` to manifest and blob responses; /v2/ and everything else pass through untouched.
 * node:http, not Bun.serve: Bun.serve sends every streamed body chunked, and a dropped blob
 * must look like a real one (Content-Length of the whole blob, then a short body and a reset).
 */
export async function startFaultyProxy(upstream: string, fault: Fault, opts: FaultOptions = {}): Promise<Proxy> {
  const base = upstreamBase(upstream);
  const stats: ProxyStats = { requests: 0, faults: 0, log: [] };
  const seen = new Set<string>();
  const delayMs = opts.delayMs ?? 300;
  const bytesPerSec = opts.bytesPerSec ?? 1 << 20;
  let self = "";

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    stats.requests++;
    const method = req.method ?? "GET";
    const pathAndQuery = req.url ?? "/";
    const path = pathAndQuery.split("?")[0];
    const blob = BLOB.exec(path);
    const manifest = MANIFEST.exec(path);
    const targeted = !!blob && (!opts.digests || opts.digests.includes(blob[2]));
    const note = (status: number, faulted: boolean) => {
      if (faulted) stats.faults++;
      stats.log.push(`${method} ${path} -> ${status}${faulted ? ` [${fault}]` : ""}`);
    };
    const reply = (status: number, headers: [string, string][], body: Uint8Array | string, contentLength?: number) => {
      const h: Record<string, string | string[]> = {};
      for (const [k, v] of headers) {
        const lk = k.toLowerCase();
        h[lk] = h[lk] === undefined ? v : ([] as string[]).concat(h[lk], v);
      }
      const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
      if (contentLength !== undefined) h["content-length"] = String(contentLength);
      else if (method !== "HEAD" || h["content-length"] === undefined) h["content-length"] = String(bytes.length);
      res.writeHead(status, h);
      if (method === "HEAD") res.end();
      else res.end(bytes);
    };
    const registryError = (status: number, code: string, message: string) =>
      reply(
        status,
        [
          ["content-type", "application/json"],
          ["docker-distribution-api-version", "registry/2.0"],
        ],
        method === "HEAD" ? "" : errorBody(code, message),
      );

    if ((blob || manifest) && (fault === "500-always" || fault === "500-once")) {
      const key = `${method} ${path}`;
      if (fault === "500-always" || !seen.has(key)) {
        seen.add(key);
        note(500, true);
        return registryError(500, "UNKNOWN", `injected 500 (${fault})`);
      }
    }
    if (manifest && fault === "404-manifest" && (method === "GET" || method === "HEAD")) {
      note(404, true);
      return registryError(404, "MANIFEST_UNKNOWN", "manifest unknown");
    }
    if ((blob || manifest) && fault === "slow") await Bun.sleep(delayMs);

    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const inHeaders: [string, string][] = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) inHeaders.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    let r: Upstream;
    try {
      r = await forward(
        method,
        pathAndQuery,
        inHeaders,
        chunks.length ? new Uint8Array(Buffer.concat(chunks)) : undefined,
        base,
        self,
      );
    } catch (e) {
      note(502, false);
      return registryError(502, "UNKNOWN", `proxy: upstream failed: ${e}`);
    }
    const ok = r.status === 200 || r.status === 206;
    if (method === "GET" && targeted && ok && r.body.length > 0) {
      const keep = r.headers.filter(([k]) => k.toLowerCase() !== "content-length");
      if (fault === "corrupt-blob") {
        const b = r.body.slice();
        const mid = Math.floor(b.length / 2);
        for (let i = Math.max(0, mid - 8); i < Math.min(b.length, mid + 8); i++) b[i] ^= 0xff;
        note(r.status, true);
        return reply(r.status, keep, b);
      }
      if (fault === "oversize-blob") {
        note(r.status, true);
        return reply(r.status, keep, Buffer.concat([r.body, Buffer.alloc(1 << 20, 0x41)]));
      }
      if (fault === "oversize-blob-chunked") {
        note(r.status, true);
        res.writeHead(r.status, Object.fromEntries(keep.map(([k, v]) => [k.toLowerCase(), v])));
        const all = Buffer.concat([r.body, Buffer.alloc(1 << 20, 0x41)]);
        for (let off = 0; off < all.length && !res.destroyed; off += 65536) {
          if (!res.write(all.subarray(off, off + 65536))) await new Promise((ok) => res.once("drain", ok));
        }
        res.end();
        return;
      }
      if (fault === "short-blob-once" && !seen.has(blob![2])) {
        seen.add(blob![2]);
        note(r.status, true);
        res.writeHead(r.status, Object.fromEntries(keep.map(([k, v]) => [k.toLowerCase(), v])));
        res.end(r.body.subarray(0, Math.floor(r.body.length / 2)));
        return;
      }
      if (fault === "drop-mid-blob-always" || (fault === "drop-mid-blob-once" && !seen.has(blob![2]))) {
        seen.add(blob![2]);
        note(r.status, true);
        const h: Record<string, string> = Object.fromEntries(keep.map(([k, v]) => [k.toLowerCase(), v]));
        h["content-length"] = String(r.body.length);
        res.writeHead(r.status, h);
        const half = r.body.subarray(0, Math.floor(r.body.length / 2));
        // Whole Content-Length, half the body, then a reset: the client sees a short read.
        res.write(half, () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      }
      if (fault === "slow") {
        note(r.status, true);
        const h: Record<string, string> = Object.fromEntries(keep.map(([k, v]) => [k.toLowerCase(), v]));
        h["content-length"] = String(r.body.length);
        res.writeHead(r.status, h);
        const chunk = Math.max(1024, Math.floor(bytesPerSec / 20));
        for (let off = 0; off < r.body.length; off += chunk) {
          if (res.destroyed) return;
          const n = Math.min(chunk, r.body.length - off);
          res.write(r.body.subarray(off, off + n));
          await Bun.sleep((n / bytesPerSec) * 1000);
        }
        res.end();
        return;
      }
    }
    note(r.status, fault === "slow" && !!manifest);
    return reply(r.status, r.headers, r.body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      try {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(e));
      } catch {
        /* gone */
      }
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  self = `http://${host}`;
  return {
    host,
    url: self,
    stats,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Bearer tokens

export interface TokenServerOptions {
  /** Basic credentials the token endpoint demands; without them tokens are anonymous. */
  user?: string;
  password?: string;
  /** The service name in the challenge and the token request (default "mini-test"). */
  service?: string;
  /** Repositories tokens may grant (default: any). */
  repositories?: string[];
  /** Actions tokens may grant (default ["pull", "push"]). */
  actions?: string[];
  /** Token lifetime in seconds (default 300); expired tokens get 401 again. */
  expiresIn?: number;
}

export interface TokenServer {
  /** The registry as clients should see it (the authenticating proxy). */
  host: string;
  url: string;
  /** The token endpoint, as in the challenge's realm. */
  realm: string;
  service: string;
  stats: {
    /** One per token request: its scopes, whether credentials were given, what was granted. */
    tokenRequests: { scopes: string[]; basic: boolean; status: number; granted: string[] }[];
    /** Requests the proxy answered 401. */
    unauthorized: number;
    /** Requests the proxy forwarded. */
    forwarded: number;
  };
  /** Issues a token directly (for tests that bring their own). */
  issue(grants: string[]): string;
  stop(): Promise<void>;
}

/** "repository:NAME:pull,push" -> [NAME, ["pull","push"]], or null if it isn't a repository scope. */
function parseScope(s: string): [string, string[]] | null {
  const m = /^repository:([^:\s]+):([a-z*,]+)$/.exec(s);
  if (!m) return null;
  return [m[1], m[2].split(",").filter(Boolean)];
}

export async function startTokenServer(upstream: string, opts: TokenServerOptions = {}): Promise<TokenServer> {
  const base = upstreamBase(upstream);
  const service = opts.service ?? "mini-test";
  const allowedActions = opts.actions ?? ["pull", "push"];
  const ttl = opts.expiresIn ?? 300;
  const tokens = new Map<string, { grants: Map<string, Set<string>>; expires: number }>();
  const stats: TokenServer["stats"] = { tokenRequests: [], unauthorized: 0, forwarded: 0 };

  const issue = (grants: string[]): string => {
    const token = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64url");
    const g = new Map<string, Set<string>>();
    for (const s of grants) {
      const p = parseScope(s);
      if (p) g.set(p[0], new Set([...(g.get(p[0]) ?? []), ...p[1]]));
    }
    tokens.set(token, { grants: g, expires: Date.now() + ttl * 1000 });
    return token;
  };

  const tokenServer: Server<undefined> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const u = new URL(req.url);
      if (u.pathname !== "/token" || req.method !== "GET") return new Response("not found\n", { status: 404 });
      const scopes = u.searchParams
        .getAll("scope")
        .flatMap((s) => s.split(" "))
        .filter(Boolean);
      const auth = req.headers.get("authorization") ?? "";
      const basic = /^basic /i.test(auth);
      const record = (status: number, granted: string[]) =>
        stats.tokenRequests.push({ scopes, basic, status, granted });
      if (u.searchParams.get("service") !== service) {
        record(400, []);
        return Response.json(
          { errors: [{ code: "DENIED", message: `unknown service ${u.searchParams.get("service")}` }] },
          { status: 400 },
        );
      }
      if (opts.user !== undefined || basic) {
        let ok = false;
        if (basic) {
          const dec = Buffer.from(auth.slice(6).trim(), "base64").toString("utf8");
          const i = dec.indexOf(":");
          ok = i >= 0 && dec.slice(0, i) === opts.user && dec.slice(i + 1) === (opts.password ?? "");
        }
        if (!ok) {
          record(401, []);
          return Response.json(
            { errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] },
            {
              status: 401,
              headers: { "www-authenticate": `Basic realm="mini-test token"` },
            },
          );
        }
      }
      const granted: string[] = [];
      for (const s of scopes) {
        const p = parseScope(s);
        if (!p) continue;
        if (opts.repositories && !opts.repositories.includes(p[0])) continue;
        const acts = p[1].filter((a) => allowedActions.includes(a));
        if (acts.length) granted.push(`repository:${p[0]}:${acts.join(",")}`);
      }
      const token = issue(granted);
      record(200, granted);
      return Response.json({ token, access_token: token, expires_in: ttl, issued_at: new Date().toISOString() });
    },
  });
  const realm = `http://127.0.0.1:${tokenServer.port}/token`;

  let self = "";
  const proxy: Server<undefined> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      const repo = REPO.exec(path)?.[1];
      const action = req.method === "GET" || req.method === "HEAD" ? "pull" : "push";
      const m = /^bearer\s+(\S+)$/i.exec(req.headers.get("authorization") ?? "");
      const t = m ? tokens.get(m[1]) : undefined;
      const valid = t && t.expires > Date.now();
      const allowed =
        valid && (repo === undefined ? path === "/v2/" || path === "/v2" : (t!.grants.get(repo)?.has(action) ?? false));
      if (!allowed) {
        stats.unauthorized++;
        const scope =
          repo === undefined ? "" : `,scope="repository:${repo}:${action === "pull" ? "pull" : "pull,push"}"`;
        return new Response(req.method === "HEAD" ? null : errorBody("UNAUTHORIZED", "authentication required"), {
          status: 401,
          headers: {
            "content-type": "application/json",
            "docker-distribution-api-version": "registry/2.0",
            "www-authenticate": `Bearer realm="${realm}",service="${service}"${scope}`,
          },
        });
      }
      stats.forwarded++;
      try {
        const u = new URL(req.url);
        const body =
          req.method === "GET" || req.method === "HEAD" ? undefined : new Uint8Array(await req.arrayBuffer());
        const r = await forward(req.method, u.pathname + u.search, req.headers.entries(), body, base, self, true);
        return new Response(req.method === "HEAD" ? null : r.body, { status: r.status, headers: r.headers });
      } catch (e) {
        return new Response(errorBody("UNKNOWN", `proxy: upstream failed: ${e}`), { status: 502 });
      }
    },
  });
  const host = `127.0.0.1:${proxy.port}`;
  self = `http://${host}`;
  return {
    host,
    url: self,
    realm,
    service,
    stats,
    issue,
    async stop() {
      await Promise.all([proxy.stop(true), tokenServer.stop(true)]);
    },
  };
}
