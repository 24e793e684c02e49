// A Bun macro: runs when mini is bundled (or a test transpiled), never in the binary. It compiles
// docker's default profile for docker's default capabilities on the building machine's
// architecture, so that the common `mini run` gets its filter without compiling it (see
// precompiled.ts). Imported only with `with { type: "macro" }`.
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
