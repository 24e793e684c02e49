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
  return spec;
}
