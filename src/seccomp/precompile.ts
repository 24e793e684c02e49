// Run by scripts/build.ts when it builds mini: compiles docker's default profile for docker's
// default capabilities on the building machine's architecture, and the build defines the result
// into the binary, so that the common `mini run` gets its filter without compiling it (see
// precompiled.ts). (Not a Bun macro: a macro reached through a require() chain never finishes
// loading in `bun src/main.ts`.)
import { DEFAULT_CAPS } from "../config/capabilities.ts";
import { compileSeccomp } from "./compile.ts";
import { defaultSeccomp } from "../config/seccomp-default.ts";

export interface Precompiled {
  /** process.arch the program is for. */
  arch: string;
  /** JSON.stringify of the linux.seccomp object it was compiled from. */
  profile: string;
  /** struct sock_filter[], base64. */
  program: string;
  flags: number;
}

export function precompileDefault(): Precompiled {
  const arch = process.arch;
  const profile = defaultSeccomp(DEFAULT_CAPS, arch);
  const { program, flags } = compileSeccomp(profile, arch);
  return { arch, profile: JSON.stringify(profile), program: Buffer.from(program).toString("base64"), flags };
}
