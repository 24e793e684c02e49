// docker's `-u name|uid[:group|gid]` resolved against the image's /etc/passwd and /etc/group,
// with the semantics of runc's libcontainer/user (which docker uses):
// - a name must be in passwd; a number need not be (then gid 0 and home "/" unless given);
// - `:group` by name must be in group; by number need not be;
// - supplementary groups come from /etc/group membership, only when no group was given;
// - like docker, the primary gid is the first of additionalGids, then the supplementary ones,
//   then `--group-add`.
// Files are read inside the container's root by the kernel (openat2 RESOLVE_IN_ROOT): symlinks
// (absolute or relative) and ".." never reach the host, even while a running container swaps them;
// only a regular file of bounded size is read (common/container-file.ts).
import { closeSync } from "node:fs";
import type { User } from "./types.ts";
import { UserError } from "../common/errors.ts";
import { openRoot, readInRoot } from "../common/container-file.ts";

/** Reads a container path (`/etc/passwd`); undefined when the file does not exist. */
export type ReadContainerFile = (path: string) => string | undefined;

export interface ResolvedUser {
  /** What goes into process.user of the OCI config. */
  user: User;
  /** The home directory from passwd ("/" when none), for HOME. */
  home: string;
  /** The passwd name when the user was found there. */
  name?: string;
}

export interface ResolveUserOptions {
  /** docker's --group-add: group names or gids, added to additionalGids. */
  groupAdd?: string[];
  /** Overrides reading files from the rootfs (tests). */
  readFile?: ReadContainerFile;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 2 ** 31 - 1;

/**
 * Reads `path` inside `root` (a rootfs directory, or /proc/PID/root of a running container): the
 * kernel resolves every component inside it, and only a regular file of bounded size is read.
 */
export function rootfsReader(root: string): ReadContainerFile {
  return (path) => {
    const fd = openRoot(root);
    try {
      return readInRoot(fd, path, path);
    } finally {
      closeSync(fd);
    }
  };
}

const isNumeric = (s: string) => /^\d+$/.test(s);

function parseId(s: string): number | undefined {
  if (!isNumeric(s)) return undefined;
  const n = Number(s);
  return n <= MAX_ID ? n : undefined;
}

/** passwd lines `name:x:uid:gid:gecos:home:shell`; malformed lines and comments are skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const f = line.split(":");
    const uid = parseId(f[2] ?? ""),
      gid = parseId(f[3] ?? "");
    if (!f[0] || uid === undefined || gid === undefined) continue;
    out.push({ name: f[0], uid, gid, home: f[5] || "/" });
  }
  return out;
}

/** group lines `name:x:gid:user1,user2`; malformed lines and comments are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const f = line.split(":");
    const gid = parseId(f[2] ?? "");
    if (!f[0] || gid === undefined) continue;
    out.push({
      name: f[0],
      gid,
      members: (f[3] ?? "")
        .split(",")
        .map((m) => m.trim())
        .filter(Boolean),
    });
  }
  return out;
}

function idOrRange(s: string, kind: "user" | "group"): number {
  const n = Number(s);
  if (n > MAX_ID) throw new UserError(`${kind} id ${s} is out of range (0-${MAX_ID})`);
  return n;
}

/** Resolves docker's `--user` value (undefined = root) against the rootfs's passwd/group. */
/**
 * HOME for a process whose environment has none (runc's rule): the home of `uid` in the container's
 * /etc/passwd, "/" without an entry (or without a readable passwd).
 */
export function homeFor(env: string[], uid: number, read: ReadContainerFile): string[] {
  if (env.some((e) => e.startsWith("HOME="))) return env;
  let home = "/";
  try {
    home = parsePasswd(read("/etc/passwd") ?? "").find((u) => u.uid === uid)?.home || "/";
  } catch {
    /* not a regular file, too big: "/" */
  }
  return [...env, `HOME=${home}`];
}

export function resolveUser(rootfs: string, spec: string | undefined, opts: ResolveUserOptions = {}): ResolvedUser {
  const read = opts.readFile ?? rootfsReader(rootfs);
  const colon = (spec ?? "").indexOf(":");
  const userArg = colon < 0 ? (spec ?? "") : spec!.slice(0, colon);
  const groupArg = colon < 0 ? "" : spec!.slice(colon + 1);

  let passwd: PasswdEntry[] | undefined;
  let groups: GroupEntry[] | undefined;
  const getPasswd = () => (passwd ??= parsePasswd(read("/etc/passwd") ?? ""));
  const getGroups = () => (groups ??= parseGroup(read("/etc/group") ?? ""));

  let uid = 0,
    gid = 0,
    home = "/";
  let name: string | undefined;
  const numericUser = isNumeric(userArg);
  const want = userArg === "" ? 0 : numericUser ? Number(userArg) : undefined;
  const found = getPasswd().find((u) => (want !== undefined ? u.uid === want : u.name === userArg));
  if (found) {
    ({ uid, gid, home, name } = found);
  } else if (userArg !== "") {
    if (!numericUser) throw new UserError(`unable to find user ${userArg}: no matching entries in passwd file`);
    uid = idOrRange(userArg, "user");
  }

  const supplementary: number[] = [];
  if (groupArg !== "") {
    const numericGroup = isNumeric(groupArg);
    const g = getGroups().find((e) => (numericGroup ? e.gid === Number(groupArg) : e.name === groupArg));
    if (g) gid = g.gid;
    else if (numericGroup) gid = idOrRange(groupArg, "group");
    else throw new UserError(`unable to find group ${groupArg}: no matching entries in group file`);
  } else if (name !== undefined) {
    for (const g of getGroups()) if (g.members.includes(name)) supplementary.push(g.gid);
  }

  for (const add of opts.groupAdd ?? []) {
    if (isNumeric(add)) {
      supplementary.push(idOrRange(add, "group"));
      continue;
    }
    const g = getGroups().find((e) => e.name === add);
    if (!g) throw new UserError(`unable to find group ${add}: no matching entries in group file`);
    supplementary.push(g.gid);
  }

  const additionalGids = [...new Set([gid, ...supplementary])];
  return { user: { uid, gid, additionalGids }, home, ...(name !== undefined ? { name } : {}) };
}
