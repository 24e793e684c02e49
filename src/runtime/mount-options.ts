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
  /** Recursive attributes (rro, rnosuid, …): mount_setattr(AT_RECURSIVE) after mounting. */
  recAttrSet: number;
  recAttrClr: number;
  /** tmpcopyup: the tmpfs starts with a copy of what it covers. */
  copyUp: boolean;
  /** idmap / ridmap: an idmapped mount (ridmap: of the whole tree). */
  idmap?: "idmap" | "ridmap";
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

/** Recursive attributes (mount_setattr(2) with AT_RECURSIVE): [clear?, MOUNT_ATTR_*]. */
const REC_ATTRS: Record<string, [clear: boolean, attr: number]> = {
  rro: [false, C.MOUNT_ATTR_RDONLY],
  rrw: [true, C.MOUNT_ATTR_RDONLY],
  rnosuid: [false, C.MOUNT_ATTR_NOSUID],
  rsuid: [true, C.MOUNT_ATTR_NOSUID],
  rnodev: [false, C.MOUNT_ATTR_NODEV],
  rdev: [true, C.MOUNT_ATTR_NODEV],
  rnoexec: [false, C.MOUNT_ATTR_NOEXEC],
  rexec: [true, C.MOUNT_ATTR_NOEXEC],
  rnodiratime: [false, C.MOUNT_ATTR_NODIRATIME],
  rdiratime: [true, C.MOUNT_ATTR_NODIRATIME],
  rrelatime: [false, C.MOUNT_ATTR_RELATIME],
  rnorelatime: [true, C.MOUNT_ATTR_RELATIME],
  rnoatime: [false, C.MOUNT_ATTR_NOATIME],
  ratime: [true, C.MOUNT_ATTR_NOATIME],
  rstrictatime: [false, C.MOUNT_ATTR_STRICTATIME],
  rnostrictatime: [true, C.MOUNT_ATTR_STRICTATIME],
  rnosymfollow: [false, C.MOUNT_ATTR_NOSYMFOLLOW],
  rsymfollow: [true, C.MOUNT_ATTR_NOSYMFOLLOW],
};

/** Every option mini applies (runtime-spec features' mountOptions). */
export const MOUNT_OPTIONS = [
  ...Object.keys(FLAGS),
  ...Object.keys(PROPAGATION),
  ...Object.keys(REC_ATTRS),
  "bind",
  "rbind",
  "tmpcopyup",
  "idmap",
  "ridmap",
];

/** Options that engines pass but that carry no meaning for mount(2). */
const IGNORED = new Set([
  "defaults",
  "auto",
  "noauto",
  "user",
  "nouser",
  "_netdev",
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
    recursive = false,
    recAttrSet = 0,
    recAttrClr = 0,
    copyUp = false;
  let idmap: ParsedMountOptions["idmap"];
  const data: string[] = [];
  for (const o of options) {
    if (o in REC_ATTRS) {
      const [clear, attr] = REC_ATTRS[o]!;
      if (clear) recAttrClr |= attr;
      else {
        recAttrSet |= attr;
        // An access-time setting is set together with clearing the access-time field (mount_setattr(2)).
        if ((attr & C.MOUNT_ATTR__ATIME) === attr) recAttrClr |= C.MOUNT_ATTR__ATIME;
      }
      continue;
    }
    if (o === "tmpcopyup") {
      copyUp = true;
      continue;
    }
    if (o === "idmap" || o === "ridmap") {
      idmap = o;
      continue;
    }
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
  return { flags, propagation, data: data.join(","), bind, recursive, recAttrSet, recAttrClr, copyUp, idmap };
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
