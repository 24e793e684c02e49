// bun run build → dist/mini, one executable that runs without Bun installed.
import { $ } from "bun";

const args = ["build", "--compile", "--minify", "--bytecode", "src/main.ts", "--outfile", "dist/mini"];
await $`bun ${args}`.quiet();
const size = Bun.file("dist/mini").size;
console.log(`dist/mini (${(size / 1048576).toFixed(1)} MiB)`);
