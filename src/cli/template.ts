// The subset of Go's text/template that `--format` takes (docker's inspect -f, network inspect -f):
//   {{.Field.Path}} {{.}} {{$}} {{$v.Field}}    field paths, on objects and map keys alike
//   {{range PIPE}}…{{else}}…{{end}}  {{range $k, $v := PIPE}}  {{if PIPE}}…{{else}}…{{end}}
//   functions: json, index, len, join, upper, lower, print, println, eq, ne, not, and, or
//   pipes (`.X | json`), parentheses, "strings", numbers, true/false/nil, {{- trim -}}, {{/* comments */}}
// Values print as Go prints them: <no value> for a missing one, [a b] for lists, map[k:v] for objects.
import { UserError } from "../common/errors.ts";

type Value = unknown;
type Node =
  | { kind: "text"; text: string }
  | { kind: "out"; pipe: Pipe }
  | { kind: "range"; vars: string[]; pipe: Pipe; body: Node[]; alt: Node[] }
  | { kind: "if"; pipe: Pipe; body: Node[]; alt: Node[] };
type Term =
  | { kind: "field"; base: "dot" | "root" | string; path: string[] }
  | { kind: "lit"; value: Value }
  | { kind: "call"; name: string; args: Term[] }
  | { kind: "paren"; pipe: Pipe; path: string[] };
type Pipe = Term[]; // commands chained with |; each a term (a call takes the previous result last)

const fail = (msg: string): never => {
  throw new UserError(`template: ${msg}`);
};

/** Splits the template into text and actions, applying the trim markers. */
function lex(src: string): { text?: string; action?: string }[] {
  const out: { text?: string; action?: string }[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf("{{", i);
    if (open < 0) {
      out.push({ text: src.slice(i) });
      break;
    }
    let text = src.slice(i, open);
    let start = open + 2;
    if (src[start] === "-" && /\s/.test(src[start + 1] ?? "")) {
      text = text.trimEnd();
      start++;
    }
    const close = src.indexOf("}}", start);
    if (close < 0) fail("unclosed action");
    let end = close;
    let next = close + 2;
    if (src[close - 1] === "-" && /\s/.test(src[close - 2] ?? "")) {
      end = close - 1;
      while (next < src.length && /\s/.test(src[next])) next++;
    }
    if (text) out.push({ text });
    out.push({ action: src.slice(start, end).trim() });
    i = next;
  }
  return out;
}

/** Words of an action: strings, parentheses, pipes and := kept whole. */
function words(action: string): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\(|\)|\||:=|,|[^\s()|,]+)/gy;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = re.exec(action))) {
    out.push(m[1]);
    last = re.lastIndex;
  }
  if (action.slice(last).trim()) fail(`unexpected "${action.slice(last).trim()}"`);
  return out;
}

function parsePipe(w: string[], pos = { i: 0 }, stopAtParen = false): Pipe {
  const cmds: Term[] = [];
  for (;;) {
    const terms: Term[] = [];
    while (pos.i < w.length && w[pos.i] !== "|" && !(stopAtParen && w[pos.i] === ")")) terms.push(parseTerm(w, pos));
    if (terms.length === 0) fail("missing value in a pipeline");
    const [head, ...args] = terms;
    if (args.length && head.kind !== "call") fail("a value takes no arguments");
    cmds.push(head.kind === "call" ? { ...head, args } : head);
    if (w[pos.i] !== "|") return cmds;
    pos.i++;
  }
}

const FIELD = /^(\$[A-Za-z0-9_]*|)((?:\.[A-Za-z0-9_-]+)*)$/;

function parseTerm(w: string[], pos: { i: number }): Term {
  const t = w[pos.i++];
  if (t === "(") {
    const pipe = parsePipe(w, pos, true);
    if (w[pos.i++] !== ")") fail("unclosed (");
    const path = w[pos.i]?.startsWith(".") ? w[pos.i++].slice(1).split(".") : [];
    return { kind: "paren", pipe, path };
  }
  if (t.startsWith('"')) return { kind: "lit", value: JSON.parse(t) };
  if (t.startsWith("`")) return { kind: "lit", value: t.slice(1, -1) };
  if (/^-?\d+(\.\d+)?$/.test(t)) return { kind: "lit", value: Number(t) };
  if (t === "true" || t === "false") return { kind: "lit", value: t === "true" };
  if (t === "nil") return { kind: "lit", value: null };
  if (t === ".") return { kind: "field", base: "dot", path: [] };
  const m = FIELD.exec(t);
  if (m && (m[1] || m[2])) {
    const path = m[2] ? m[2].slice(1).split(".") : [];
    return { kind: "field", base: m[1] === "" ? "dot" : m[1] === "$" ? "root" : m[1], path };
  }
  if (/^[a-z][A-Za-z0-9]*$/.test(t)) {
    if (!(t in FUNCS)) fail(`function "${t}" not defined`);
    return { kind: "call", name: t, args: [] };
  }
  return fail(`unexpected "${t}"`);
}

/** Parses until {{end}} (or {{else}}): the nodes and which keyword ended them. */
function parseNodes(items: { text?: string; action?: string }[], pos: { i: number }, inBlock: boolean) {
  const nodes: Node[] = [];
  while (pos.i < items.length) {
    const item = items[pos.i++];
    if (item.text !== undefined) {
      nodes.push({ kind: "text", text: item.text });
      continue;
    }
    const action = item.action!;
    if (action.startsWith("/*")) continue;
    const w = words(action);
    if (w[0] === "end" || w[0] === "else") {
      if (!inBlock) fail(`unexpected {{${w[0]}}}`);
      return { nodes, ended: w[0] };
    }
    if (w[0] === "range" || w[0] === "if") {
      let vars: string[] = [];
      let rest = w.slice(1);
      const decl = rest.indexOf(":=");
      if (w[0] === "range" && decl >= 0) {
        vars = rest.slice(0, decl).filter((x) => x !== ",");
        if (!vars.length || vars.length > 2 || !vars.every((v) => /^\$[A-Za-z0-9_]+$/.test(v)))
          fail("range declares one or two $variables");
        rest = rest.slice(decl + 1);
      }
      const pipe = parsePipe(rest);
      const body = parseNodes(items, pos, true);
      const alt = body.ended === "else" ? parseNodes(items, pos, true) : { nodes: [], ended: "end" };
      if (alt.ended !== "end") fail(`{{${w[0]}}} without {{end}}`);
      nodes.push(
        w[0] === "range"
          ? { kind: "range", vars, pipe, body: body.nodes, alt: alt.nodes }
          : { kind: "if", pipe, body: body.nodes, alt: alt.nodes },
      );
      continue;
    }
    nodes.push({ kind: "out", pipe: parsePipe(w) });
  }
  if (inBlock) fail("missing {{end}}");
  return { nodes, ended: "" };
}

/** Go's %v of a decoded JSON value. */
export function goString(v: Value): string {
  if (v === undefined) return "<no value>";
  if (v === null) return "<nil>";
  if (Array.isArray(v)) return `[${v.map(goString).join(" ")}]`;
  if (typeof v === "object")
    return `map[${Object.keys(v as object)
      .sort()
      .map((k) => `${k}:${goString((v as Record<string, Value>)[k])}`)
      .join(" ")}]`;
  return String(v);
}

const truthy = (v: Value) =>
  !(v === undefined || v === null || v === false || v === 0 || v === "") &&
  !(Array.isArray(v) && v.length === 0) &&
  !(typeof v === "object" && !Array.isArray(v) && Object.keys(v as object).length === 0);

const FUNCS: Record<string, (...a: Value[]) => Value> = {
  json: (v) => JSON.stringify(v ?? null),
  index: (v, ...keys) =>
    keys.reduce<Value>(
      (x, k) => (x === null || x === undefined ? undefined : (x as Record<string, Value>)[String(k)]),
      v,
    ),
  len: (v) =>
    Array.isArray(v) || typeof v === "string" ? v.length : v && typeof v === "object" ? Object.keys(v).length : 0,
  join: (v, sep) => (Array.isArray(v) ? v.map(goString).join(String(sep)) : goString(v)),
  upper: (v) => goString(v).toUpperCase(),
  lower: (v) => goString(v).toLowerCase(),
  print: (...a) => a.map(goString).join(""),
  println: (...a) => `${a.map(goString).join(" ")}\n`,
  eq: (a, ...b) => b.some((x) => x === a),
  ne: (a, b) => a !== b,
  not: (a) => !truthy(a),
  and: (...a) => a.find((x) => !truthy(x)) ?? a.at(-1),
  or: (...a) => a.find(truthy) ?? a.at(-1),
};

interface Scope {
  dot: Value;
  root: Value;
  vars: Map<string, Value>;
}

const walk = (v: Value, path: string[]) =>
  path.reduce<Value>((x, k) => (x !== null && typeof x === "object" ? (x as Record<string, Value>)[k] : undefined), v);

function evalTerm(t: Term, s: Scope, piped: Value[]): Value {
  switch (t.kind) {
    case "lit":
      return t.value;
    case "field": {
      if (t.base !== "dot" && t.base !== "root" && !s.vars.has(t.base)) fail(`undefined variable ${t.base}`);
      const base = t.base === "dot" ? s.dot : t.base === "root" ? s.root : s.vars.get(t.base);
      return walk(base, t.path);
    }
    case "paren":
      return walk(evalPipe(t.pipe, s), t.path);
    case "call":
      return FUNCS[t.name](...t.args.map((a) => evalTerm(a, s, [])), ...piped);
  }
}

function evalPipe(p: Pipe, s: Scope): Value {
  let v: Value;
  p.forEach((t, i) => {
    v = evalTerm(t, s, i === 0 ? [] : [v]);
  });
  return v;
}

function render(nodes: Node[], s: Scope): string {
  let out = "";
  for (const n of nodes) {
    if (n.kind === "text") out += n.text;
    else if (n.kind === "out") out += goString(evalPipe(n.pipe, s));
    else if (n.kind === "if") out += render(truthy(evalPipe(n.pipe, s)) ? n.body : n.alt, s);
    else {
      const v = evalPipe(n.pipe, s);
      const entries: [Value, Value][] = Array.isArray(v)
        ? v.map((x, i) => [i, x])
        : v && typeof v === "object"
          ? Object.keys(v)
              .sort()
              .map((k) => [k, (v as Record<string, Value>)[k]])
          : [];
      if (entries.length === 0) out += render(n.alt, s);
      for (const [k, x] of entries) {
        const vars = new Map(s.vars);
        if (n.vars.length === 1) vars.set(n.vars[0], x);
        if (n.vars.length === 2) vars.set(n.vars[0], k).set(n.vars[1], x);
        out += render(n.body, { dot: x, root: s.root, vars });
      }
    }
  }
  return out;
}

/** A compiled template: apply it to a value (docker's inspect object, …). */
export function compileTemplate(src: string): (data: Value) => string {
  const { nodes } = parseNodes(lex(src), { i: 0 }, false);
  return (data) => render(nodes, { dot: data, root: data, vars: new Map() });
}
