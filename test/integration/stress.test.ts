// Many container starts in a row and side by side, with and without a user namespace: every one
// must run its command (a Bun abort in the child stage, seen now and then with a user namespace,
// would show here as a failed start with "panic" or "abort" on stderr).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { leftBehind, NOTHING, type Snapshot, snapshot } from "../helpers/leaks.ts";
import { ensureBuilt, mini } from "../helpers/mini.ts";
import { cleanupRootfses, makeRootfs } from "../helpers/rootfs.ts";

let before: Snapshot;
let rootfs: string;
beforeAll(() => {
  ensureBuilt();
  // A copy under $TMPDIR: a --userns container's root (an unprivileged host uid) must reach it,
  // which the checkout's own directory may not allow (a clone in a 0700 directory).
  rootfs = makeRootfs();
  before = snapshot();
});
afterAll(cleanupRootfses);

describe("stress", () => {
  test("300 starts (150 with --userns), 3 at a time: all run, none aborts", async () => {
    const failures: string[] = [];
    const one = async (i: number) => {
      const flags = i % 2 ? ["--userns"] : [];
      const r = await mini(["run", ...flags, rootfs, "sh", "-c", "echo ok"]);
      if (r.code !== 0 || r.stdout !== "ok\n" || /panic|abort/i.test(r.stderr))
        failures.push(`#${i} ${flags.join(" ")} exit ${r.code}: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
    };
    for (let i = 0; i < 300; i += 3) await Promise.all([one(i), one(i + 1), one(i + 2)]);
    expect(failures).toEqual([]);
  }, 180_000);

  test("nothing is left behind", async () => {
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});
