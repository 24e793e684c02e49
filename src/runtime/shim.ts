// mini-shim (src/shim/*.c), the C helper embedded in the binary: exec'd from a sealed
// memfd, never from a host file a container could overwrite through /proc/PID/exe.
import { readFileSync } from "node:fs";
import shimFile from "../../dist/mini-shim" with { type: "file" };
import { sealedMemfd } from "../sys/calls.ts";

let fd: number | undefined;

/**
 * A path that execs the sealed shim, valid while this process lives; with `ownFd`, the path a
 * child that shares (a copy of) this fd table uses instead (a child in a user namespace may not
 * look into this process's /proc entry).
 */
export function shimPath(ownFd = false): string {
  fd ??= sealedMemfd("mini-shim", readFileSync(shimFile));
  return `/proc/${ownFd ? "self" : process.pid}/fd/${fd}`;
}
