// What the runtime's parent side needs: linux.seccomp → the ChildConfig field the child stage
// loads (the child stage never imports the compiler: it is on every container's start-up path).
import type { LinuxSeccomp } from "../config/types.ts";
import { SECCOMP_FILTER_FLAG_TSYNC } from "../sys/constants.ts";
import { compileSeccompCached } from "./precompiled.ts";

/** A compiled filter as it travels to the child stage in JSON: the program in base64. */
export interface ChildSeccomp {
  program: string;
  flags: number;
  /**
   * SCMP_ACT_NOTIFY: the notify fd goes over a connection to linux.seccomp.listenerPath (the
   * runtime connects; `fd` indexes the fds sent with the config) with `state`, the container
   * process state JSON (runtime-spec ContainerProcessState).
   */
  listener?: { fd: number; state: string };
}

/**
 * Compiles `linux.seccomp` for one process on this machine. SECCOMP_FILTER_FLAG_TSYNC is dropped,
 * as runc does: the filter of the thread that execs is what the container gets (Bun's other
 * threads end at execve).
 */
export function compileForProcess(seccomp: LinuxSeccomp): { program: Uint8Array; flags: number } {
  const { program, flags } = compileSeccompCached(seccomp);
  return { program, flags: flags & ~SECCOMP_FILTER_FLAG_TSYNC };
}

/** compileForProcess for the child stage's config; undefined when there is none (no filter). */
export function compileForChild(seccomp: LinuxSeccomp | undefined | null): ChildSeccomp | undefined {
  if (seccomp === undefined || seccomp === null) return undefined;
  const { program, flags } = compileForProcess(seccomp);
  return { program: Buffer.from(program.buffer, program.byteOffset, program.byteLength).toString("base64"), flags };
}
