// mini-shim (src/shim/*.c), the C helper embedded in the binary: exec'd from a sealed
// memfd, never from a host file a container could overwrite through /proc/PID/exe.
import { readFileSync } from "node:fs";
import shimFile from "../../dist/mini-shim" with { type: "file" };
import { sealedMemfd } from "../sys/calls.ts";

let fd: number | undefined;

/** The sealed shim's memfd (close-on-exec; fexecve runs it). */
export function shimFd(): number {
  fd ??= sealedMemfd("mini-shim", readFileSync(shimFile));
  return fd;
}

/** A path that execs the sealed shim (valid while this process lives). */
export function shimPath(): string {
  return `/proc/${process.pid}/fd/${shimFd()}`;
}
