// Test images, built from local material and pushed to a test registry with skopeo.
//
//   import { startRegistry } from "../helpers/registry/server";
//   import { pushBusybox, pushMultiLayer, pushTwoPlatform, pushHostileLayer, MULTI_LAYER } from "../helpers/registry/images";
//   const reg = await startRegistry();
//   const img = await pushBusybox(reg.host, "busybox", "latest");         // img.ref, img.digest
//   await pushBusybox(reg.host, "bbz", "1", { compression: "zstd" });
//
// Layouts are built once per test process (umoci for ordinary images, by hand for hostile
// ones) under a temp dir removed at exit, and pushed with `skopeo copy --preserve-digests`, so
// the registry holds exactly the bytes built here and img.digest is the local manifest digest.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { run as runCaptured } from "../mini.ts";
import { busyboxRootfs } from "../rootfs";
import { removeAtExit } from "./cleanup";
import {
  compressLayer,
  type Descriptor,
  type LayerInput,
  MT,
  readIndex,
  readJsonBlob,
  resolveTag,
  setTag,
  writeBlob,
  writeImage,
  writeIndex,
} from "./layout";

const MAKE_LAYER = resolve(import.meta.dir, "../../fixtures/registry/make_layer.py");

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface Creds {
  user: string;
  password: string;
}
export interface PushOptions {
  /** --dest-creds for a registry started with htpasswd. */
  creds?: Creds;
}

export interface Pushed {
  /** "HOST/NAME:TAG" */
  ref: string;
  /** "HOST/NAME@sha256:…" */
  refByDigest: string;
  /** Digest of the pushed manifest (or index). */
  digest: string;
  mediaType: string;
  /** The local OCI layout it came from (shared, read-only; gone when the process exits). */
  layout: string;
  /** How long the build (first time only; 0 when cached) and the push took. */
  ms: { build: number; push: number };
}

// ---------------------------------------------------------------------------------------------
// plumbing

let workDir: string | undefined;
let forgetWorkDir = () => {};
function work(): string {
  if (!workDir) {
    workDir = mkdtempSync(join(tmpdir(), "mini-images-"));
    forgetWorkDir = removeAtExit(workDir);
  }
  return workDir;
}

/** Removes every layout built by this process (optional; also done at exit). */
export function cleanupImages(): void {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  forgetWorkDir();
  workDir = undefined;
  built.clear();
}

function run(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) {
    const why = r.error ? String(r.error) : (r.stderr || r.stdout || "").trim().split("\n").slice(-6).join("\n");
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status ?? r.signal}): ${why}`);
  }
  return r.stdout;
}

/** Async, so a registry or proxy served from this same process keeps answering meanwhile. */
async function runAsync(cmd: string, args: string[], timeoutMs = 60000): Promise<string> {
  const r = await runCaptured([cmd, ...args], { inheritEnv: true, timeoutMs });
  if (r.code === 0) return r.stdout;
  const why = (r.stderr || r.stdout).trim().split("\n").slice(-6).join("\n");
  throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.code}): ${why}`);
}

// Debian's python3 (on every Debian 12) before PATH's: a pyenv shim costs ~300 ms a call.
const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

function makeLayer(kind: string, out: string, ...args: string[]): Uint8Array {
  run(PYTHON, [MAKE_LAYER, kind, out, ...args]);
  return new Uint8Array(readFileSync(out));
}

const isRoot = process.getuid?.() === 0;
/** As root, unpack keeps real ownership (home/user stays 1000); otherwise --rootless. */
const unpackFlags = isRoot ? [] : ["--rootless"];

function umoci(...args: string[]): string {
  return run("umoci", args);
}

const built = new Map<string, { layout: string; ms: number }>();
/** Builds a layout once per process; returns its path and whether this call built it. */
function once(key: string, build: (dir: string) => void): { layout: string; ms: number } {
  const hit = built.get(key);
  if (hit) return { layout: hit.layout, ms: 0 };
  const dir = join(work(), key);
  rmSync(dir, { recursive: true, force: true });
  const t0 = performance.now();
  try {
    build(dir);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const entry = { layout: dir, ms: Math.round(performance.now() - t0) };
  built.set(key, entry);
  return entry;
}

/**
 * skopeo copy oci:LAYOUT:TAG docker://HOST/NAME:TAG. --preserve-digests: skopeo must not
 * recompress, substitute a blob it knows by another digest, or convert the manifest.
 */
export async function pushLayout(
  layout: string,
  srcTag: string,
  host: string,
  name: string,
  tag: string,
  opts: PushOptions & { all?: boolean } = {},
): Promise<{ digest: string; ms: number }> {
  const digestFile = join(work(), `digest-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const args = [
    "copy",
    "-q",
    "--retry-times",
    "0",
    "--preserve-digests",
    "--dest-tls-verify=false",
    "--digestfile",
    digestFile,
  ];
  if (opts.creds) args.push("--dest-creds", `${opts.creds.user}:${opts.creds.password}`);
  else args.push("--dest-no-creds");
  if (opts.all) args.push("--all");
  args.push(`oci:${layout}:${srcTag}`, `docker://${host}/${name}:${tag}`);
  const t0 = performance.now();
  await runAsync("skopeo", args);
  const digest = readFileSync(digestFile, "utf8").trim();
  rmSync(digestFile, { force: true });
  return { digest, ms: Math.round(performance.now() - t0) };
}

async function push(
  layout: string,
  srcTag: string,
  buildMs: number,
  host: string,
  name: string,
  tag: string,
  opts: PushOptions & { all?: boolean } = {},
): Promise<Pushed> {
  const want = resolveTag(layout, srcTag);
  const { digest, ms } = await pushLayout(layout, srcTag, host, name, tag, opts);
  if (digest !== want.digest) throw new Error(`skopeo pushed ${digest}, layout has ${want.digest} (${name}:${tag})`);
  return {
    ref: `${host}/${name}:${tag}`,
    refByDigest: `${host}/${name}@${digest}`,
    digest,
    mediaType: want.mediaType,
    layout,
    ms: { build: buildMs, push: ms },
  };
}

// ---------------------------------------------------------------------------------------------
// busybox

export const BUSYBOX_LABEL = { key: "org.mini.test.image", value: "busybox" };

/** umoci layout with tag "busybox": one layer (images/out/busybox), Cmd ["sh"], PATH, a label. */
function busyboxLayout(compression: "gzip" | "zstd"): { layout: string; ms: number } {
  const gz = once("busybox-gzip", (L) => {
    const rootfs = busyboxRootfs();
    const bundle = `${L}.bundle`;
    umoci("init", "--layout", L);
    umoci("new", "--image", `${L}:busybox`);
    umoci("unpack", ...unpackFlags, "--image", `${L}:busybox`, bundle);
    run("cp", ["-a", `${rootfs}/.`, `${bundle}/rootfs/`]);
    umoci("repack", "--refresh-bundle", "--history.created_by", "images/busybox.sh", "--image", `${L}:busybox`, bundle);
    rmSync(bundle, { recursive: true, force: true });
    umoci(
      "config",
      "--image",
      `${L}:busybox`,
      "--config.cmd",
      "sh",
      "--config.env",
      `PATH=${DEFAULT_PATH}`,
      "--config.label",
      `${BUSYBOX_LABEL.key}=${BUSYBOX_LABEL.value}`,
      "--author",
      "mini tests",
    );
  });
  if (compression === "gzip") return gz;
  // skopeo 1.9 ignores --dest-compress-format when pushing to a registry that has (or that its
  // blob-info cache thinks has) the gzip blobs; recompressing into a second local layout is
  // reliable, and that layout is then pushed as is.
  return once("busybox-zstd", (Z) => {
    run("skopeo", ["copy", "-q", "--dest-compress-format", "zstd", `oci:${gz.layout}:busybox`, `oci:${Z}:busybox`]);
  });
}

export async function pushBusybox(
  host: string,
  name: string,
  tag: string,
  opts: PushOptions & { compression?: "gzip" | "zstd" } = {},
): Promise<Pushed> {
  const { layout, ms } = busyboxLayout(opts.compression ?? "gzip");
  return push(layout, "busybox", ms, host, name, tag, opts);
}

// ---------------------------------------------------------------------------------------------
// multi-layer

/**
 * What the multi-layer image holds once its 4 layers are applied in order, for tests to check
 * an unpacked rootfs against.
 *   1 busybox
 *   2 adds /data/{a,b}, /etc/motd, /opt/old/{x,sub/y}, /opt/keep/{k1,k2}
 *   3 umoci repack after: rm /data/a; rm -r /opt/old and mkdir it with /opt/old/new; symlinks,
 *     a hardlink, a setuid file, chown 1000:1000 /data/b, a line added to /etc/os-release.
 *     umoci writes plain whiteouts: data/.wh.a, opt/old/.wh.x, opt/old/.wh.sub (no opaque).
 *   4 hand-written (umoci raw add-layer): opt/keep/ + opt/keep/.wh..wh..opq + opt/keep/replaced
 */
export const MULTI_LAYER = {
  layers: 4,
  files: {
    "/data/b": "b\n",
    "/data/hard": "b\n",
    "/etc/motd": "multi-layer motd\n",
    "/opt/old/new": "new\n",
    "/opt/keep/replaced": "replaced by an opaque whiteout\n",
  } as Record<string, string>,
  absent: [
    "/data/a",
    "/opt/old/x",
    "/opt/old/sub",
    "/opt/keep/k1",
    "/opt/keep/k2",
    "/data/.wh.a",
    "/opt/keep/.wh..wh..opq",
  ],
  symlinks: { "/data/link": "b", "/data/abs-link": "/etc/motd" } as Record<string, string>,
  hardlinks: [["/data/hard", "/data/b"]] as [string, string][],
  modes: { "/usr/local/bin/suid-file": 0o4755, "/data/sgid-dir": 0o2775 } as Record<string, number>,
  owners: { "/data/b": [1000, 1000], "/home/user": [1000, 1000] } as Record<string, [number, number]>,
  osReleaseLine: "MINI_IMAGE=multi-layer",
  whiteouts: { 3: ["data/.wh.a", "opt/old/.wh.sub", "opt/old/.wh.x"], 4: ["opt/keep/.wh..wh..opq"] } as Record<
    number,
    string[]
  >,
  config: {
    Entrypoint: ["/bin/sh", "-c"],
    Cmd: ['echo "user=$(id -u):$(id -g) cwd=$(pwd) mark=$MINI_MARK"'],
    Env: [`PATH=${DEFAULT_PATH}`, "MINI_MARK=multi-layer", "HOME=/home/user"],
    WorkingDir: "/data",
    User: "1000:1000",
    Labels: { "org.mini.test.image": "multi-layer" },
  },
  /** What the default Entrypoint+Cmd prints. */
  defaultOutput: "user=1000:1000 cwd=/data mark=multi-layer\n",
};

function multiLayerLayout(): { layout: string; ms: number } {
  const base = busyboxLayout("gzip");
  return once("multi-layer", (L) => {
    const B = `${L}.bundle`;
    const R = `${B}/rootfs`;
    const w = (p: string, s: string, mode = 0o644) => {
      writeFileSync(join(R, p), s, { mode });
    };
    cpSync(base.layout, L, { recursive: true });
    umoci("tag", "--image", `${L}:busybox`, "img");
    umoci("unpack", ...unpackFlags, "--image", `${L}:img`, B);
    // layer 2
    for (const d of ["data", "opt/old/sub", "opt/keep"]) mkdirSync(join(R, d), { recursive: true, mode: 0o755 });
    w("data/a", "a\n");
    w("data/b", "b\n");
    w("etc/motd", "multi-layer motd\n");
    w("opt/old/x", "x\n");
    w("opt/old/sub/y", "y\n");
    w("opt/keep/k1", "k1\n");
    w("opt/keep/k2", "k2\n");
    umoci("repack", "--refresh-bundle", "--history.created_by", "layer 2: add files", "--image", `${L}:img`, B);
    // layer 3
    rmSync(join(R, "data/a"));
    rmSync(join(R, "opt/old"), { recursive: true });
    mkdirSync(join(R, "opt/old"), { mode: 0o755 });
    w("opt/old/new", "new\n");
    run("ln", ["-s", "b", join(R, "data/link")]);
    run("ln", ["-s", "/etc/motd", join(R, "data/abs-link")]);
    run("ln", [join(R, "data/b"), join(R, "data/hard")]);
    run("chown", [isRoot ? "1000:1000" : `${process.getuid!()}:${process.getgid!()}`, join(R, "data/b")]);
    mkdirSync(join(R, "usr/local/bin"), { recursive: true });
    w("usr/local/bin/suid-file", "#!/bin/sh\necho suid\n");
    run("chmod", ["4755", join(R, "usr/local/bin/suid-file")]);
    mkdirSync(join(R, "data/sgid-dir"));
    run("chmod", ["2775", join(R, "data/sgid-dir")]);
    writeFileSync(
      join(R, "etc/os-release"),
      `${readFileSync(join(R, "etc/os-release"), "utf8") + MULTI_LAYER.osReleaseLine}\n`,
    );
    umoci(
      "repack",
      "--refresh-bundle",
      "--history.created_by",
      "layer 3: delete, replace, links, setuid",
      "--image",
      `${L}:img`,
      B,
    );
    rmSync(B, { recursive: true, force: true });
    // layer 4: an opaque whiteout (umoci repack never writes one; `umoci insert --opaque`
    // writes a tar without its end-of-archive blocks, so the tar is made by Python)
    const tar = join(L, "..", "multi-layer-opaque.tar");
    makeLayer("opaque", tar, "opt/keep");
    umoci("raw", "add-layer", "--history.created_by", "layer 4: opaque /opt/keep", "--image", `${L}:img`, tar);
    rmSync(tar);
    const c = MULTI_LAYER.config;
    umoci(
      "config",
      "--image",
      `${L}:img`,
      "--author",
      "mini tests",
      "--clear",
      "config.env",
      "--clear",
      "config.cmd",
      ...c.Entrypoint.flatMap((a) => ["--config.entrypoint", a]),
      ...c.Cmd.flatMap((a) => ["--config.cmd", a]),
      ...c.Env.flatMap((e) => ["--config.env", e]),
      "--config.workingdir",
      c.WorkingDir,
      "--config.user",
      c.User,
      ...Object.entries(c.Labels).flatMap(([k, v]) => ["--config.label", `${k}=${v}`]),
    );
  });
}

export async function pushMultiLayer(host: string, name: string, tag: string, opts: PushOptions = {}): Promise<Pushed> {
  const { layout, ms } = multiLayerLayout();
  return push(layout, "img", ms, host, name, tag, opts);
}

// ---------------------------------------------------------------------------------------------
// two platforms

export const TWO_PLATFORM = {
  /** /etc/mini-platform in each image. */
  markerPath: "/etc/mini-platform",
  platforms: [
    { architecture: "amd64", os: "linux", marker: "linux/amd64" },
    { architecture: "arm64", os: "linux", variant: "v8", marker: "linux/arm64/v8" },
  ],
};

function twoPlatformLayout(): { layout: string; ms: number } {
  const base = busyboxLayout("gzip");
  return once("two-platform", (L) => {
    cpSync(base.layout, L, { recursive: true });
    const entries: Descriptor[] = [];
    for (const p of TWO_PLATFORM.platforms) {
      const t = p.architecture;
      umoci("tag", "--image", `${L}:busybox`, t);
      const tar = join(L, "..", `two-platform-${t}.tar`);
      makeLayer("marker", tar, TWO_PLATFORM.markerPath, p.marker);
      umoci("raw", "add-layer", "--history.created_by", `marker ${p.marker}`, "--image", `${L}:${t}`, tar);
      rmSync(tar);
      umoci(
        "config",
        "--image",
        `${L}:${t}`,
        "--architecture",
        p.architecture,
        "--os",
        p.os,
        "--config.label",
        `org.mini.test.platform=${p.marker}`,
      );
      // umoci has no --variant: patch it into the config by hand and rewrite the manifest
      if (p.variant)
        patchConfig(L, t, (cfg) => {
          cfg.variant = p.variant;
        });
      const platform = { architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}) };
      entries.push({ ...resolveTag(L, t), platform });
    }
    writeIndex(L, "multi", entries);
  });
}

/** Rewrites the config of `tag` (and its manifest), re-tagging the new manifest. */
function patchConfig(L: string, tag: string, f: (cfg: any) => void): void {
  const mDesc = resolveTag(L, tag);
  const manifest = readJsonBlob(L, mDesc.digest);
  const cfg = readJsonBlob(L, manifest.config.digest);
  f(cfg);
  manifest.config = writeBlob(L, MT.config, cfg);
  setTag(L, tag, writeBlob(L, mDesc.mediaType, manifest));
}

/** An OCI image index with linux/amd64 and linux/arm64/v8 (same busybox, different marker). */
export async function pushTwoPlatform(
  host: string,
  name: string,
  tag: string,
  opts: PushOptions = {},
): Promise<Pushed & { platforms: Descriptor[] }> {
  const { layout, ms } = twoPlatformLayout();
  const pushed = await push(layout, "multi", ms, host, name, tag, { ...opts, all: true });
  const idx = readJsonBlob(layout, pushed.digest);
  return { ...pushed, platforms: idx.manifests };
}

// ---------------------------------------------------------------------------------------------
// hostile layers (hand-made layouts)

export type HostileKind = "dotdot" | "absolute-symlink-then-file" | "hardlink-outside" | "huge-size" | "corrupt-gzip";
export const HOSTILE_KINDS: HostileKind[] = [
  "dotdot",
  "absolute-symlink-then-file",
  "hardlink-outside",
  "huge-size",
  "corrupt-gzip",
];

/** Names the hostile entries aim at, for tests to check nothing landed there. */
export const HOSTILE = {
  /** dotdot: relative to the directory the layer is extracted into. */
  dotdot: ["../mini-hostile-dotdot", "../mini-hostile-dotdot-2"],
  /** absolute-symlink-then-file: `a` -> symlinkTarget, then the file a/passwd. */
  symlinkFile: "passwd",
  /** hardlink-outside: entry names and their link targets. */
  hardlinks: { "shadow-abs": "/etc/shadow", "shadow-up": "../../../../../../../../etc/shadow" } as Record<
    string,
    string
  >,
  /** huge-size: the declared size of `big`; the body is 1 MiB. */
  hugeDeclared: 100 * 2 ** 30,
  /** Every hostile layer starts with this ordinary file. */
  okFile: "hostile-ok",
};

let baseLayer: LayerInput | undefined;
/** The busybox rootfs as a Python-made tar, gzipped once per process. */
function busyboxLayer(): LayerInput {
  if (!baseLayer) {
    const tar = makeLayer("dir", join(work(), "busybox-base.tar"), busyboxRootfs());
    baseLayer = { tar, compressed: compressLayer({ tar }) };
  }
  return baseLayer;
}

export interface HostileOptions extends PushOptions {
  /** Put the busybox layer under the hostile one (default true), so the image could run. */
  base?: boolean;
  /**
   * absolute-symlink-then-file: where `a` points. Default: a fresh, empty canary directory
   * (returned as `canary`) rather than the host's /etc, so a runtime that follows the link
   * writes a/passwd into the canary instead of over /etc/passwd. Pass "/etc" for the real thing.
   */
  symlinkTarget?: string;
}

/**
 * A hand-made image whose last layer is hostile. The registry accepts it (digests and
 * diff_ids are right, except that corrupt-gzip's blob does not decompress to its diff_id).
 */
export async function pushHostileLayer(
  host: string,
  name: string,
  tag: string,
  kind: HostileKind,
  opts: HostileOptions = {},
): Promise<Pushed & { canary?: string }> {
  const withBase = opts.base ?? true;
  let canary: string | undefined;
  let target = opts.symlinkTarget;
  if (kind === "absolute-symlink-then-file" && !target) {
    canary = mkdtempSync(join(tmpdir(), "mini-hostile-canary-"));
    target = canary;
    removeAtExit(canary);
  }
  const key = `hostile-${kind}-${withBase ? "base" : "nobase"}-${target ? Bun.hash(target).toString(16) : ""}-${Math.random().toString(36).slice(2, 8)}`;
  const t0 = performance.now();
  const L = join(work(), key);
  const layers: LayerInput[] = withBase ? [busyboxLayer()] : [];
  const tarPath = `${L}.tar`;
  const tar = makeLayer(kind, tarPath, ...(target && kind === "absolute-symlink-then-file" ? [target] : []));
  rmSync(tarPath);
  layers.push(kind === "corrupt-gzip" ? { tar, mangle: corruptMiddle } : { tar });
  writeImage(L, "img", layers, {
    config: { Cmd: ["sh"], Env: [`PATH=${DEFAULT_PATH}`], Labels: { "org.mini.test.image": `hostile-${kind}` } },
  });
  const buildMs = Math.round(performance.now() - t0);
  const pushed = await push(L, "img", buildMs, host, name, tag, opts);
  return { ...pushed, canary };
}

/** Flips 64 bytes in the middle of a gzip stream (header and trailer intact). */
function corruptMiddle(gz: Uint8Array): Uint8Array {
  const out = gz.slice();
  const mid = Math.floor(out.length / 2);
  for (let i = mid; i < mid + 64 && i < out.length - 8; i++) out[i] ^= 0xff;
  return out;
}

/** Names of all tags in a layout (debugging aid). */
export function layoutTags(layout: string): string[] {
  return readIndex(layout).manifests.map((m) => m.annotations?.["org.opencontainers.image.ref.name"] ?? m.digest);
}
