// The syscall probe (test/fixtures/syscall-probe.c): built once per test run with gcc -static and
// copied into a test's rootfs, where a container runs it as /probe NAME... → "NAME=0|ERRNO" lines.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const SOURCE = resolve(import.meta.dir, "../fixtures/syscall-probe.c");
let built: string | undefined;

/** Builds the probe (once) and copies it to ROOTFS/probe. */
export function installProbe(rootfs: string): void {
  if (!built || !existsSync(built)) {
    const out = join(mkdtempSync(join(tmpdir(), "mini-probe-")), "probe");
    const r = spawnSync("gcc", ["-static", "-O1", "-o", out, SOURCE], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`gcc syscall-probe.c: ${r.stderr || r.error}`);
    built = out;
  }
  copyFileSync(built, join(rootfs, "probe"));
}

/** "a=0\nb=EPERM\n" → { a: "0", b: "EPERM" } */
export function parseProbe(out: string): Record<string, string> {
  return Object.fromEntries(
    out
      .trim()
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => l.split("=") as [string, string]),
  );
}
