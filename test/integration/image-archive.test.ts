// Images from files and back, as root with private stores (MINI_ROOT): import of a rootfs tar,
// save → load into an empty store (and skopeo reading the archive), a corrupted archive, tag,
// and login/logout against a local registry with htpasswd.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ensureBuilt, MINI, type Result, run } from "../helpers/mini.ts";
import { leftBehind, NOTHING, snapshot, type Snapshot } from "../helpers/leaks.ts";
import { startRegistry, type Registry } from "../helpers/registry/server.ts";
import { readTar } from "../../src/image/tar.ts";

const BUSYBOX = resolve(import.meta.dir, "../../images/out/busybox");
const tempDirs: string[] = [];
let before: Snapshot;
let work: string;
let rootA: string, rootB: string;
let configDir: string;
let rootfsTar: string;
let archive: string;

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Runs a command with this file's auth config and, given `root`, that image store. */
const exec = (argv: string[], opts: { root?: string; stdin?: Uint8Array } = {}): Promise<Result> =>
  run(argv, {
    stdin: opts.stdin,
    env: { MINI_CONFIG_DIR: configDir, DOCKER_CONFIG: configDir, ...(opts.root && { MINI_ROOT: opts.root }) },
    timeoutMs: 60000,
  });
const mini = (root: string, args: string[], stdin?: Uint8Array) => exec([MINI, ...args], { root, stdin });

/** What a store holds: blobs, layers, images (empty dirs don't count). */
function storeContents(root: string): { blobs: string[]; layers: string[]; tmp: string[]; index: boolean } {
  const ls = (d: string) => {
    try {
      return readdirSync(join(root, d));
    } catch {
      return [];
    }
  };
  return {
    blobs: ls("blobs/sha256"),
    layers: ls("layers"),
    tmp: ls("tmp"),
    index: existsSync(join(root, "images.json")),
  };
}

beforeAll(async () => {
  ensureBuilt();
  before = snapshot();
  work = tempDir("mini-archive-");
  rootA = tempDir("mini-root-a-");
  rootB = tempDir("mini-root-b-");
  configDir = tempDir("mini-config-");
  rootfsTar = join(work, "busybox.tar");
  const t = await exec(["tar", "-C", BUSYBOX, "-cf", rootfsTar, "."]);
  expect(t.code).toBe(0);
  archive = join(work, "saved.tar");
});

afterAll(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

describe("mini import", () => {
  test("a rootfs tar becomes an image that runs", async () => {
    const r = await mini(rootA, ["import", rootfsTar, "imported/busybox:v1"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const run = await mini(rootA, ["run", "imported/busybox:v1", "sh", "-c", "cat /etc/os-release"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("mini busybox");
    const inspect = JSON.parse((await mini(rootA, ["image", "inspect", "imported/busybox:v1"])).stdout)[0];
    expect(inspect).toMatchObject({
      id: r.stdout.trim(),
      repoTags: ["docker.io/imported/busybox:v1"],
      platform: { os: "linux", architecture: "amd64" },
      config: {
        os: "linux",
        architecture: "amd64",
        config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] },
      },
    });
    expect(inspect.config.config.Cmd).toBeUndefined();
    expect(storeContents(rootA).tmp).toEqual([]);
  }, 60000);

  test("from stdin, gzip-compressed, with --change CMD", async () => {
    const gz = Bun.gzipSync(readFileSync(rootfsTar));
    const r = await mini(
      rootA,
      ["import", "-c", 'CMD ["sh", "-c", "echo default command; cat /etc/hostname"]', "-", "gz:latest"],
      gz,
    );
    expect(r).toMatchObject({ code: 0, stderr: "" });
    const run = await mini(rootA, ["run", "gz"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^default command\n[0-9a-f]{12}\n$/);
    const img = JSON.parse((await mini(rootA, ["image", "inspect", "gz"])).stdout)[0];
    const manifest = JSON.parse(readFileSync(join(rootA, "blobs/sha256", img.manifestDigest.slice(7)), "utf8"));
    expect(manifest.layers[0].mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
    // The blob is stored as given: the gzip bytes.
    expect(manifest.layers[0].digest).toBe(`sha256:${new Bun.CryptoHasher("sha256").update(gz).digest("hex")}`);
  }, 60000);

  test("a directory imports too; bad input and bad --change fail cleanly", async () => {
    const r = await mini(rootA, ["import", BUSYBOX, "fromdir:1"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect((await mini(rootA, ["run", "fromdir:1", "cat", "/etc/hostname"])).stdout).toMatch(/^[0-9a-f]{12}\n$/);
    const junk = join(work, "junk.tar");
    writeFileSync(junk, "this is not a tar archive, not at all".repeat(40));
    const bad = await mini(rootA, ["import", junk, "junk:1"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/tar/);
    const change = await mini(rootA, ["import", "-c", "RUN true", rootfsTar, "x:1"]);
    expect(change.code).toBe(125);
    expect(change.stderr).toContain("unsupported instruction RUN");
    expect((await mini(rootA, ["image", "inspect", "junk:1"])).code).toBe(125);
    expect(storeContents(rootA).tmp).toEqual([]);
  }, 60000);
});

describe("mini save / load", () => {
  test("save writes an OCI layout archive with docker's manifest.json, that skopeo reads", async () => {
    const r = await mini(rootA, ["save", "-o", archive, "imported/busybox:v1"]);
    expect(r).toMatchObject({ code: 0, stdout: "", stderr: "" });
    const names: string[] = [];
    const files: Record<string, string> = {};
    for await (const e of readTar(Bun.file(archive).stream())) {
      names.push(e.name);
      if (!e.name.startsWith("blobs/"))
        files[e.name] = await new Response(e.body() as unknown as ReadableStream).text();
    }
    expect(names.slice(0, 3)).toEqual(["oci-layout", "blobs/", "blobs/sha256/"]);
    expect(names.slice(-2)).toEqual(["index.json", "manifest.json"]);
    expect(JSON.parse(files["oci-layout"])).toEqual({ imageLayoutVersion: "1.0.0" });
    const index = JSON.parse(files["index.json"]);
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0].annotations).toEqual({
      "io.containerd.image.name": "docker.io/imported/busybox:v1",
      "org.opencontainers.image.ref.name": "docker.io/imported/busybox:v1",
    });
    const img = JSON.parse((await mini(rootA, ["image", "inspect", "imported/busybox:v1"])).stdout)[0];
    expect(index.manifests[0].digest).toBe(img.manifestDigest);
    const dm = JSON.parse(files["manifest.json"]);
    expect(dm).toEqual([
      {
        Config: `blobs/sha256/${img.id.slice(7)}`,
        RepoTags: ["imported/busybox:v1"],
        Layers: [expect.stringMatching(/^blobs\/sha256\/[0-9a-f]{64}$/)],
      },
    ]);
    for (const b of [dm[0].Config, dm[0].Layers[0], `blobs/sha256/${img.manifestDigest.slice(7)}`])
      expect(names).toContain(b);

    const sk = await exec(["skopeo", "inspect", `oci-archive:${archive}`]);
    expect(sk.stderr).toBe("");
    expect(sk.code).toBe(0);
    expect(JSON.parse(sk.stdout)).toMatchObject({ Digest: img.manifestDigest, Architecture: "amd64", Os: "linux" });
    const skRef = await exec(["skopeo", "inspect", `oci-archive:${archive}:docker.io/imported/busybox:v1`]);
    expect(skRef.code).toBe(0);
  }, 60000);

  test("save to a pipe gives the same bytes; to nowhere, an unknown image or a missing blob, an error", async () => {
    const piped = await exec(["sh", "-c", `"${MINI}" save imported/busybox:v1 | sha256sum`], { root: rootA });
    expect(piped.code).toBe(0);
    expect(piped.stdout.split(" ")[0]).toBe(new Bun.CryptoHasher("sha256").update(readFileSync(archive)).digest("hex"));
    const none = await mini(rootA, ["save", "-o", join(work, "none.tar"), "no/such:image"]);
    expect(none.code).toBe(125);
    expect(none.stderr).toContain("no such image: no/such:image");
    expect(existsSync(join(work, "none.tar"))).toBe(false);

    // A store whose layer blob went missing: the image runs, but can't be saved.
    const root = tempDir("mini-root-noblob-");
    expect((await mini(root, ["import", rootfsTar, "noblob:1"])).code).toBe(0);
    const img = JSON.parse((await mini(root, ["image", "inspect", "noblob:1"])).stdout)[0];
    const layer = JSON.parse(readFileSync(join(root, "blobs/sha256", img.manifestDigest.slice(7)), "utf8")).layers[0]
      .digest;
    rmSync(join(root, "blobs/sha256", layer.slice(7)));
    const r = await mini(root, ["save", "-o", join(work, "noblob.tar"), "noblob:1"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain(`layer blob ${layer} is not in the store`);
    expect(existsSync(join(work, "noblob.tar"))).toBe(false);
    expect(readdirSync(work).filter((n) => n.includes(".tmp-"))).toEqual([]);
  }, 60000);

  test("load into an empty store, then run", async () => {
    const r = await mini(rootB, ["load", "-i", archive]);
    expect(r).toMatchObject({ code: 0, stdout: "Loaded image: imported/busybox:v1\n" });
    const run = await mini(rootB, ["run", "imported/busybox:v1", "sh", "-c", "cat /etc/os-release"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("mini busybox");
    const a = JSON.parse((await mini(rootA, ["image", "inspect", "imported/busybox:v1"])).stdout)[0];
    const b = JSON.parse((await mini(rootB, ["image", "inspect", "imported/busybox:v1"])).stdout)[0];
    expect(b.id).toBe(a.id);
    expect(b.manifestDigest).toBe(a.manifestDigest);
    expect(b.layers).toEqual(a.layers);
    // Loading again (from stdin, gzip-compressed) changes nothing.
    const again = await mini(rootB, ["load"], Bun.gzipSync(readFileSync(archive)));
    expect(again).toMatchObject({ code: 0, stdout: "Loaded image: imported/busybox:v1\n" });
    expect(storeContents(rootB).tmp).toEqual([]);
  }, 60000);

  test("load reads skopeo's docker-archive and OCI layout directories", async () => {
    const root = tempDir("mini-root-skopeo-");
    const dockerTar = join(work, "docker.tar");
    const layoutDir = join(work, "layout");
    expect(
      (await exec(["skopeo", "copy", "-q", `oci-archive:${archive}`, `docker-archive:${dockerTar}:other/name:2`])).code,
    ).toBe(0);
    expect((await exec(["skopeo", "copy", "-q", `oci-archive:${archive}`, `oci:${layoutDir}:dir:3`])).code).toBe(0);
    const d = await mini(root, ["load", "-i", dockerTar]);
    expect(d).toMatchObject({ code: 0, stdout: "Loaded image: other/name:2\n" });
    expect((await mini(root, ["run", "other/name:2", "cat", "/etc/hostname"])).stdout).toMatch(/^[0-9a-f]{12}\n$/);
    const o = await mini(root, ["load", "-i", layoutDir]);
    expect(o).toMatchObject({ code: 0, stdout: "Loaded image: dir:3\n" });
    expect((await mini(root, ["run", "dir:3", "cat", "/etc/hostname"])).stdout).toMatch(/^[0-9a-f]{12}\n$/);
  }, 60000);

  test("a corrupted layer blob fails with a digest error and stores nothing", async () => {
    const bytes = new Uint8Array(readFileSync(archive));
    let target = -1;
    for await (const e of readTar(Bun.file(archive).stream())) if (e.size > 100_000) target = e.offset + 512 + 5000;
    expect(target).toBeGreaterThan(0);
    bytes[target] ^= 0xff;
    const bad = join(work, "corrupt.tar");
    writeFileSync(bad, bytes);
    const root = tempDir("mini-root-corrupt-");
    const r = await mini(root, ["load", "-i", bad]);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/digest mismatch for layer blobs\/sha256\/[0-9a-f]{64}: expected sha256:/);
    expect(r.stdout).toBe("");
    expect(storeContents(root)).toEqual({ blobs: [], layers: [], tmp: [], index: false });
    // Not an archive at all.
    const junk = await mini(root, ["load"], new TextEncoder().encode("hello"));
    expect(junk.code).toBe(125);
    expect(storeContents(root)).toEqual({ blobs: [], layers: [], tmp: [], index: false });
  }, 60000);
});

describe("mini tag", () => {
  test("adds a name, moves it from another image, and refuses unknown sources", async () => {
    expect(await mini(rootA, ["tag", "imported/busybox:v1", "localhost:5000/again:v2"])).toMatchObject({
      code: 0,
      stdout: "",
      stderr: "",
    });
    const img = JSON.parse((await mini(rootA, ["image", "inspect", "localhost:5000/again:v2"])).stdout)[0];
    expect(img.repoTags).toEqual(["docker.io/imported/busybox:v1", "localhost:5000/again:v2"]);
    expect((await mini(rootA, ["run", "localhost:5000/again:v2", "true"])).code).toBe(0);
    // By id prefix, onto a name another image holds: the name moves.
    const gz = JSON.parse((await mini(rootA, ["image", "inspect", "gz"])).stdout)[0];
    expect((await mini(rootA, ["tag", gz.id.slice(7, 19), "localhost:5000/again:v2"])).code).toBe(0);
    const after = JSON.parse((await mini(rootA, ["image", "inspect", "imported/busybox:v1", "gz"])).stdout);
    expect(after[0].repoTags).toEqual(["docker.io/imported/busybox:v1"]);
    expect(after[1].repoTags).toEqual(["docker.io/library/gz:latest", "localhost:5000/again:v2"]);
    const missing = await mini(rootA, ["tag", "nope:1", "x:1"]);
    expect(missing.code).toBe(125);
    expect(missing.stderr).toContain("no such image: nope:1");
    expect((await mini(rootA, ["tag", "gz"])).code).toBe(125);
  }, 60000);
});

describe("mini login / logout", () => {
  let reg: Registry;
  beforeAll(async () => {
    reg = await startRegistry({ htpasswd: { user: "alice", password: "s3cret" } });
  });
  afterAll(async () => {
    await reg?.stop();
  });
  const authFile = () => join(configDir, "auth.json");

  test("a wrong password fails and stores nothing", async () => {
    const r = await mini(
      rootA,
      ["login", "-u", "alice", "--password-stdin", reg.host],
      new TextEncoder().encode("wrong\n"),
    );
    expect(r.code).toBe(125);
    expect(r.stderr).toContain(`login failed for ${reg.host}`);
    expect(existsSync(authFile())).toBe(false);
  }, 30000);

  test("the right password is saved (0600); pulls use it; logout removes it", async () => {
    // Docker schema 2 with a gzip layer, as most registries serve.
    const push = await exec([
      "skopeo",
      "copy",
      "-q",
      "--format",
      "v2s2",
      "--dest-tls-verify=false",
      "--dest-creds",
      "alice:s3cret",
      `oci-archive:${archive}`,
      `docker://${reg.host}/priv/busybox:1`,
    ]);
    expect(push.stderr).toBe("");
    const root = tempDir("mini-root-login-");
    const anon = await mini(root, ["pull", "-q", `${reg.host}/priv/busybox:1`]);
    expect(anon.code).toBe(125);

    const r = await mini(
      rootA,
      ["login", "-u", "alice", "--password-stdin", reg.host],
      new TextEncoder().encode("s3cret\n"),
    );
    expect(r).toMatchObject({ code: 0, stdout: "Login Succeeded\n", stderr: "" });
    const file = JSON.parse(readFileSync(authFile(), "utf8"));
    expect(file.auths[reg.host].auth).toBe(Buffer.from("alice:s3cret").toString("base64"));
    expect(statSync(authFile()).mode & 0o777).toBe(0o600);
    const p = await mini(root, ["pull", "-q", `${reg.host}/priv/busybox:1`]);
    expect(p.stderr).toBe("");
    expect(p.code).toBe(0);
    // A pulled image saves (its manifest as the registry sent it) and loads elsewhere.
    const pulledTar = join(work, "pulled.tar");
    expect(await mini(root, ["save", "-o", pulledTar, `${reg.host}/priv/busybox:1`])).toMatchObject({
      code: 0,
      stderr: "",
    });
    const sk = await exec(["skopeo", "inspect", "--raw", `oci-archive:${pulledTar}`]);
    expect(sk.code).toBe(0);
    expect(JSON.parse(sk.stdout)).toMatchObject({
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip" }],
    });
    const other = tempDir("mini-root-pulled-");
    expect(await mini(other, ["load", "-i", pulledTar])).toMatchObject({
      code: 0,
      stdout: `Loaded image: ${reg.host}/priv/busybox:1\n`,
    });
    expect((await mini(other, ["run", `${reg.host}/priv/busybox:1`, "cat", "/etc/hostname"])).stdout).toMatch(
      /^[0-9a-f]{12}\n$/,
    );
    // -p works too (with a warning).
    const viaFlag = await mini(rootA, ["login", "-u", "alice", "-p", "s3cret", reg.host]);
    expect(viaFlag.code).toBe(0);
    expect(viaFlag.stderr).toContain("--password-stdin");

    expect(await mini(rootA, ["logout", reg.host])).toMatchObject({
      code: 0,
      stdout: `Removing login credentials for ${reg.host}\n`,
    });
    expect(JSON.parse(readFileSync(authFile(), "utf8")).auths).toEqual({});
    expect((await mini(rootA, ["logout", reg.host])).stdout).toBe(`Not logged in to ${reg.host}\n`);
    const noStdin = await mini(rootA, ["login", reg.host]);
    expect(noStdin.code).toBe(125);
    expect(noStdin.stderr).toContain("--username");
  }, 60000);
});

test("nothing is left behind", async () => {
  expect(await leftBehind(before)).toEqual(NOTHING);
}, 20000);
