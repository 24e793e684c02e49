// `update` of a container's device rules on a v1 devices hierarchy, with the fewest writes (runc's
// transitions): the kernel's state is a default (allow or deny everything) plus exceptions. When
// the default stays "deny", only the exceptions that change are written (devices.allow for access
// added, devices.deny for access taken), so no device the container holds open is cut off even
// for a moment. Changing the default means writing "a" first, which the kernel refuses (EINVAL)
// once the cgroup has sub-cgroups, as it does for runc.
import { posix } from "node:path";
import { ALWAYS_ALLOWED_DEVICES } from "../../config/defaults.ts";
import type { DeviceRule } from "../../config/types.ts";
import type { CgroupWrite } from "../types.ts";
import { deviceRuleLine } from "./devices.ts";

/** The devices cgroup's state: its default and exceptions ("c 1:3" → "rwm"). */
export interface DeviceState {
  allowAll: boolean;
  exceptions: Map<string, Set<string>>;
}

const key = (r: DeviceRule) => {
  const num = (n: number | undefined) => (n === undefined || n < 0 ? "*" : String(n));
  return `${r.type && r.type !== "a" ? r.type : "a"} ${num(r.major)}:${num(r.minor)}`;
};

/** devices.list as the kernel shows it: "a *:* rwm" alone means allow-all (its exceptions unseen). */
export function parseDevicesList(text: string): DeviceState {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length === 1 && lines[0] === "a *:* rwm") return { allowAll: true, exceptions: new Map() };
  const exceptions = new Map<string, Set<string>>();
  for (const l of lines) {
    const [type, nums, access] = l.split(/\s+/);
    exceptions.set(`${type} ${nums}`, new Set(access ?? ""));
  }
  return { allowAll: false, exceptions };
}

/** The state the rules lead to from a new cgroup's (allow-all), with the always-allowed devices added. */
export function emulateRules(rules: DeviceRule[]): DeviceState {
  const state: DeviceState = { allowAll: true, exceptions: new Map() };
  for (const r of [...rules, ...ALWAYS_ALLOWED_DEVICES]) {
    if (deviceRuleLine(r) === "a") {
      state.allowAll = r.allow;
      state.exceptions.clear();
      continue;
    }
    const k = key(r);
    const access = new Set(r.access || "rwm");
    const cur = state.exceptions.get(k) ?? new Set<string>();
    // In deny-all mode exceptions are what is allowed; in allow-all mode, what is denied.
    const adds = r.allow !== state.allowAll;
    const next = new Set(adds ? [...cur, ...access] : [...cur].filter((a) => !access.has(a)));
    if (next.size) state.exceptions.set(k, next);
    else state.exceptions.delete(k);
  }
  return state;
}

const order = (s: Set<string>) => ["r", "w", "m"].filter((a) => s.has(a)).join("");

/** The writes that take the cgroup in `dir` from `current` to `target`. */
export function deviceTransition(dir: string, current: DeviceState, target: DeviceState): CgroupWrite[] {
  const allow = posix.join(dir, "devices.allow");
  const deny = posix.join(dir, "devices.deny");
  const setting = "linux.resources.devices";
  if (current.allowAll || target.allowAll) {
    // A default to set (or an allow-all state whose exceptions can't be read): from scratch.
    const out: CgroupWrite[] = [{ path: target.allowAll ? allow : deny, value: "a", setting }];
    for (const [k, a] of target.exceptions)
      out.push({ path: target.allowAll ? deny : allow, value: `${k} ${order(a)}`, setting });
    return out;
  }
  const adds: CgroupWrite[] = [];
  const removes: CgroupWrite[] = [];
  for (const k of new Set([...current.exceptions.keys(), ...target.exceptions.keys()])) {
    const cur = current.exceptions.get(k) ?? new Set<string>();
    const tgt = target.exceptions.get(k) ?? new Set<string>();
    const add = new Set([...tgt].filter((a) => !cur.has(a)));
    const remove = new Set([...cur].filter((a) => !tgt.has(a)));
    if (add.size) adds.push({ path: allow, value: `${k} ${order(add)}`, setting });
    if (remove.size) removes.push({ path: deny, value: `${k} ${order(remove)}`, setting });
  }
  return [...adds, ...removes];
}
