// tmpcopyup (runtime-spec mount option): a tmpfs mounted over a directory of the rootfs starts with
// a copy of that directory. The directory is opened before the tmpfs covers it; its fd still
// reaches the covered contents, which are copied into the new mount with their modes, owners,
// times and symlinks (runc copies them the same way, through a temporary mount).
import {
  chmodSync,
  copyFileSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
} from "node:fs";
import * as sys from "../sys/calls.ts";
import * as C from "../sys/constants.ts";
import { fromNodeError } from "../sys/error.ts";

/** Opens `dir` (a directory in the rootfs) before it is covered; undefined when it is not one. */
export function openCovered(dir: string): number | undefined {
  try {
    return sys.open(dir, C.O_PATH | C.O_DIRECTORY);
  } catch {
    return undefined;
  }
}

function copyEntry(from: string, to: string): void {
  const st = lstatSync(from);
  if (st.isDirectory()) {
    mkdirSync(to);
    for (const name of readdirSync(from)) copyEntry(`${from}/${name}`, `${to}/${name}`);
    chmodSync(to, st.mode & 0o7777);
  } else if (st.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
  else if (st.isFile()) {
    copyFileSync(from, to);
    chmodSync(to, st.mode & 0o7777);
  } else return; // devices, fifos, sockets: not copied
  lchownSync(to, st.uid, st.gid);
  if (!st.isSymbolicLink()) chmodSync(to, st.mode & 0o7777); // chown clears setuid/setgid
  lutimesSync(to, st.atime, st.mtime);
}

/** Copies what the directory `coveredFd` holds into `target` (the fresh tmpfs), then closes the fd. */
export function copyUp(coveredFd: number, target: string): void {
  const from = `/proc/self/fd/${coveredFd}`;
  try {
    for (const name of readdirSync(from)) {
      try {
        copyEntry(`${from}/${name}`, `${target}/${name}`);
      } catch (e) {
        throw fromNodeError(e, "tmpcopyup", `${target}/${name}`);
      }
    }
  } finally {
    sys.close(coveredFd);
  }
}
