// netecho (test/fixtures/netecho.c), built with gcc -static straight into a test's rootfs as
// /netecho: TCP and UDP servers and clients inside containers, whose answers say which address the
// peer was seen from (what NAT did). Nothing is written outside the rootfs.
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";

const SOURCE = resolve(import.meta.dir, "../fixtures/netecho.c");

/** Builds netecho into ROOTFS/netecho. */
export function installNetecho(rootfs: string): void {
  const r = spawnSync("gcc", ["-static", "-O1", "-o", join(rootfs, "netecho"), SOURCE], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`gcc netecho.c: ${r.stderr || r.error}`);
}
