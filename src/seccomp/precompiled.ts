// compileSeccomp with one answer known in advance: docker's default profile for docker's default
// capabilities, compiled when mini was built (precompile.ts; scripts/build.ts defines it into the
// binary). Compiling it at run time costs several milliseconds on a cold start (about 400 syscall
// names, three x86 ABIs); decoding the stored program costs about a tenth of a millisecond. Any
// other profile, capability set or architecture is compiled as before, and so is everything when
// mini runs from source.
import type { CompiledSeccomp } from "./compile.ts";
import type { Precompiled } from "./precompile.ts";

declare const MINI_PRECOMPILED_SECCOMP: Precompiled;
const BUILT = typeof MINI_PRECOMPILED_SECCOMP === "undefined" ? undefined : MINI_PRECOMPILED_SECCOMP;

/** compileSeccomp(seccomp, arch), from `pre` when `seccomp` is the profile it was compiled from. */
export function cachedCompiler(pre: Precompiled | undefined) {
  return (seccomp: unknown, arch: string = process.arch): CompiledSeccomp => {
    if (pre && arch === pre.arch && JSON.stringify(seccomp) === pre.profile)
      return { program: new Uint8Array(Buffer.from(pre.program, "base64")), flags: pre.flags };
    // The compiler and its syscall tables load only here (~0.5 ms): the default profile never needs them.
    return (require("./compile.ts") as typeof import("./compile.ts")).compileSeccomp(seccomp, arch);
  };
}

export const compileSeccompCached = cachedCompiler(BUILT);
