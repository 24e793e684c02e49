// compileSeccomp with one answer known in advance: docker's default profile for docker's default
// capabilities, compiled when mini was built (precompiled.macro.ts). Compiling it at run time costs
// several milliseconds on a cold start (about 400 syscall names, three x86 ABIs); decoding the
// stored program costs about a tenth of a millisecond. Any other profile, capability set or
// architecture is compiled as before.
import { type CompiledSeccomp, compileSeccomp } from "./compile.ts";
import { precompileDefault } from "./precompiled.macro.ts" with { type: "macro" };

const PRE = precompileDefault();

/** compileSeccomp(seccomp, arch), from the build's copy when `seccomp` is that same profile. */
export function compileSeccompCached(seccomp: unknown, arch: string = process.arch): CompiledSeccomp {
  if (arch === PRE.arch && JSON.stringify(seccomp) === PRE.profile)
    return { program: new Uint8Array(Buffer.from(PRE.program, "base64")), flags: PRE.flags };
  return compileSeccomp(seccomp, arch);
}
