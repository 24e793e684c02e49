// The argv pre-pass. docker's shape: options come first, the first positional after them starts
// the operands, and for `run`/`exec` everything after ROOTFS/CONTAINER belongs to the command.
// Arg definitions are citty's (so help renders from the same table); `repeat: true` marks flags
// that keep every value.
import type { ArgDef } from "citty";
import { UserError } from "../common/errors.ts";

export type OptDef = ArgDef & { repeat?: boolean };
export type OptDefs = Record<string, OptDef>;
export type OptValues = Record<string, string | boolean | string[] | undefined>;

export interface Parsed {
  values: OptValues;
  /** Positional operands. With `stopAt`, the operands from the stopping one on, untouched. */
  operands: string[];
  help: boolean;
}

interface Lookup {
  name: string;
  def: OptDef;
}

function index(defs: OptDefs): Map<string, Lookup> {
  const m = new Map<string, Lookup>();
  for (const [name, def] of Object.entries(defs)) {
    if (def.type === "positional") continue;
    m.set(name, { name, def });
    const alias = (def as { alias?: string | string[] }).alias;
    for (const a of Array.isArray(alias) ? alias : alias ? [alias] : []) m.set(a, { name, def });
  }
  return m;
}

const takesValue = (d: OptDef) => d.type === "string" || d.type === "enum";

/**
 * Parses options. With `stopAtOperand`, parsing stops at the first operand: it and everything
 * after it are returned as operands verbatim (so `run ROOTFS sh -c x` keeps `-c` for sh).
 */
export function parseOptions(argv: string[], defs: OptDefs, stopAtOperand = false): Parsed {
  const table = index(defs);
  const values: OptValues = {};
  const operands: string[] = [];
  let help = false;

  const set = (l: Lookup, flag: string, value: string | boolean) => {
    if (l.def.type === "enum" && typeof value === "string") {
      const opts = (l.def as { options?: string[] }).options ?? [];
      if (opts.length && !opts.includes(value))
        throw new UserError(`invalid value "${value}" for ${flag}: expected one of ${opts.join(", ")}`);
    }
    if (l.def.repeat) {
      const prev = values[l.name];
      values[l.name] = [...(Array.isArray(prev) ? prev : []), String(value)];
    } else values[l.name] = value;
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "-" || !arg.startsWith("-")) {
      if (stopAtOperand) {
        operands.push(...argv.slice(i));
        break;
      }
      operands.push(arg);
      continue;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const key = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
      if (key === "help") {
        help = true;
        continue;
      }
      const l = table.get(key);
      if (!l && key.startsWith("no-")) {
        const pos = table.get(key.slice(3));
        if (pos && pos.def.type === "boolean") {
          values[pos.name] = false;
          continue;
        }
      }
      if (!l) throw new UserError(`unknown flag: --${key}`);
      if (takesValue(l.def)) {
        let v: string;
        if (eq > 0) v = arg.slice(eq + 1);
        else if (i + 1 < argv.length) v = argv[++i];
        else throw new UserError(`flag needs an argument: --${key}`);
        set(l, `--${key}`, v);
      } else {
        if (eq > 0) {
          const v = arg.slice(eq + 1);
          if (v !== "true" && v !== "false")
            throw new UserError(`invalid value "${v}" for --${key}: expected true or false`);
          set(l, `--${key}`, v === "true");
        } else set(l, `--${key}`, true);
      }
      continue;
    }
    // short flags: -it, -e KEY=V, -eKEY=V, -m32m
    for (let j = 1; j < arg.length; j++) {
      const ch = arg[j];
      if (ch === "h" && !table.has("h")) {
        help = true;
        continue;
      }
      const l = table.get(ch);
      if (!l) throw new UserError(`unknown shorthand flag: '${ch}' in ${arg}`);
      if (takesValue(l.def)) {
        let v = arg.slice(j + 1);
        if (v.startsWith("=")) v = v.slice(1);
        if (!v) {
          if (i + 1 >= argv.length) throw new UserError(`flag needs an argument: '${ch}' in -${ch}`);
          v = argv[++i];
        }
        set(l, `-${ch}`, v);
        break;
      }
      set(l, `-${ch}`, true);
    }
  }
  return { values, operands, help };
}

/** A repeatable option's values (empty when absent). */
export function list(v: OptValues[string]): string[] {
  return Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
}
