// What the runtime's parent side needs: linux.seccomp → the ChildConfig field the child stage
// loads (the child stage never imports the compiler: it is on every container's start-up path).
import type { LinuxSeccomp } from "../config/types.ts";
import { compileSeccomp } from "./compile.ts";

export { compileSeccomp };

/** A compiled filter as it travels to the child stage in JSON: the program in base64. */
export interface ChildSeccomp {
  program: string;
  flags: number;
}

/** Compiles `linux.seccomp` for this machine; undefined when there is none (no filter). */
export function compileForChild(seccomp: LinuxSeccomp | undefined | null): ChildSeccomp | undefined {
  if (seccomp === undefined || seccomp === null) return undefined;
  const { program, flags } = compileSeccomp(seccomp);
  return { program: Buffer.from(program.buffer, program.byteOffset, program.byteLength).toString("base64"), flags };
}
