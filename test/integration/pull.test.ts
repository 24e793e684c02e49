// mini pull / mini run IMAGE against a real Distribution registry on 127.0.0.1, with images
// built in the tests, auth, faults, concurrency and hostile layers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { defaultNetworkEnv, ensureBuilt, MINI, mini, readUntil } from "../helpers/mini.ts";
import { leftBehind, NOTHING, snapshot, type Snapshot } from "../helpers/leaks.ts";
import { startRegistry, type Registry } from "../helpers/registry/server.ts";
import {
  HOSTILE,
  HOSTILE_KINDS,
  MULTI_LAYER,
  pushBusybox,
  pushHostileLayer,
  pushMultiLayer,
  pushTwoPlatform,
  TWO_PLATFORM,
} from "../helpers/registry/images.ts";
import { startFaultyProxy, startTokenServer } from "../helpers/registry/faulty-proxy.ts";
import { disposeSessions, Session } from "../helpers/pty-session.ts";

let reg: Registry;
let store: string;
let before: Snapshot;
const stores: string[] = [];

beforeAll(async () => {
  ensureBuilt();
  before = snapshot();
  reg = await startRegistry();
  store = freshStore();
}, 120000);

afterAll(async () => {
  await reg?.stop();
  for (const s of stores) rmSync(s, { recursive: true, force: true });
});

function freshStore(): string {
  const s = mkdtempSync(`${tmpdir()}/mini-store-`);
  stores.push(s);
  return s;
}

/** mini ARGS with the store `opts.store` (default: the shared one); killed after 120 s, longer than any test here. */
const m = (args: string[], opts: { store?: string; env?: Record<string, string> } = {}) =>
  mini(args, { env: { MINI_ROOT: opts.store ?? store, ...opts.env }, timeoutMs: 120_000 });

/** Nothing half-written: no temp entries, every layer dir named by a full digest. */
function storeIsClean(s: string): void {
  expect(readdirSync(`${s}/tmp`).filter((n) => !n.startsWith("images.json"))).toEqual([]);
  for (const l of readdirSync(`${s}/layers`)) expect(l).toMatch(/^[0-9a-f]{64}$/);
}

describe("pull and run", () => {
  test("busybox (gzip): pull, images, run, re-pull", async () => {
    const img = await pushBusybox(reg.host, "t/busybox", "1");
    const p = await m(["pull", "-q", img.ref]);
    expect(p.code).toBe(0);
    expect(p.stdout.trim()).toBe(img.ref);
    const ls = await m(["images"]);
    expect(ls.stdout).toContain(`${reg.host}/t/busybox`);
    const r = await m(["run", img.ref, "sh", "-c", "cat /etc/os-release | grep ^ID=; echo $$"]);
    expect(r.stdout).toBe("ID=mini-busybox\n1\n");
    const again = await m(["pull", img.ref]);
    expect(again.stderr).toContain("already exists");
    storeIsClean(store);
  }, 60000);

  test("zstd layers", async () => {
    const img = await pushBusybox(reg.host, "t/busybox-zstd", "1", { compression: "zstd" });
    const r = await m(["run", "-q", img.ref, "cat", "/etc/os-release"], { store: freshStore() });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("ID=mini-busybox");
  }, 60000);

  test("multi-layer: whiteouts, opaque dirs, links, modes, owners and the image config", async () => {
    const img = await pushMultiLayer(reg.host, "t/multi", "1");
    const s = freshStore();
    const run = await m(["run", "-q", img.ref], { store: s });
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe(MULTI_LAYER.defaultOutput);
    const checks = [
      ...Object.entries(MULTI_LAYER.files).map(
        ([p, _c]) => `printf '%s=' ${p}; cat ${p} | head -c 100 | tr '\\n' '|'; echo`,
      ),
      ...MULTI_LAYER.absent.map((p) => `test -e ${p} && echo "PRESENT ${p}" || echo "absent ${p}"`),
      ...Object.entries(MULTI_LAYER.symlinks).map(([p]) => `echo "link ${p} -> $(readlink ${p})"`),
      ...Object.entries(MULTI_LAYER.modes).map(([p]) => `echo "mode ${p} $(stat -c %a ${p})"`),
      ...Object.entries(MULTI_LAYER.owners).map(([p]) => `echo "owner ${p} $(stat -c %u:%g ${p})"`),
      `grep -c ${MULTI_LAYER.osReleaseLine} /etc/os-release`,
      `echo "ls-keep $(ls /opt/keep | tr '\\n' ' ')"`,
    ].join("; ");
    const r = await m(["run", "-q", "--entrypoint", "", "-u", "0", img.ref, "sh", "-c", checks], { store: s });
    expect(r.code).toBe(0);
    for (const [p, c] of Object.entries(MULTI_LAYER.files)) expect(r.stdout).toContain(`${p}=${c.replace(/\n/g, "|")}`);
    for (const p of MULTI_LAYER.absent) expect(r.stdout).toContain(`absent ${p}`);
    for (const [p, t] of Object.entries(MULTI_LAYER.symlinks)) expect(r.stdout).toContain(`link ${p} -> ${t}`);
    for (const [p, mode] of Object.entries(MULTI_LAYER.modes))
      expect(r.stdout).toContain(`mode ${p} ${mode.toString(8)}`);
    for (const [p, [u, g]] of Object.entries(MULTI_LAYER.owners)) expect(r.stdout).toContain(`owner ${p} ${u}:${g}`);
    expect(r.stdout).toContain("ls-keep replaced ");
    // The replaced directory holds only its new content.
    const old = await m(["run", "-q", "--entrypoint", "ls", img.ref, "/opt/old"], { store: s });
    expect(old.stdout.trim()).toBe("new");
    // A container's writes stay in its own upper dir: the next container sees the image again.
    await m(["run", "-q", "--entrypoint", "", "-u", "0", img.ref, "sh", "-c", "rm /etc/motd"], { store: s });
    expect((await m(["run", "-q", "--entrypoint", "cat", img.ref, "/etc/motd"], { store: s })).stdout).toBe(
      "multi-layer motd\n",
    );
    expect(readdirSync(`${s}/containers`)).toEqual([]);
  }, 90000);

  test("two-platform index: the host's, --platform, and a clear error for a missing one", async () => {
    const img = await pushTwoPlatform(reg.host, "t/multi-arch", "1");
    const s = freshStore();
    const r = await m(["run", "-q", img.ref, "cat", TWO_PLATFORM.markerPath], { store: s });
    expect(r.stdout.trim()).toBe(process.arch === "arm64" ? "linux/arm64/v8" : "linux/amd64");
    const other = await m(["pull", "-q", "--platform", "linux/arm64", img.ref], { store: freshStore() });
    expect(other.code).toBe(0);
    const none = await m(["pull", "-q", "--platform", "linux/s390x", img.ref], { store: freshStore() });
    expect(none.code).toBe(125);
    expect(none.stderr).toContain("linux/s390x");
    expect(none.stderr).toContain("linux/amd64");
  }, 60000);

  test("by digest; unknown tag and unknown repository name the cause", async () => {
    const img = await pushBusybox(reg.host, "t/bydigest", "1");
    expect((await m(["pull", "-q", img.refByDigest], { store: freshStore() })).code).toBe(0);
    const tag = await m(["pull", "-q", `${reg.host}/t/bydigest:nope`], { store: freshStore() });
    expect(tag.code).toBe(125);
    expect(tag.stderr).toMatch(/manifest unknown|not found/i);
    const name = await m(["pull", "-q", `${reg.host}/no/such:1`], { store: freshStore() });
    expect(name.code).toBe(125);
    expect(name.stderr.trim().split("\n").length).toBe(1);
  }, 60000);

  test("--pull never and --pull always", async () => {
    const s = freshStore();
    const never = await m(["run", "--pull", "never", `${reg.host}/t/busybox:1`, "true"], { store: s });
    expect(never.code).toBe(125);
    expect(never.stderr).toContain("--pull never");
    expect((await m(["run", "-q", "--pull", "always", `${reg.host}/t/busybox:1`, "true"], { store: s })).code).toBe(0);
  }, 60000);

  test("rmi refuses an image a running container uses", async () => {
    const s = freshStore();
    await m(["pull", "-q", `${reg.host}/t/busybox:1`], { store: s });
    const proc = Bun.spawn([MINI, "run", "-i", `${reg.host}/t/busybox:1`, "sh", "-c", "echo up; read x || true"], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "inherit",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", MINI_ROOT: s, ...defaultNetworkEnv() },
    });
    try {
      await readUntil(proc.stdout, "up");
      const rm = await m(["rmi", `${reg.host}/t/busybox:1`], { store: s });
      expect(rm.code).toBe(125);
      expect(rm.stderr).toContain("in use");
    } finally {
      proc.stdin.end();
      await proc.exited;
    }
    expect((await m(["rmi", `${reg.host}/t/busybox:1`], { store: s })).code).toBe(0);
    expect(readdirSync(`${s}/locks`)).toEqual([]);
  }, 60000);

  test("rmi refuses nothing unknown, removes layers no image uses; prune", async () => {
    const s = freshStore();
    await m(["pull", "-q", `${reg.host}/t/busybox:1`], { store: s });
    expect((await m(["rmi", "nope:1"], { store: s })).code).toBe(125);
    const rm = await m(["rmi", `${reg.host}/t/busybox:1`], { store: s });
    expect(rm.code).toBe(0);
    expect(rm.stdout).toContain("Deleted");
    expect((await m(["images", "-q"], { store: s })).stdout).toBe("");
  }, 60000);
});

describe("progress", () => {
  test("bars with bytes and rate on a terminal, plain lines in a pipe, nothing with -q", async () => {
    const pushed = await pushBusybox(reg.host, "t/progress", "1");
    // 512 KiB/s: the ~1 MiB layer takes ~2 s, long enough for several redraws.
    const proxy = await startFaultyProxy(reg.host, "slow", { delayMs: 0, bytesPerSec: 512 << 10 });
    try {
      const ref = `${proxy.host}/t/progress:1`;
      const s = new Session(["pull", ref], { PATH: process.env.PATH ?? "/usr/bin:/bin", MINI_ROOT: freshStore() });
      try {
        const bar = await s.waitFor(
          /([0-9a-f]{12}): \[=*>? *\] (\d+\.\d) MiB\/(\d+\.\d) MiB (\d+\.\d) MiB\/s/,
          0,
          20000,
        );
        expect(Number(bar[3])).toBeGreaterThan(0.5);
        await s.waitFor(/pull complete \d+\.\d MiB/, 0, 30000);
        expect(await s.proc.exited).toBe(0);
        expect(s.out).toContain(`${ref}: `);
      } finally {
        await disposeSessions();
      }

      const plain = await m(["pull", ref], { store: freshStore() });
      expect(plain.code).toBe(0);
      expect(plain.stderr).toMatch(/^pulling .*\n[0-9a-f]{12}: pulled \d+\.\d MiB\n/);
      expect(plain.stderr).not.toContain("\x1b[");
      const quiet = await m(["pull", "-q", ref], { store: freshStore() });
      expect([quiet.code, quiet.stderr, quiet.stdout.trim()]).toEqual([0, "", ref]);
      expect(pushed.ref).toContain("t/progress");
    } finally {
      await proxy.stop();
    }
  }, 90000);
});

describe("auth", () => {
  test("Basic (htpasswd): refused without credentials, pulls after mini login", async () => {
    const authed = await startRegistry({ htpasswd: { user: "u", password: "p" } });
    const cfg = mkdtempSync(`${tmpdir()}/mini-cfg-`);
    try {
      const img = await pushBusybox(authed.host, "t/private", "1", { creds: { user: "u", password: "p" } });
      const env = { MINI_CONFIG_DIR: cfg, HOME: cfg };
      const denied = await m(["pull", "-q", img.ref], { store: freshStore(), env });
      expect(denied.code).toBe(125);
      expect(denied.stderr).toMatch(/unauthorized|401/);
      expect((await m(["login", "-u", "u", "-p", "p", authed.host], { env })).code).toBe(0);
      expect((await m(["pull", "-q", img.ref], { store: freshStore(), env })).code).toBe(0);
    } finally {
      await authed.stop();
      rmSync(cfg, { recursive: true, force: true });
    }
  }, 90000);

  test("Bearer: a token endpoint run by the test", async () => {
    const img = await pushBusybox(reg.host, "t/bearer", "1");
    const tokens = await startTokenServer(reg.host);
    try {
      const r = await m(["pull", "-q", `${tokens.host}/t/bearer:1`], { store: freshStore() });
      expect(r.code).toBe(0);
      expect(tokens.stats.tokenRequests.length).toBeGreaterThan(0);
      expect(tokens.stats.tokenRequests[0].scopes.join()).toContain("repository:t/bearer:pull");
    } finally {
      await tokens.stop();
    }
    expect(img.ref).toContain("t/bearer");
  }, 60000);
});

describe("faults", () => {
  test("a corrupted blob is rejected and nothing is stored", async () => {
    await pushBusybox(reg.host, "t/fault", "1");
    const proxy = await startFaultyProxy(reg.host, "corrupt-blob");
    const s = freshStore();
    try {
      const r = await m(["pull", "-q", `${proxy.host}/t/fault:1`], { store: s });
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/digest|mismatch|gzip/i);
      expect(readdirSync(`${s}/layers`)).toEqual([]);
      expect((await m(["images", "-q"], { store: s })).stdout).toBe("");
      storeIsClean(s);
    } finally {
      await proxy.stop();
    }
  }, 60000);

  test("a blob longer than its descriptor is refused and nothing is stored", async () => {
    await pushBusybox(reg.host, "t/fault", "1");
    const res = await fetch(`http://${reg.host}/v2/t/fault/manifests/1`, {
      headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    const layers = ((await res.json()) as { layers: { digest: string }[] }).layers.map((l) => l.digest);
    for (const [fault, said] of [
      ["oversize-blob", /announced \d+ bytes, the manifest says/],
      ["oversize-blob-chunked", /sent more than the manifest's/],
    ] as const) {
      const proxy = await startFaultyProxy(reg.host, fault, { digests: layers });
      const s = freshStore();
      try {
        const r = await m(["pull", "-q", `${proxy.host}/t/fault:1`], { store: s });
        expect(r.code).toBe(125);
        expect(r.stderr.trim().split("\n").length).toBe(1);
        expect(r.stderr).toMatch(said);
        expect(proxy.stats.log.filter((l) => l.startsWith("GET") && l.includes(layers[0])).length).toBe(1); // not retried
        expect(readdirSync(`${s}/layers`)).toEqual([]);
        storeIsClean(s);
      } finally {
        await proxy.stop();
      }
    }
  }, 60000);

  test("a download cut mid-blob is retried: dropped (gzip and zstd layers) or ended short", async () => {
    const gz = await pushBusybox(reg.host, "t/fault", "1");
    const zs = await pushBusybox(reg.host, "t/fault-zstd", "1", { compression: "zstd" });
    for (const [fault, image] of [
      ["drop-mid-blob-once", "t/fault"],
      ["drop-mid-blob-once", "t/fault-zstd"],
      ["short-blob-once", "t/fault"],
    ] as const) {
      const res = await fetch(`http://${reg.host}/v2/${image}/manifests/1`, {
        headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
      });
      const layers = ((await res.json()) as { layers: { digest: string }[] }).layers.map((l) => l.digest);
      const proxy = await startFaultyProxy(reg.host, fault, { digests: layers });
      try {
        const r = await m(["pull", "-q", `${proxy.host}/${image}:1`], { store: freshStore() });
        expect([fault, image, r.code, r.stderr]).toEqual([fault, image, 0, ""]);
        expect(proxy.stats.log.filter((l) => l.startsWith("GET") && l.includes(layers[0])).length).toBe(2);
      } finally {
        await proxy.stop();
      }
    }
    expect(gz.ref && zs.ref).toBeTruthy();
  }, 60000);

  test("always dropped: a clean error, nothing half-written", async () => {
    await pushBusybox(reg.host, "t/fault", "1");
    const proxy = await startFaultyProxy(reg.host, "drop-mid-blob-always");
    const s = freshStore();
    try {
      const r = await m(["pull", "-q", `${proxy.host}/t/fault:1`], { store: s });
      expect(r.code).toBe(125);
      expect(r.stderr.trim().split("\n").length).toBe(1);
      storeIsClean(s);
      expect(readdirSync(`${s}/layers`)).toEqual([]);
    } finally {
      await proxy.stop();
    }
  }, 60000);

  test("500 once is retried; 500 always and 404 fail clearly", async () => {
    await pushBusybox(reg.host, "t/fault", "1");
    for (const [fault, ok] of [
      ["500-once", true],
      ["500-always", false],
      ["404-manifest", false],
    ] as const) {
      const proxy = await startFaultyProxy(reg.host, fault);
      try {
        const r = await m(["pull", "-q", `${proxy.host}/t/fault:1`], { store: freshStore() });
        expect(r.code).toBe(ok ? 0 : 125);
        if (!ok) expect(r.stderr).toMatch(fault === "404-manifest" ? /manifest unknown|404/ : /500/);
      } finally {
        await proxy.stop();
      }
    }
  }, 90000);

  test("10 concurrent pulls of one image: all succeed, one copy stored", async () => {
    const s = freshStore();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => m(["pull", "-q", `${reg.host}/t/multi:1`], { store: s })),
    );
    for (const r of results) expect(r.code).toBe(0);
    expect(readdirSync(`${s}/layers`).length).toBe(MULTI_LAYER.layers);
    expect((await m(["images", "-q"], { store: s })).stdout.trim().split("\n").length).toBe(1);
    storeIsClean(s);
  }, 120000);
});

describe("hostile layers", () => {
  for (const kind of HOSTILE_KINDS) {
    test(`${kind}: refused, nothing written outside the layer`, async () => {
      const passwd = readFileSync("/etc/passwd");
      const shadow = readFileSync("/etc/shadow");
      const img = await pushHostileLayer(reg.host, `t/hostile-${kind}`, "1", kind);
      const s = freshStore();
      const r = await m(["pull", "-q", img.ref], { store: s });
      expect(r.code).toBe(125);
      expect(r.stderr.trim().split("\n").length).toBe(1);
      expect(readFileSync("/etc/passwd")).toEqual(passwd);
      expect(readFileSync("/etc/shadow")).toEqual(shadow);
      if (img.canary) expect(readdirSync(img.canary)).toEqual([]);
      for (const rel of HOSTILE.dotdot) {
        expect(existsSync(`${s}/tmp/${rel}`)).toBe(false);
        expect(existsSync(`${s}/layers/${rel}`)).toBe(false);
      }
      // Only the ordinary base layer may have been kept; the hostile one never appears.
      expect(readdirSync(`${s}/layers`).length).toBeLessThanOrEqual(1);
      storeIsClean(s);
      expect(existsSync(`${s}/mini-hostile-dotdot`)).toBe(false);
      expect(lstatSync(s).isDirectory()).toBe(true);
    }, 60000);
  }
});

test("nothing is left behind", async () => {
  expect(await leftBehind(before)).toEqual(NOTHING);
});
