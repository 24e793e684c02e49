// OCI mount options ("ro", "nosuid", "rbind", "mode=755", …) → mount(2) flags, propagation and data.
import * as C from "../sys/constants.ts";

export interface ParsedMountOptions {
  flags: number;
  /** Propagation change to apply after mounting (MS_PRIVATE|MS_REC, …), 0 for none. */
  propagation: number;
  /** Filesystem-specific options for the data argument, comma-joined. */
  data: string;
  bind: boolean;
  recursive: boolean;
}

const FLAGS: Record<string, [set: boolean, flag: number]> = {
  ro: [true, C.MS_RDONLY],
  rw: [false, C.MS_RDONLY],
  nosuid: [true, C.MS_NOSUID],
  suid: [false, C.MS_NOSUID],
  nodev: [true, C.MS_NODEV],
  dev: [false, C.MS_NODEV],
  noexec: [true, C.MS_NOEXEC],
  exec: [false, C.MS_NOEXEC],
  sync: [true, C.MS_SYNCHRONOUS],
  async: [false, C.MS_SYNCHRONOUS],
  dirsync: [true, C.MS_DIRSYNC],
  remount: [true, C.MS_REMOUNT],
  mand: [true, C.MS_MANDLOCK],
  nomand: [false, C.MS_MANDLOCK],
  atime: [false, C.MS_NOATIME],
  noatime: [true, C.MS_NOATIME],
  diratime: [false, C.MS_NODIRATIME],
  nodiratime: [true, C.MS_NODIRATIME],
  relatime: [true, C.MS_RELATIME],
  norelatime: [false, C.MS_RELATIME],
  strictatime: [true, C.MS_STRICTATIME],
  nostrictatime: [false, C.MS_STRICTATIME],
  lazytime: [true, C.MS_LAZYTIME],
  nolazytime: [false, C.MS_LAZYTIME],
  nosymfollow: [true, C.MS_NOSYMFOLLOW],
  symfollow: [false, C.MS_NOSYMFOLLOW],
  silent: [true, C.MS_SILENT],
  loud: [false, C.MS_SILENT],
};

const PROPAGATION: Record<string, number> = {
  private: C.MS_PRIVATE,
  rprivate: C.MS_PRIVATE | C.MS_REC,
  shared: C.MS_SHARED,
  rshared: C.MS_SHARED | C.MS_REC,
  slave: C.MS_SLAVE,
  rslave: C.MS_SLAVE | C.MS_REC,
  unbindable: C.MS_UNBINDABLE,
  runbindable: C.MS_UNBINDABLE | C.MS_REC,
};

/** Every option mini applies (runtime-spec features' mountOptions). */
export const MOUNT_OPTIONS = [...Object.keys(FLAGS), ...Object.keys(PROPAGATION), "bind", "rbind"];

/** Options that engines pass but that carry no meaning for mount(2). */
const IGNORED = new Set([
  "defaults",
  "auto",
  "noauto",
  "user",
  "nouser",
  "_netdev",
  "idmap",
  "ridmap",
  "tmpcopyup",
  "notmpcopyup",
  "copy-symlink",
  "z",
  "Z",
  "U",
]);

export function parseMountOptions(options: string[] = []): ParsedMountOptions {
  let flags = 0,
    propagation = 0,
    bind = false,
    recursive = false;
  const data: string[] = [];
  for (const o of options) {
    if (o === "bind") {
      bind = true;
      continue;
    }
    if (o === "rbind") {
      bind = true;
      recursive = true;
      continue;
    }
    if (o in FLAGS) {
      const [set, f] = FLAGS[o];
      flags = set ? flags | f : flags & ~f;
      continue;
    }
    if (o in PROPAGATION) {
      propagation = PROPAGATION[o];
      continue;
    }
    if (IGNORED.has(o)) continue;
    data.push(o);
  }
  return { flags, propagation, data: data.join(","), bind, recursive };
}

/** mount(2) flags that can't change on a bind mount without MS_REMOUNT. */
export const REMOUNT_FLAGS =
  C.MS_RDONLY |
  C.MS_NOSUID |
  C.MS_NODEV |
  C.MS_NOEXEC |
  C.MS_NOATIME |
  C.MS_NODIRATIME |
  C.MS_RELATIME |
  C.MS_STRICTATIME |
  C.MS_NOSYMFOLLOW;
