// A throwaway Distribution registry (Debian's `docker-registry`) for image tests.
//
//   import { startRegistry } from "../helpers/registry/server";
//   const reg = await startRegistry();                       // anonymous push/pull
//   const authed = await startRegistry({ htpasswd: { user: "u", password: "p" } });
//   ... `${reg.host}/name:tag` ...
//   await reg.stop();                                          // kills that PID, removes its dir
//
// Each registry listens on 127.0.0.1 with a free port, stores blobs in its own temp dir and
// logs to DIR/registry.log. The Debian package's own service is never used. A registry left
// running by a failed test is killed when the test process exits (process.on("exit")) and,
// if the test process is SIGKILLed, by the parent-death signal set with `setpriv`.
import type { Subprocess } from "bun";
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Registry {
  /** "127.0.0.1:PORT" — use in references: `${host}/name:tag`. */
  host: string;
  /** "http://127.0.0.1:PORT" */
  url: string;
  /** Temp dir: config.yml, htpasswd, registry.log, storage/. Removed by stop(). */
  dir: string;
  /** PID of the docker-registry process. */
  pid: number;
  /** Credentials when started with htpasswd. */
  creds?: { user: string; password: string };
  /** The registry's log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  htpasswd?: { user: string; password: string };
}

const BIN = "/usr/bin/docker-registry";

interface Live { proc: Subprocess; dir: string }
const live = new Map<number, Live>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", killAllNow);
  // A test run interrupted by a signal: clean up, then die of the same signal (the listener
  // is gone by then, so the default action applies).
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      killAllNow();
      process.kill(process.pid, sig);
    });
  }
}

function killAllNow(): void {
  for (const [pid, l] of live) {
    try { process.kill(pid, "SIGKILL"); } catch { /* already gone */ }
    try { rmSync(l.dir, { recursive: true, force: true }); } catch { /* best effort */ }
  }
  live.clear();
}

/** A port that was free a moment ago (the kernel picks it; we release it right away). */
export function freePort(): number {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

function hasSetprivPdeathsig(): boolean {
  const r = spawnSync("setpriv", ["--help"], { encoding: "utf8" });
  return r.status === 0 && /pdeathsig/.test(r.stdout);
}
let pdeathsig: boolean | undefined;

function configYaml(storage: string, port: number, htpasswdFile?: string): string {
  // JSON is YAML: no quoting surprises.
  const cfg: Record<string, unknown> = {
    version: 0.1,
    log: { level: "info", accesslog: { disabled: false }, formatter: "text" },
    storage: {
      filesystem: { rootdirectory: storage },
      delete: { enabled: true },
      // No in-memory blob descriptor cache: a test that deletes blobs behind the registry's
      // back should see it at once.
      cache: {},
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: { addr: `127.0.0.1:${port}`, secret: "mini-test-registry", headers: { "X-Content-Type-Options": ["nosniff"] } },
  };
  if (htpasswdFile) cfg.auth = { htpasswd: { realm: "mini-test", path: htpasswdFile } };
  return JSON.stringify(cfg, null, 2) + "\n";
}

async function waitReady(url: string, proc: Subprocess, timeoutMs: number): Promise<"ok" | "exited" | "timeout"> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) return "exited";
    try {
      const r = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.status === 200 || r.status === 401) return "ok";
    } catch { /* not listening yet */ }
    await Bun.sleep(25);
  }
  return "timeout";
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: apt-get install -y docker-registry`);
  installExitHook();
  pdeathsig ??= hasSetprivPdeathsig();
  const dir = mkdtempSync(join(tmpdir(), "mini-registry-"));
  const logFile = join(dir, "registry.log");
  let htpasswdFile: string | undefined;
  if (opts.htpasswd) {
    const { user, password } = opts.htpasswd;
    const r = spawnSync("htpasswd", ["-Bbn", user, password], { encoding: "utf8" });
    if (r.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`htpasswd -Bbn failed (apt-get install -y apache2-utils): ${r.stderr || r.error}`);
    }
    htpasswdFile = join(dir, "htpasswd");
    writeFileSync(htpasswdFile, r.stdout.trim() + "\n", { mode: 0o600 });
  }

  let lastErr = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = freePort();
    const configFile = join(dir, "config.yml");
    writeFileSync(configFile, configYaml(join(dir, "storage"), port, htpasswdFile));
    const argv = [BIN, "serve", configFile];
    const logFd = openSync(logFile, "a");
    const proc = Bun.spawn(pdeathsig ? ["setpriv", "--pdeathsig", "KILL", ...argv] : argv, {
      stdin: "ignore",
      stdout: logFd,
      stderr: logFd,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir },
    });
    closeSync(logFd);
    // Don't keep the test process alive for it: the exit hook kills it.
    proc.unref();
    live.set(proc.pid, { proc, dir });
    const url = `http://127.0.0.1:${port}`;
    const state = await waitReady(url, proc, 10000);
    if (state === "ok") {
      const host = `127.0.0.1:${port}`;
      let stopped = false;
      return {
        host,
        url,
        dir,
        pid: proc.pid,
        creds: opts.htpasswd ? { ...opts.htpasswd } : undefined,
        log: () => { try { return readFileSync(logFile, "utf8"); } catch { return ""; } },
        async stop() {
          if (stopped) return;
          stopped = true;
          await killAndWait(proc);
          live.delete(proc.pid);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    await killAndWait(proc);
    live.delete(proc.pid);
    lastErr = `${state}: ${(() => { try { return readFileSync(logFile, "utf8").split("\n").slice(-8).join("\n"); } catch { return ""; } })()}`;
    if (state === "timeout") break; // a port race makes it exit, not hang
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`docker-registry did not come up: ${lastErr}`);
}

/** SIGTERM, then SIGKILL after 2 s; resolves once the process is reaped. Only this PID. */
async function killAndWait(proc: Subprocess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  try { process.kill(proc.pid, "SIGTERM"); } catch { return; }
  const t = setTimeout(() => { try { process.kill(proc.pid, "SIGKILL"); } catch { /* gone */ } }, 2000);
  await proc.exited;
  clearTimeout(t);
}

/** Registries this process started and has not stopped (for leak checks). */
export function liveRegistries(): number[] {
  return [...live.keys()];
}
