// An OCI bundle: DIR/config.json, with root.path relative to DIR.
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { UserError } from "../common/errors.ts";
import type { Spec } from "./types.ts";
import { validateSpec } from "./validate.ts";
import * as log from "../log.ts";
import { dropUnknownCaps } from "./capabilities.ts";

export function parseConfig(text: string, file = "config.json"): Spec {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file}: invalid JSON: ${(e as Error).message}`);
  }
  return validateSpec(json);
}

export function loadBundle(dir: string): Spec {
  const bundle = resolve(dir);
  const file = `${bundle}/config.json`;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new UserError(`bundle ${bundle}: no config.json`);
  }
  const spec = parseConfig(text, file);
  if (!spec.process) throw new UserError(`${file}: process: is required to run a container`);
  for (const c of dropUnknownCaps(spec.process.capabilities as Record<string, string[]> | undefined))
    log.warn(`${file}: unknown capability "${c}" ignored`);
  spec.root!.path = isAbsolute(spec.root!.path) ? spec.root!.path : resolve(bundle, spec.root!.path);
  normalizeSpec(spec, file);
  return spec;
}

/**
 * What runc reads into a config where the JSON leaves it open: uid and gid 0 when absent; a
 * relative mount destination (deprecated) is relative to "/" (a warning says so); personality
 * flags (none defined yet) are ignored with a warning.
 */
export function normalizeSpec(spec: Spec, file = "config.json"): void {
  const user = spec.process?.user as Partial<Spec["process"] & object>["user"] | undefined;
  if (spec.process) spec.process.user = { ...user, uid: user?.uid ?? 0, gid: user?.gid ?? 0 };
  for (const m of spec.mounts ?? []) {
    if (m.destination.startsWith("/")) continue;
    log.warn(`${file}: mount destination "${m.destination}" is relative (deprecated): using /${m.destination}`);
    m.destination = `/${m.destination}`;
  }
  const flags = spec.linux?.personality?.flags;
  if (flags?.length) log.warn(`${file}: linux.personality.flags ${flags.join(", ")} ignored (none are defined)`);
}
