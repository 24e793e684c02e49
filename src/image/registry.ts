// A client for the Distribution API v2 (what docker/skopeo/containerd speak), on fetch: token
// (Bearer) and Basic auth, manifests and blobs by digest with verification, redirects to blob
// storage without leaking credentials, and retries with backoff for transient failures.
import { UserError } from "../common/errors.ts";
import { debug } from "../log.ts";
import { basicAuthHeader, parseChallenge } from "./auth.ts";
import type { Credentials } from "./auth.ts";
import { DigestMismatchError, isDigest, parseDigest, sha256Digest, verifyDigest } from "./digest.ts";
import { MANIFEST_ACCEPT, manifestMediaType } from "./manifest.ts";
import { familiarName, familiarRepository, registryApiHost } from "./reference.ts";

export interface RegistryOptions {
  /** Plain HTTP for a registry that is not on loopback. */
  insecure?: boolean;
  credentials?: Credentials | undefined;
  /** Retries after the first attempt for 5xx, 429 and network errors (default 4). */
  retries?: number;
  /** First backoff delay; doubles each retry (default 100 ms). */
  retryDelayMs?: number;
  /** Verb that starts error messages (default "pull"). */
  action?: string;
  fetch?: typeof fetch;
}

export interface FetchedManifest {
  bytes: Uint8Array;
  mediaType: string;
  digest: string;
}

/** A registry answered with an error, or could not be reached. */
export class RegistryError extends UserError {
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = "RegistryError";
  }
}

/** An HTTP status worth retrying (5xx, 429); becomes `error` when retries run out. */
class TransientHttpError extends Error {
  constructor(
    readonly error: RegistryError,
    readonly retryAfterMs: number,
  ) {
    super(error.message);
  }
}

/** fetch itself failed (refused, reset, TLS): which host, and the underlying error. */
class NetworkFailure extends Error {
  constructor(
    readonly host: string,
    readonly original: unknown,
  ) {
    super(String(original));
  }
}

const MAX_MANIFEST_BYTES = 8 << 20;
const MAX_REDIRECTS = 10;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const TLS_CODES = /^(EPROTO|CERT_|ERR_TLS|ERR_SSL|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH)/;

/** localhost, 127.0.0.0/8 and ::1, with or without a port. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith("[") ? registry.slice(0, registry.indexOf("]") + 1) : registry.split(":")[0];
  return host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The registry's error body (`{errors:[{code,message}]}` or a token server's `details`) in one line. */
async function describeStatus(res: Response): Promise<{ message: string; code?: string }> {
  const text = await res.text().catch(() => "");
  try {
    const body = JSON.parse(text) as {
      errors?: { code?: unknown; message?: unknown }[];
      details?: unknown;
      error?: unknown;
    };
    if (Array.isArray(body.errors) && body.errors.length > 0) {
      const parts = body.errors.map((e) => {
        const code = typeof e.code === "string" ? e.code.toLowerCase().replace(/_/g, " ") : "";
        const msg = typeof e.message === "string" ? e.message : "";
        return !msg || msg.toLowerCase() === code ? code || "error" : code ? `${code}: ${msg}` : msg;
      });
      const code = typeof body.errors[0].code === "string" ? body.errors[0].code : undefined;
      return { message: parts.join("; "), code };
    }
    for (const v of [body.details, body.error]) if (typeof v === "string" && v) return { message: v };
  } catch {
    // not JSON: fall through to the status text
  }
  return { message: res.statusText ? res.statusText.toLowerCase() : `HTTP status ${res.status}` };
}

function describeNetworkError(e: unknown, host: string, plainHttp: boolean): { message: string; retry: boolean } {
  const err = e as { code?: string; message?: string; name?: string };
  const code = String(err?.code ?? "");
  const text = err?.message ?? String(e);
  if (TLS_CODES.test(code) || /\b(TLS|SSL|certificate)\b/i.test(text)) {
    const hint = plainHttp ? "" : " (a registry serving plain HTTP must be marked insecure)";
    return { message: `TLS error talking to ${host}: ${text}${hint}`, retry: false };
  }
  if (code === "ECONNREFUSED" || code === "ConnectionRefused")
    return { message: `connection refused by ${host}`, retry: true };
  if (code === "ECONNRESET" || code === "ConnectionClosed" || code === "EPIPE") {
    return { message: `connection to ${host} closed unexpectedly`, retry: true };
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || /DNS|getaddrinfo/i.test(text))
    return { message: `cannot resolve ${host}`, retry: true };
  if (code === "ETIMEDOUT" || err?.name === "TimeoutError")
    return { message: `timed out talking to ${host}`, retry: true };
  return { message: `cannot reach ${host}: ${text}`, retry: true };
}

export class RegistryClient {
  readonly registry: string;
  readonly baseUrl: string;
  private readonly opts: RegistryOptions;
  private readonly fetchFn: typeof fetch;
  private readonly tokens = new Map<string, { value: string; expiresAt: number }>();
  private readonly pendingTokens = new Map<string, Promise<void>>();
  private basic = false;

  constructor(registry: string, opts: RegistryOptions = {}) {
    this.registry = registry;
    this.opts = opts;
    this.fetchFn = opts.fetch ?? fetch;
    const scheme = opts.insecure || isLoopbackRegistry(registry) ? "http" : "https";
    this.baseUrl = `${scheme}://${registryApiHost(registry)}`;
  }

  /** GET /v2/: the registry answers (authenticating if it asks). */
  async ping(): Promise<void> {
    await this.request(this.registry, "/v2/", "", undefined, (r) => r.arrayBuffer());
  }

  /** A manifest or index by tag or digest: its bytes, media type and digest (checked or computed). */
  async getManifest(repo: string, tagOrDigest: string): Promise<FetchedManifest> {
    const byDigest = tagOrDigest.includes(":");
    if (byDigest) parseDigest(tagOrDigest);
    const subject = familiarName({
      registry: this.registry,
      repository: repo,
      [byDigest ? "digest" : "tag"]: tagOrDigest,
    });
    const path = `/v2/${repo}/manifests/${tagOrDigest}`;
    return this.request(subject, path, `repository:${repo}:pull`, MANIFEST_ACCEPT, async (res) => {
      const length = Number(res.headers.get("content-length") ?? 0);
      const bytes = length > MAX_MANIFEST_BYTES ? new Uint8Array(0) : new Uint8Array(await res.arrayBuffer());
      if (length > MAX_MANIFEST_BYTES || bytes.byteLength > MAX_MANIFEST_BYTES) {
        throw new RegistryError(`${this.prefix(subject)}: manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
      }
      let digest = tagOrDigest;
      if (byDigest) verifyDigest(bytes, tagOrDigest, `manifest ${subject}`);
      else {
        digest = sha256Digest(bytes);
        const claimed = res.headers.get("docker-content-digest");
        if (claimed && isDigest(claimed) && claimed !== digest)
          throw new DigestMismatchError(claimed, digest, `manifest ${subject}`);
      }
      const mediaType = manifestMediaType(bytes, res.headers.get("content-type") ?? undefined, subject);
      return { bytes, mediaType, digest };
    });
  }

  /** A blob's response with its body unread (stream it through digest.ts's verifyingStream). */
  getBlob(repo: string, digest: string, signal?: AbortSignal): Promise<Response> {
    return this.blob(repo, digest, async (res) => res, signal);
  }

  /** A whole blob in memory, digest verified (configs and other small blobs). */
  getBlobBytes(repo: string, digest: string): Promise<Uint8Array> {
    return this.blob(repo, digest, async (res, subject) => {
      const bytes = new Uint8Array(await res.arrayBuffer());
      verifyDigest(bytes, digest, `blob ${subject}`);
      return bytes;
    });
  }

  private async blob<T>(
    repo: string,
    digest: string,
    consume: (res: Response, subject: string) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    parseDigest(digest);
    const subject = `${familiarRepository({ registry: this.registry, repository: repo })}@${digest}`;
    return this.request(
      subject,
      `/v2/${repo}/blobs/${digest}`,
      `repository:${repo}:pull`,
      undefined,
      (r) => consume(r, subject),
      signal,
    );
  }

  private prefix(subject: string): string {
    return `${this.opts.action ?? "pull"} ${subject}`;
  }

  /**
   * One registry request: Authorization for `scope`, one re-authentication on 401, then `consume`
   * (network errors while reading the body are retried like those while connecting).
   */
  private request<T>(
    subject: string,
    path: string,
    scope: string,
    accept: string | undefined,
    consume: (res: Response) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    return this.retrying(subject, async () => {
      let res = await this.send(this.baseUrl + path, this.headers(scope, accept), signal);
      if (res.status === 401) {
        await this.authenticate(res, subject, scope);
        res = await this.send(this.baseUrl + path, this.headers(scope, accept), signal);
      }
      await this.check(res, subject);
      return consume(res);
    });
  }

  /** Throws for a non-2xx answer: TransientHttpError for 5xx/429, RegistryError otherwise. */
  private async check(res: Response, subject: string, what = ""): Promise<void> {
    if (res.ok) return;
    const { message, code } = await describeStatus(res);
    const error = new RegistryError(`${this.prefix(subject)}: ${what}${message} (${res.status})`, res.status, code);
    if (res.status >= 500 || res.status === 429)
      throw new TransientHttpError(error, Number(res.headers.get("retry-after")) * 1000 || 0);
    throw error;
  }

  /** Runs `attempt` again after transient failures, with exponential backoff. */
  private async retrying<T>(subject: string, attempt: () => Promise<T>): Promise<T> {
    const retries = this.opts.retries ?? 4;
    for (let n = 0; ; n++) {
      let failure: string;
      let waitMs = (this.opts.retryDelayMs ?? 100) * 2 ** n;
      try {
        return await attempt();
      } catch (e) {
        if (e instanceof TransientHttpError) {
          if (n >= retries) throw e.error;
          failure = e.error.message;
          waitMs = Math.max(waitMs, Math.min(e.retryAfterMs, 30_000));
        } else if (e instanceof UserError) {
          throw e;
        } else {
          const host = e instanceof NetworkFailure ? e.host : new URL(this.baseUrl).host;
          const plain = this.baseUrl.startsWith("http:");
          const { message, retry } = describeNetworkError(e instanceof NetworkFailure ? e.original : e, host, plain);
          if (!retry || n >= retries) throw new RegistryError(`${this.prefix(subject)}: ${message}`);
          failure = message;
        }
      }
      debug(`${failure}; retry ${n + 1}/${retries} in ${waitMs} ms`);
      await Bun.sleep(waitMs);
    }
  }

  private headers(scope: string, accept?: string): Headers {
    const h = new Headers({ "user-agent": "mini" });
    if (accept) h.set("accept", accept);
    const token = this.tokens.get(scope);
    if (token && token.expiresAt > Date.now()) h.set("authorization", `Bearer ${token.value}`);
    else if (this.basic && this.opts.credentials) h.set("authorization", basicAuthHeader(this.opts.credentials));
    return h;
  }

  /** GET following redirects by hand: Authorization never goes to another origin (S3, a CDN). */
  private async send(url: string | URL, headers: Headers, signal?: AbortSignal): Promise<Response> {
    let current = new URL(url);
    for (let hops = 0; ; hops++) {
      let res: Response;
      try {
        res = await this.fetchFn(current, { headers, redirect: "manual", signal });
      } catch (e) {
        throw new NetworkFailure(current.host, e);
      }
      const location = res.headers.get("location");
      if (!REDIRECTS.has(res.status) || !location) return res;
      await res.body?.cancel();
      if (hops >= MAX_REDIRECTS) throw new RegistryError(`more than ${MAX_REDIRECTS} redirects from ${url}`);
      const next = new URL(location, current);
      if (next.origin !== current.origin && headers.has("authorization")) {
        headers = new Headers(headers);
        headers.delete("authorization");
      }
      debug(`redirect ${current.host}${current.pathname} → ${next.host}${next.pathname}`);
      current = next;
    }
  }

  /** Answers a 401: Basic (send the credentials from now on) or a Bearer token for `scope`. */
  private async authenticate(res: Response, subject: string, scope: string): Promise<void> {
    const challenge = parseChallenge(res.headers.get("www-authenticate"));
    if (!challenge || (challenge.scheme === "basic" && (!this.opts.credentials || this.basic))) {
      return this.check(res, subject);
    }
    await res.body?.cancel();
    if (challenge.scheme === "basic") {
      this.basic = true;
      return;
    }
    let pending = this.pendingTokens.get(scope);
    if (!pending) {
      pending = this.fetchToken(challenge.params, subject, scope).finally(() => this.pendingTokens.delete(scope));
      this.pendingTokens.set(scope, pending);
    }
    await pending;
  }

  /** A Bearer token from the challenge's realm: anonymous, or with the credentials as Basic. */
  private async fetchToken(params: Record<string, string>, subject: string, scope: string): Promise<void> {
    if (!params.realm || !URL.canParse(params.realm)) {
      throw new RegistryError(
        `${this.prefix(subject)}: the registry's Bearer challenge has no usable realm ("${params.realm ?? ""}")`,
      );
    }
    const realm = new URL(params.realm);
    if (params.service) realm.searchParams.set("service", params.service);
    for (const s of (params.scope || scope).split(" ").filter(Boolean)) realm.searchParams.append("scope", s);
    const headers = new Headers({ "user-agent": "mini" });
    if (this.opts.credentials) headers.set("authorization", basicAuthHeader(this.opts.credentials));
    const body = await this.retrying(subject, async () => {
      const res = await this.send(realm, headers);
      await this.check(res, subject, `authentication at ${realm.host} failed: `);
      const text = await res.text();
      try {
        return JSON.parse(text) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
      } catch {
        throw new RegistryError(`${this.prefix(subject)}: the token server ${realm.host} did not answer with JSON`);
      }
    });
    const value = typeof body.token === "string" && body.token ? body.token : body.access_token;
    if (typeof value !== "string" || !value)
      throw new RegistryError(`${this.prefix(subject)}: the token server ${realm.host} sent no token`);
    const seconds = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 60;
    this.tokens.set(scope, { value, expiresAt: Date.now() + Math.max(seconds - 5, 1) * 1000 });
    debug(`token for ${this.registry} "${scope || "/v2/"}" from ${realm.host}, valid ${seconds} s`);
  }
}
