// netecho (test/fixtures/netecho.c), built once per test run with gcc -static and copied into a
// test's rootfs as /netecho: TCP and UDP servers and clients inside containers, whose answers say
// which address the peer was seen from (what NAT did).
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const SOURCE = resolve(import.meta.dir, "../fixtures/netecho.c");
let built: string | undefined;

/** Builds netecho (once) and copies it to ROOTFS/netecho. */
export function installNetecho(rootfs: string): void {
  if (!built || !existsSync(built)) {
    const dir = mkdtempSync(join(tmpdir(), "mini-netecho-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, "netecho");
    const r = spawnSync("gcc", ["-static", "-O1", "-o", out, SOURCE], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`gcc netecho.c: ${r.stderr || r.error}`);
    built = out;
  }
  copyFileSync(built, join(rootfs, "netecho"));
}
