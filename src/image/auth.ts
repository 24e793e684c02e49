// Registry credentials: mini's own file ($MINI_CONFIG_DIR/auth.json, default
// /root/.config/mini/auth.json, mode 0600) first, then docker's ~/.docker/config.json. Both use
// docker's `auths` format: { "auths": { "host:port": { "auth": base64("user:pass") } } }.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { UserError } from "../common/errors.ts";
import { debug, warn } from "../log.ts";
import { writeFileAtomic } from "../common/json-file.ts";

export interface Credentials {
  username: string;
  password: string;
}

/** Where the credential files are; both injectable for tests. */
export interface AuthPaths {
  /** mini's own file (read and written). */
  mini?: string;
  /** docker's config.json (read only). */
  docker?: string;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  [k: string]: unknown;
}

interface AuthFile {
  auths?: Record<string, AuthEntry>;
  [k: string]: unknown;
}

const DOCKER_HUB_KEY = "https://index.docker.io/v1/";
const DOCKER_HUB_NAMES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);

function miniAuthPath(): string {
  return join(process.env.MINI_CONFIG_DIR || "/root/.config/mini", "auth.json");
}

function dockerConfigPath(): string {
  return join(process.env.DOCKER_CONFIG || join(homedir(), ".docker"), "config.json");
}

/** `https://index.docker.io/v1/` → `docker.io`; `https://host:5000/v2/` → `host:5000`. */
export function normalizeAuthKey(key: string): string {
  const host = key
    .replace(/^[a-z]+:\/\//i, "")
    .split("/")[0]
    .toLowerCase();
  return DOCKER_HUB_NAMES.has(host) ? "docker.io" : host;
}

/** The key a registry is stored under: docker's own form for Docker Hub, `host:port` otherwise. */
function storageKey(registry: string): string {
  return normalizeAuthKey(registry) === "docker.io" ? DOCKER_HUB_KEY : normalizeAuthKey(registry);
}

function readAuthFile(path: string, strict: boolean): AuthFile | undefined {
  if (!existsSync(path)) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    const msg = `cannot read credentials file ${path}: ${(e as Error).message}`;
    if (strict) throw new UserError(msg);
    warn(msg);
    return undefined;
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    if (strict) throw new UserError(`credentials file ${path} is not a JSON object`);
    warn(`ignoring ${path}: not a JSON object`);
    return undefined;
  }
  return doc as AuthFile;
}

function decodeEntry(entry: AuthEntry, where: string): Credentials | undefined {
  if (typeof entry.auth === "string" && entry.auth !== "") {
    const text = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = text.indexOf(":");
    if (colon <= 0) {
      warn(`ignoring malformed "auth" in ${where}: expected base64 of user:password`);
      return undefined;
    }
    return { username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  if (typeof entry.username === "string" && typeof entry.password === "string" && entry.username !== "") {
    return { username: entry.username, password: entry.password };
  }
  if (entry.identitytoken) debug(`${where}: identity tokens are not supported; ignoring`);
  return undefined;
}

function lookup(file: AuthFile | undefined, registry: string, path: string): Credentials | undefined {
  const auths = file?.auths;
  if (!auths || typeof auths !== "object") return undefined;
  const want = normalizeAuthKey(registry);
  for (const [key, entry] of Object.entries(auths)) {
    if (normalizeAuthKey(key) !== want || typeof entry !== "object" || entry === null) continue;
    const creds = decodeEntry(entry, `${path} (${key})`);
    if (creds) return creds;
  }
  return undefined;
}

/** Credentials for `registry` ("docker.io", "127.0.0.1:5000"): mini's file first, then docker's. */
export function findCredentials(registry: string, paths: AuthPaths = {}): Credentials | undefined {
  const miniPath = paths.mini ?? miniAuthPath();
  const fromMini = lookup(readAuthFile(miniPath, true), registry, miniPath);
  if (fromMini) {
    debug(`credentials for ${registry} from ${miniPath}`);
    return fromMini;
  }
  const dockerPath = paths.docker ?? dockerConfigPath();
  const dockerFile = readAuthFile(dockerPath, false);
  const fromDocker = lookup(dockerFile, registry, dockerPath);
  if (fromDocker) debug(`credentials for ${registry} from ${dockerPath}`);
  else if (dockerFile && (dockerFile.credsStore || dockerFile.credHelpers)) {
    debug(`${dockerPath} uses credential helpers, which mini does not run`);
  }
  return fromDocker;
}

function writeAuthFile(path: string, file: AuthFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`);
}

/** Stores credentials for `registry` in mini's file (mode 0600), replacing any earlier ones. */
export function saveCredentials(registry: string, username: string, password: string, paths: AuthPaths = {}): void {
  if (username === "" || username.includes(":")) throw new UserError(`invalid username "${username}"`);
  const path = paths.mini ?? miniAuthPath();
  const file = readAuthFile(path, true) ?? {};
  const auths: Record<string, AuthEntry> = { ...(file.auths ?? {}) };
  const want = normalizeAuthKey(registry);
  for (const key of Object.keys(auths)) if (normalizeAuthKey(key) === want) delete auths[key];
  auths[storageKey(registry)] = { auth: Buffer.from(`${username}:${password}`).toString("base64") };
  writeAuthFile(path, { ...file, auths });
}

/** Removes `registry`'s credentials from mini's file; false when there were none. */
export function removeCredentials(registry: string, paths: AuthPaths = {}): boolean {
  const path = paths.mini ?? miniAuthPath();
  const file = readAuthFile(path, true);
  if (!file?.auths) return false;
  const want = normalizeAuthKey(registry);
  const auths = { ...file.auths };
  let removed = false;
  for (const key of Object.keys(auths)) {
    if (normalizeAuthKey(key) === want) {
      delete auths[key];
      removed = true;
    }
  }
  if (removed) writeAuthFile(path, { ...file, auths });
  return removed;
}

/** A parsed `WWW-Authenticate` header: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`. */
export interface AuthChallenge {
  scheme: "bearer" | "basic";
  params: Record<string, string>;
}

/** The first Bearer or Basic challenge in a `WWW-Authenticate` header, if any. */
export function parseChallenge(header: string | null | undefined): AuthChallenge | undefined {
  const m = /^\s*(bearer|basic)\b\s*(.*)$/is.exec(header ?? "");
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))/g;
  for (let p = re.exec(m[2]); p; p = re.exec(m[2])) {
    params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3];
  }
  return { scheme: m[1].toLowerCase() as "bearer" | "basic", params };
}

/** The `Authorization` header value for Basic auth. */
export function basicAuthHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
}
