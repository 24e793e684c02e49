// The container's environment, with docker's rules: defaults (PATH, HOSTNAME, HOME, TERM), then
// the image's Env, then --env-file and -e in order; a later KEY replaces an earlier one in place;
// a bare `KEY` (no "=") that the host does not define unsets KEY.
import { UserError } from "../common/errors.ts";

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export type HostEnv = Record<string, string | undefined>;

const keyOf = (entry: string) => {
  const i = entry.indexOf("=");
  return i < 0 ? entry : entry.slice(0, i);
};

/**
 * docker's --env-file: one `KEY=VAL` a line, the value taken verbatim (no quotes, no trimming);
 * leading whitespace, blank lines and `#` comments skipped; a bare `KEY` takes the host's value
 * and is dropped when the host has none. A name that is empty or holds whitespace is an error.
 */
export function parseEnvFile(text: string, hostEnv: HostEnv = process.env, file = "env file"): string[] {
  const out: string[] = [];
  const lines = text.replace(/^\uFEFF/, "").split("\n");
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, "").trimStart();
    if (!line || line.startsWith("#")) return;
    const eq = line.indexOf("=");
    const key = eq < 0 ? line : line.slice(0, eq);
    if (key === "") throw new UserError(`${file} line ${i + 1}: no variable name in '${line}'`);
    if (/\s/.test(key)) {
      throw new UserError(`${file} line ${i + 1}: variable '${key}' contains whitespace`);
    }
    if (key.includes("\0")) throw new UserError(`${file} line ${i + 1}: variable '${key}' contains a NUL byte`);
    if (eq >= 0) {
      out.push(line);
      return;
    }
    const v = hostEnv[key];
    if (v !== undefined) out.push(`${key}=${v}`);
  });
  return out;
}

/**
 * One `-e` value: `KEY=VAL` as given; `KEY` becomes `KEY=<host value>`, or stays a bare `KEY`
 * (which mergeEnv reads as "unset") when the host has none, as docker does.
 */
export function parseEnvFlag(value: string, hostEnv: HostEnv = process.env): string {
  const key = keyOf(value);
  if (key === "") throw new UserError(`invalid environment variable: ${value}`);
  if (value.includes("=")) return value;
  const v = hostEnv[key];
  return v === undefined ? key : `${key}=${v}`;
}

/**
 * `base` with `overrides` applied in order: a KEY already present is replaced where it stands, a new
 * one is appended, a bare `KEY` removes it. Neither input is modified.
 */
export function mergeEnv(base: string[], overrides: string[]): string[] {
  const out: (string | undefined)[] = [];
  const index = new Map<string, number>();
  const put = (entry: string) => {
    const key = keyOf(entry);
    const at = index.get(key);
    if (!entry.includes("=")) {
      if (at !== undefined) {
        out[at] = undefined;
        index.delete(key);
      }
      return;
    }
    if (at !== undefined) out[at] = entry;
    else {
      index.set(key, out.length);
      out.push(entry);
    }
  };
  base.forEach(put);
  overrides.forEach(put);
  return out.filter((e): e is string => e !== undefined);
}

/** The variables every container starts with; the image's Env and the user's flags override them. */
export function defaultEnv(opts: { hostname?: string; home?: string; tty?: boolean } = {}): string[] {
  const env = [`PATH=${DEFAULT_PATH}`];
  if (opts.hostname !== undefined) env.push(`HOSTNAME=${opts.hostname}`);
  env.push(`HOME=${opts.home ?? "/"}`);
  if (opts.tty) env.push("TERM=xterm");
  return env;
}

/** KEY=VAL entries as an object (what process spawning wants); entries without "=" are dropped. */
export function envRecord(env: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of env) {
    const i = kv.indexOf("=");
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}
