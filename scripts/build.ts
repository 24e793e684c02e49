// bun run build → dist/mini, one executable that runs without Bun installed. The C helper
// (src/shim/*.c: the detached-container monitor, exec, roexec) is built first, statically, and
// embedded in it.
import { $ } from "bun";

await $`mkdir -p dist && gcc -static -Os -s -Wall -Wextra -o dist/mini-shim src/shim/*.c`;
// No autoloading of .env, bunfig.toml, tsconfig.json or package.json from the current directory:
// a compiled Bun binary does the first two by default, and a bunfig.toml `preload` in whatever
// directory root runs mini from would run its code as root (test/integration/security.test.ts).
const noAutoload = ["dotenv", "bunfig", "tsconfig", "package-json"].map((k) => `--no-compile-autoload-${k}`);
// `mini --version`'s commit line.
const commit = (await $`git describe --always --dirty --abbrev=12`.nothrow().quiet().text()).trim() || "unknown";
const define = ["--define", `MINI_COMMIT=${JSON.stringify(commit)}`];
const args = [
  "build",
  "--compile",
  ...noAutoload,
  ...define,
  "--minify",
  "--bytecode",
  "src/main.ts",
  "--outfile",
  "dist/mini",
];
await $`bun ${args}`.quiet();
const size = Bun.file("dist/mini").size;
console.log(
  `dist/mini (${(size / 1048576).toFixed(1)} MiB, with mini-shim ${(Bun.file("dist/mini-shim").size / 1024).toFixed(0)} KiB)`,
);
