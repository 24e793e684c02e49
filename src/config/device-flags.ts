// docker's device flags → the OCI config: `--device HOST[:CTR][:rwm]` (the node made in the
// container's /dev with the host's type and numbers, and allowed in the devices cgroup),
// `--device-cgroup-rule 'c 1:3 rwm'`, and the host's devices for --privileged. The host's device
// nodes are read with stat (injected: tests pass their own).
import { lstatSync, readdirSync, statSync } from "node:fs";
import { UserError } from "../common/errors.ts";
import type { Device, DeviceRule } from "./types.ts";

/** A device node as stat(2) shows it. */
export interface HostDevice {
  type: "c" | "b";
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
}

export type StatDevice = (path: string) => HostDevice | "dir" | undefined;

/** A host device node as a linux.devices entry at `path` in the container. */
const linuxDevice = (path: string, d: HostDevice): Device => ({
  type: d.type,
  path,
  major: d.major,
  minor: d.minor,
  fileMode: d.mode & 0o777,
  uid: d.uid,
  gid: d.gid,
});

/** glibc's major()/minor() of a dev_t (st_rdev). */
export function devNumbers(rdev: number): { major: number; minor: number } {
  const r = BigInt(rdev);
  const major = Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn));
  const minor = Number((r & 0xffn) | ((r >> 12n) & ~0xffn));
  return { major, minor };
}

function statDevice(path: string, follow: boolean): ReturnType<StatDevice> {
  let st: import("node:fs").Stats;
  try {
    st = follow ? statSync(path) : lstatSync(path);
  } catch {
    return undefined;
  }
  if (st.isDirectory()) return "dir";
  if (!st.isCharacterDevice() && !st.isBlockDevice()) return undefined;
  return {
    type: st.isBlockDevice() ? "b" : "c",
    ...devNumbers(st.rdev),
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
  };
}

/** stat of a host path (symlinks followed, as docker's --device does): a device, a directory, or undefined. */
export const statHostDevice: StatDevice = (path) => statDevice(path, true);
/** The same without following symlinks (the host's /dev/stdin, /dev/core are links, not devices to pass). */
export const lstatHostDevice: StatDevice = (path) => statDevice(path, false);

const isPerms = (s: string) => /^[rwm]{1,3}$/.test(s) && new Set(s).size === s.length;

export interface DeviceRequest {
  devices: Device[];
  rules: DeviceRule[];
}

/** Every device node under `dir` (recursively), as [path, device]. */
function devicesUnder(dir: string, stat: StatDevice, list: (d: string) => string[]): [string, HostDevice][] {
  const out: [string, HostDevice][] = [];
  for (const name of list(dir).sort()) {
    const p = `${dir}/${name}`;
    const s = stat(p);
    if (s === "dir") out.push(...devicesUnder(p, stat, list));
    else if (s) out.push([p, s]);
  }
  return out;
}

const listDir = (d: string) => {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
};

/** `--device HOST[:CTR][:PERMS]`: docker's parsing (a second field that is valid permissions is the permissions). */
export function parseDeviceFlag(
  v: string,
  stat: StatDevice = statHostDevice,
  list: (d: string) => string[] = listDir,
): DeviceRequest {
  const parts = v.split(":");
  if (parts.length > 3 || !parts[0]) throw new UserError(`invalid --device "${v}": use HOST[:CONTAINER][:PERMISSIONS]`);
  let [src, dst, perms] = parts as [string, string | undefined, string | undefined];
  if (parts.length === 2 && isPerms(dst!)) {
    perms = dst;
    dst = undefined;
  }
  perms ??= "rwm";
  dst ||= src;
  if (!isPerms(perms)) throw new UserError(`invalid --device "${v}": permissions "${perms}" are not a mix of r, w, m`);
  if (!src.startsWith("/") || !dst.startsWith("/"))
    throw new UserError(`invalid --device "${v}": the paths must be absolute`);
  const s = stat(src);
  if (!s) throw new UserError(`invalid --device "${v}": ${src} is not a device node on this host`);
  const found: [string, HostDevice][] =
    s === "dir" ? devicesUnder(src, stat, list).map(([p, d]) => [dst + p.slice(src.length), d]) : [[dst, s]];
  if (!found.length) throw new UserError(`invalid --device "${v}": no device nodes under ${src}`);
  return {
    devices: found.map(([path, d]) => linuxDevice(path, d)),
    rules: found.map(([, d]) => ({ allow: true, type: d.type, major: d.major, minor: d.minor, access: perms })),
  };
}

/** `--device-cgroup-rule 'c 1:3 rwm'` (`*` for any major or minor, type a|b|c). */
export function parseDeviceCgroupRule(v: string): DeviceRule {
  const m = /^([abc]) (\*|\d+):(\*|\d+) ([rwm]{1,3})$/.exec(v.trim());
  if (!m || !isPerms(m[4]!))
    throw new UserError(`invalid --device-cgroup-rule "${v}": use TYPE MAJOR:MINOR PERMISSIONS, e.g. 'c 1:3 rwm'`);
  const num = (s: string) => (s === "*" ? undefined : Number(s));
  const rule: DeviceRule = { allow: true, type: m[1]!, access: m[4]! };
  const major = num(m[2]!);
  const minor = num(m[3]!);
  if (major !== undefined) rule.major = major;
  if (minor !== undefined) rule.minor = minor;
  return rule;
}

/** Host paths --privileged leaves out: per-container instances (pts, shm, mqueue), and /dev/ptmx and /dev/console, which the container gets its own of. */
const NOT_PASSED = new Set(["/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/fd", "/dev/ptmx", "/dev/console"]);

/** Every device node of the host's /dev, as --privileged passes them (docker's HostDevices). */
export function hostDevices(stat: StatDevice = lstatHostDevice, list: (d: string) => string[] = listDir): Device[] {
  const walk = (dir: string, depth: number): [string, HostDevice][] =>
    list(dir)
      .sort()
      .flatMap((name) => {
        const p = `${dir}/${name}`;
        if (NOT_PASSED.has(p) || name.startsWith(".")) return [];
        const s = stat(p);
        if (s === "dir") return depth < 4 ? walk(p, depth + 1) : [];
        return s ? [[p, s] as [string, HostDevice]] : [];
      });
  return walk("/dev", 0).map(([path, d]) => linuxDevice(path, d));
}
