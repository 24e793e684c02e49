// Image references with docker's normalization (distribution/reference's ParseNormalizedNamed):
// `busybox` → docker.io/library/busybox:latest, `user/repo` → docker.io/user/repo:latest,
// `127.0.0.1:5000/x:tag`, `name@sha256:…`, `name:tag@sha256:…` (both kept).
import { UserError } from "../common/errors.ts";
import { parseDigest } from "./digest.ts";
import type { Reference } from "./types.ts";

const DOCKER_HUB = "docker.io";
const DOCKER_HUB_API = "registry-1.docker.io";
const MAX_NAME = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_NAME =
  /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*$/;
const IPV6 = /^\[[a-fA-F0-9:]+\]$/;
const PORT = /^[0-9]+$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const HEX64 = /^[a-f0-9]{64}$/;

function bad(input: string, why: string): UserError {
  return new UserError(`invalid reference "${input}": ${why}`);
}

/** Does the first path component name a registry (docker's rule)? */
function looksLikeRegistry(first: string): boolean {
  return first.includes(".") || first.includes(":") || first === "localhost" || first.toLowerCase() !== first;
}

function checkDomain(input: string, domain: string): void {
  let host = domain;
  let port: string | undefined;
  if (domain.startsWith("[")) {
    const end = domain.indexOf("]");
    host = end < 0 ? domain : domain.slice(0, end + 1);
    const rest = end < 0 ? "" : domain.slice(end + 1);
    if (rest) {
      if (!rest.startsWith(":")) throw bad(input, `invalid registry "${domain}"`);
      port = rest.slice(1);
    }
    if (!IPV6.test(host)) throw bad(input, `invalid registry "${domain}"`);
  } else {
    const colon = domain.indexOf(":");
    if (colon >= 0) {
      host = domain.slice(0, colon);
      port = domain.slice(colon + 1);
    }
    if (!DOMAIN_NAME.test(host)) throw bad(input, `invalid registry "${domain}"`);
  }
  if (port !== undefined && !PORT.test(port)) throw bad(input, `invalid port "${port}" in registry "${domain}"`);
}

function checkRepository(input: string, repository: string): void {
  if (repository === "") throw bad(input, "repository name is empty");
  if (repository.toLowerCase() !== repository) throw bad(input, `repository name "${repository}" must be lowercase`);
  for (const part of repository.split("/")) {
    if (!PATH_COMPONENT.test(part)) {
      const shown = part === "" ? "an empty path component" : `"${part}"`;
      throw bad(
        input,
        `invalid repository name component ${shown} (use lowercase letters, digits and separators . _ __ -)`,
      );
    }
  }
}

/** Parses and normalizes an image reference; a UserError names the part that is wrong. */
export function parseReference(input: string): Reference {
  if (input === "") throw new UserError("invalid reference: empty image name");
  if (/\s/.test(input)) throw bad(input, "contains whitespace");

  let name = input;
  let digest: string | undefined;
  const at = name.indexOf("@");
  if (at >= 0) {
    digest = name.slice(at + 1);
    name = name.slice(0, at);
    try {
      parseDigest(digest);
    } catch (e) {
      throw bad(input, (e as Error).message);
    }
  }

  let tag: string | undefined;
  const colon = name.lastIndexOf(":");
  if (colon > name.lastIndexOf("/")) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
    if (!TAG.test(tag)) {
      throw bad(input, `invalid tag "${tag}" (up to 128 of letters, digits, _ . -; not starting with . or -)`);
    }
  }
  if (name === "") throw bad(input, "repository name is empty");

  let registry = DOCKER_HUB;
  let repository = name;
  const slash = name.indexOf("/");
  if (slash >= 0 && looksLikeRegistry(name.slice(0, slash))) {
    registry = name.slice(0, slash);
    repository = name.slice(slash + 1);
    checkDomain(input, registry);
    if (registry === "index.docker.io") registry = DOCKER_HUB;
  } else if (HEX64.test(name)) {
    throw bad(input, "a 64-character hexadecimal string is an image ID, not a repository name");
  }
  checkRepository(input, repository);
  if (registry === DOCKER_HUB && !repository.includes("/")) repository = `library/${repository}`;
  if (registry.length + 1 + repository.length > MAX_NAME) throw bad(input, `name longer than ${MAX_NAME} characters`);

  if (tag === undefined && digest === undefined) tag = "latest";
  const ref: Reference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

function suffix(r: Reference): string {
  return (r.tag !== undefined ? `:${r.tag}` : "") + (r.digest !== undefined ? `@${r.digest}` : "");
}

/** The full form: `docker.io/library/busybox:latest`, `127.0.0.1:5000/x:tag@sha256:…`. */
export function formatReference(r: Reference): string {
  return `${r.registry}/${r.repository}${suffix(r)}`;
}

/** The repository as docker shows it: `busybox`, `user/repo`, `127.0.0.1:5000/x`. */
export function familiarRepository(r: Reference): string {
  if (r.registry !== DOCKER_HUB) return `${r.registry}/${r.repository}`;
  const rest = r.repository;
  if (rest.startsWith("library/") && rest.indexOf("/", 8) < 0) return rest.slice(8);
  return rest;
}

/** Docker's short display form: `busybox:latest`, `user/repo:v1`, `127.0.0.1:5000/x:tag`. */
export function familiarName(r: Reference): string {
  return familiarRepository(r) + suffix(r);
}

/** The host that serves a registry's HTTP API (`docker.io` → `registry-1.docker.io`). */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB || registry === "index.docker.io" ? DOCKER_HUB_API : registry;
}
