// bun run build → dist/mini, one executable that runs without Bun installed. The C helper
// (src/shim/*.c: the detached-container monitor, exec, roexec) is built first, statically, and
// embedded in it.
import { $ } from "bun";

await $`mkdir -p dist && gcc -static -Os -s -Wall -Wextra -o dist/mini-shim src/shim/*.c`;
const args = ["build", "--compile", "--minify", "--bytecode", "src/main.ts", "--outfile", "dist/mini"];
await $`bun ${args}`.quiet();
const size = Bun.file("dist/mini").size;
console.log(`dist/mini (${(size / 1048576).toFixed(1)} MiB, with mini-shim ${(Bun.file("dist/mini-shim").size / 1024).toFixed(0)} KiB)`);
