// `--change` values of mini import: the Dockerfile instructions that only set image config fields
// (CMD, ENTRYPOINT, ENV, LABEL, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL), applied as
// `docker import --change` applies them.
import { UserError } from "../common/errors.ts";
import type { ImageConfig } from "./types.ts";

/** Splits an instruction's arguments on blanks, honouring "double" and 'single' quotes and backslashes. */
function words(s: string): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  let quote = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = "";
      else if (c === "\\" && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (/\s/.test(c)) {
      if (cur !== undefined) out.push(cur);
      cur = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
      cur ??= "";
    } else if (c === "\\" && i + 1 < s.length) cur = (cur ?? "") + s[++i];
    else cur = (cur ?? "") + c;
  }
  if (quote) throw new UserError(`--change: unterminated ${quote} in ${s}`);
  if (cur !== undefined) out.push(cur);
  return out;
}

/** `["a","b"]` (exec form) or `a b` (shell form → /bin/sh -c). */
function commandForm(rest: string, what: string): string[] {
  if (rest.startsWith("[")) {
    let v: unknown;
    try {
      v = JSON.parse(rest);
    } catch {
      throw new UserError(`--change ${what}: invalid JSON array ${rest}`);
    }
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
      throw new UserError(`--change ${what}: expected a JSON array of strings`);
    return v as string[];
  }
  return ["/bin/sh", "-c", rest];
}

/** `K=V K2="v 2"` or the old `K V` form → pairs. */
function pairs(rest: string, what: string): [string, string][] {
  const ws = words(rest);
  if (ws.length && !ws[0].includes("=")) {
    const sp = rest.search(/\s/);
    if (sp < 0) throw new UserError(`--change ${what} needs KEY=VALUE`);
    return [[rest.slice(0, sp), rest.slice(sp).trim()]];
  }
  return ws.map((w) => {
    const eq = w.indexOf("=");
    if (eq <= 0) throw new UserError(`--change ${what}: "${w}" is not KEY=VALUE`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

/** Applies one Dockerfile instruction, as `docker import --change` does. */
export function applyChange(config: NonNullable<ImageConfig["config"]>, change: string): void {
  const m = /^\s*([A-Za-z]+)\s*(.*?)\s*$/s.exec(change);
  if (!m) throw new UserError(`--change "${change}": expected a Dockerfile instruction such as CMD ["sh"]`);
  const op = m[1].toUpperCase();
  const rest = m[2];
  const need = () => {
    if (!rest) throw new UserError(`--change ${op} needs an argument`);
  };
  switch (op) {
    case "CMD":
      need();
      config.Cmd = commandForm(rest, op);
      return;
    case "ENTRYPOINT":
      need();
      config.Entrypoint = commandForm(rest, op);
      return;
    case "ENV": {
      need();
      const env = config.Env ?? [];
      for (const [k, v] of pairs(rest, op)) {
        const i = env.findIndex((e) => e.split("=")[0] === k);
        if (i >= 0) env[i] = `${k}=${v}`;
        else env.push(`${k}=${v}`);
      }
      config.Env = env;
      return;
    }
    case "LABEL":
      need();
      config.Labels = { ...config.Labels, ...Object.fromEntries(pairs(rest, op)) };
      return;
    case "WORKDIR":
      need();
      config.WorkingDir = rest;
      return;
    case "USER":
      need();
      config.User = rest;
      return;
    case "STOPSIGNAL":
      need();
      config.StopSignal = rest;
      return;
    case "EXPOSE": {
      need();
      const ports = { ...config.ExposedPorts };
      for (const p of words(rest)) ports[p.includes("/") ? p : `${p}/tcp`] = {};
      config.ExposedPorts = ports;
      return;
    }
    case "VOLUME": {
      need();
      const vols = { ...config.Volumes };
      for (const v of rest.startsWith("[") ? commandForm(rest, op) : words(rest)) vols[v] = {};
      config.Volumes = vols;
      return;
    }
    default:
      throw new UserError(
        `--change: unsupported instruction ${op} (CMD, ENTRYPOINT, ENV, LABEL, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL)`,
      );
  }
}
