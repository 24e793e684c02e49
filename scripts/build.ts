// bun run build → dist/mini, one executable that runs without Bun installed. The C helper
// (src/shim/*.c: the detached-container monitor, exec, roexec) is built first, statically, and
// embedded in it.
import { $ } from "bun";
import { precompileDefault } from "../src/seccomp/precompile.ts";

// Against musl when it is installed: the shim is copied into a memfd before every container start,
// and glibc's static build is 875 KiB to musl's 116 KiB (~1.3 ms of each `mini run`, measured).
// musl-gcc brings no kernel headers: Debian's (linux-libc-dev) come in through a directory of links.
async function buildShim(): Promise<void> {
  await $`mkdir -p dist`;
  if (!Bun.which("musl-gcc")) {
    await $`gcc -static -Os -s -Wall -Wextra -o dist/mini-shim src/shim/*.c`;
    return;
  }
  const triplet = (await $`gcc -dumpmachine`.text()).trim();
  const inc = `${process.env.TMPDIR ?? "/tmp"}/mini-shim-headers-${process.pid}`;
  try {
    await $`mkdir -p ${inc} && ln -sfn /usr/include/linux ${inc}/linux && ln -sfn /usr/include/asm-generic ${inc}/asm-generic && ln -sfn /usr/include/${triplet}/asm ${inc}/asm`;
    await $`musl-gcc -static -Os -s -Wall -Wextra -Werror -idirafter ${inc} -o dist/mini-shim src/shim/*.c`;
  } finally {
    await $`rm -rf ${inc}`;
  }
}

await buildShim();
// No autoloading of .env, bunfig.toml, tsconfig.json or package.json from the current directory:
// a compiled Bun binary does the first two by default, and a bunfig.toml `preload` in whatever
// directory root runs mini from would run its code as root (test/integration/security.test.ts).
const noAutoload = ["dotenv", "bunfig", "tsconfig", "package-json"].map((k) => `--no-compile-autoload-${k}`);
// docker's default seccomp filter, compiled now rather than by every `mini run` (seccomp/precompiled.ts).
const seccomp = `MINI_PRECOMPILED_SECCOMP=${JSON.stringify(precompileDefault())}`;
// `mini --version`'s commit line.
const commit = (await $`git describe --always --dirty --abbrev=12`.nothrow().quiet().text()).trim() || "unknown";
const args = [
  "build",
  "--compile",
  ...noAutoload,
  "--minify",
  "--bytecode",
  // JIT tier-up 1000x more reluctant: a container start is code that runs once (common/jit.ts).
  "--compile-jit-policy=1000",
  "--define",
  seccomp,
  "--define",
  `MINI_COMMIT=${JSON.stringify(commit)}`,
  // The entry and the two stages it picks from (main.ts): each process loads only its stage's code.
  "src/main.ts",
  "src/runtime/child.ts",
  "src/cli/main.ts",
  "--outfile",
  "dist/mini",
];
await $`bun ${args}`.quiet();
const size = Bun.file("dist/mini").size;
console.log(
  `dist/mini (${(size / 1048576).toFixed(1)} MiB, with mini-shim ${(Bun.file("dist/mini-shim").size / 1024).toFixed(0)} KiB)`,
);
