// Nothing hidden, nothing lost: a container whose record is corrupt or missing is listed (Dead)
// and removable with everything it still has; a `mini run IMAGE` killed before its record exists
// leaves nothing that blocks `rmi`; temp files of a killed import are swept by the next writer.
// Private stores (MINI_ROOT, MINI_RUN_ROOT).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { leftBehind, NOTHING, type Snapshot, snapshot } from "../helpers/leaks.ts";
import { ensureBuilt, MINI, mini, type Result } from "../helpers/mini.ts";
import { cleanupRootfses, makeRootfs } from "../helpers/rootfs.ts";
import { type PrivateStore, privateStore } from "../helpers/private-store.ts";
import { until } from "../helpers/until.ts";

let rootfs: string;
let dirs: string;
let before: Snapshot;
let env: Record<string, string>;
let store: PrivateStore;

beforeAll(() => {
  ensureBuilt();
  rootfs = makeRootfs();
  store = privateStore("lost");
  dirs = store.dir;
  env = store.env;
  before = snapshot();
});

afterAll(() => {
  cleanupRootfses();
  store.remove();
});

const m = (args: string[]): Promise<Result> => mini(args, { env, timeoutMs: 60_000 });
const record = (id: string) => `${dirs}/lib/containers/${id}/container.json`;

describe("a damaged record never hides a container", () => {
  for (const damage of ["corrupt", "missing"] as const) {
    test(`container.json ${damage}: ps -a lists it as Dead, inspect and rm -f work, nothing is left`, async () => {
      const r = await m(["run", "-d", rootfs, "sleep", "1000"]);
      const id = r.stdout.trim();
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      if (damage === "corrupt") writeFileSync(record(id), "{ not json");
      else unlinkSync(record(id));
      const ps = JSON.parse((await m(["ps", "-a", "--format", "json"])).stdout);
      expect(ps).toHaveLength(1);
      expect(ps[0].id).toBe(id);
      expect(ps[0].state).toBe("dead");
      expect(ps[0].status).toMatch(/^Dead \(record damaged; pid \d+ runs\)$/);
      // Plain ps shows it too: its process runs.
      expect((await m(["ps", "-q"])).stdout.trim()).toBe(id.slice(0, 12));
      const info = JSON.parse((await m(["inspect", id.slice(0, 12)])).stdout);
      expect(info[0].State.Status).toBe("dead");
      const plain = await m(["rm", id]);
      expect(plain.code).toBe(1);
      expect((await m(["rm", "-f", id])).code).toBe(0);
      expect((await m(["ps", "-aq"])).stdout).toBe("");
      expect(await leftBehind(before)).toEqual(NOTHING);
    });
  }
});

describe("an exec ends with its mini", () => {
  test("kill -9 of mini exec: the exec'd command and its shim go too (without -d)", async () => {
    const id = (await m(["run", "-d", rootfs, "sleep", "1000"])).stdout.trim();
    try {
      const p = Bun.spawn([MINI, "exec", id, "sleep", "4242"], {
        stdin: "ignore",
        stdout: "ignore",
        stderr: "ignore",
        env,
      });
      const inside = async () => (await m(["exec", id, "ps", "-o", "args"])).stdout;
      await until(async () => (await inside()).includes("sleep 4242"), { what: "the exec'd sleep" });
      p.kill("SIGKILL");
      await p.exited;
      await until(async () => !(await inside()).includes("sleep 4242"), { what: "the exec'd sleep to die with mini" });
      // exec -d is the user's to keep.
      expect((await m(["exec", "-d", id, "sleep", "4343"])).code).toBe(0);
      await until(async () => (await inside()).includes("sleep 4343"), { what: "the detached exec" });
    } finally {
      await m(["rm", "-f", id]);
    }
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});

describe("a mini killed before the record exists", () => {
  test("mini run IMAGE killed right after its overlay dirs: ps -a is empty, rmi works, the dirs go", async () => {
    expect((await m(["import", rootfs, "lost-test"])).code).toBe(0);
    const p = Bun.spawn([MINI, "--log-level", "debug", "run", "lost-test", "sleep", "100"], {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
      env,
    });
    const reader = (p.stderr as ReadableStream<Uint8Array>).getReader();
    let text = "";
    while (!text.includes("overlay dirs for image")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    p.kill("SIGKILL");
    await p.exited;
    expect(text).toContain("overlay dirs for image");
    const left = readdirSync(`${dirs}/lib/containers`).filter((n) => /^[0-9a-f]{64}$/.test(n));
    expect(left).toHaveLength(1); // what the killed mini made
    expect((await m(["ps", "-aq"])).stdout).toBe("");
    expect(existsSync(`${dirs}/lib/containers/${left[0]}`)).toBe(false); // swept by ps
    const rmi = await m(["rmi", "lost-test"]);
    expect(rmi.stderr).toBe("");
    expect(rmi.code).toBe(0);
    expect(await leftBehind(before)).toEqual(NOTHING);
  });

  test("a killed import's temp files are swept by the next import", async () => {
    const p = Bun.spawn([MINI, "import", "-", "half-import"], {
      stdin: "pipe",
      stdout: "ignore",
      stderr: "ignore",
      env,
    });
    const sink = p.stdin as import("bun").FileSink;
    // A tar stream that never ends: one header of a 1 MiB file, then half of its body.
    const header = Buffer.alloc(512);
    header.write("big", 0);
    header.write("0000644\0", 100);
    header.write("0000000\0", 108);
    header.write("0000000\0", 116);
    header.write(`${(1 << 20).toString(8).padStart(11, "0")}\0`, 124);
    header.write("00000000000\0", 136);
    header.write("0", 156);
    header.write("ustar\0", 257);
    header.write("00", 263);
    let sum = 0;
    header.fill(" ", 148, 156);
    for (const b of header) sum += b;
    header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
    sink.write(header);
    sink.write(Buffer.alloc(512 * 1024, 1));
    sink.flush();
    const tmp = `${dirs}/lib/tmp`;
    await until(() => existsSync(tmp) && readdirSync(tmp).length > 0, { what: "the import's temp files" });
    p.kill("SIGKILL");
    await p.exited;
    expect(readdirSync(tmp).length).toBeGreaterThan(0);
    expect((await m(["import", rootfs, "whole-import"])).code).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
    await m(["rmi", "whole-import"]);
  });
});

describe("a full disk", () => {
  test("ENOSPC names the file mini was writing; nothing is left behind", async () => {
    const full = mkdtempSync(`${tmpdir()}/mini-full-`);
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", full]).exitCode).toBe(0);
    try {
      Bun.spawnSync(["dd", "if=/dev/zero", `of=${full}/filler`, "bs=4k"], { stderr: "ignore" });
      const r = await mini(["run", rootfs, "true"], {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", MINI_ROOT: `${full}/lib`, MINI_RUN_ROOT: `${dirs}/run` },
      });
      expect(r.code).toBe(125);
      expect(r.stderr.trim()).toMatch(new RegExp(`^mini: (write|mkdir|open) ${full}/lib/\\S+: ENOSPC$`));
    } finally {
      Bun.spawnSync(["umount", full]);
      rmSync(full, { recursive: true, force: true });
    }
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});
