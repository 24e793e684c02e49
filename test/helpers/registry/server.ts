// A throwaway Distribution registry (Debian's `docker-registry`) for image tests.
//
//   import { startRegistry } from "../helpers/registry/server";
//   const reg = await startRegistry();                       // anonymous push/pull
//   const authed = await startRegistry({ htpasswd: { user: "u", password: "p" } });
//   ... `${reg.host}/name:tag` ...
//   await reg.stop();                                          // kills that PID, removes its dir
//
// Each registry listens on 127.0.0.1 with a free port, stores blobs in its own temp dir and
// logs to DIR/registry.log. The Debian package's own service is never used. A registry a test
// forgot to stop dies with the test process: it is started under `setpriv --pdeathsig KILL`
// (bun test runs no process.on("exit") hooks; this works even if the runner is SIGKILLed),
// and its dir is removed by the reaper in cleanup.ts.
import type { Subprocess } from "bun";
import { spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { atExit, hasPdeathsig, removeAtExit } from "./cleanup";
import { until, UntilTimeout } from "../until.ts";

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

interface Live {
  proc: Subprocess;
  dir: string;
  unregister: () => void;
}
const live = new Map<number, Live>();

const PREFIX = "mini-registry-";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: any) {
    return e?.code === "EPERM";
  }
}

/**
 * Removes registry dirs left by test processes that were SIGKILLed (their registry died of
 * its parent-death signal, but nobody removed the dir): only dirs whose OWNER file names a
 * test process and a registry that are both gone, and at least a minute old.
 */
function sweepStale(): void {
  let names: string[] = [];
  try {
    names = readdirSync(tmpdir()).filter((n) => n.startsWith(PREFIX));
  } catch {
    return;
  }
  for (const n of names) {
    const dir = join(tmpdir(), n);
    try {
      if (Date.now() - statSync(dir).mtimeMs < 60000) continue;
      const [owner, reg] = readFileSync(join(dir, "OWNER"), "utf8").trim().split(/\s+/).map(Number);
      if (!(owner > 0) || alive(owner) || (reg > 0 && alive(reg))) continue;
      rmSync(dir, { recursive: true, force: true });
    } catch {
      /* no OWNER file (starting, or not ours): leave it */
    }
  }
}

/** A port that was free a moment ago (the kernel picks it; we release it right away). */
export function freePort(): number {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

function configYaml(storage: string, port: number, htpasswdFile?: string): string {
  // JSON is YAML: no quoting surprises.
  const cfg: Record<string, unknown> = {
    version: 0.1,
    log: { level: "info", accesslog: { disabled: false }, formatter: "text" },
    storage: {
      filesystem: { rootdirectory: storage },
      delete: { enabled: true },
      // (no `cache`: no in-memory blob descriptor cache, so a test that deletes blobs behind
      // the registry's back sees it at once)
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: {
      addr: `127.0.0.1:${port}`,
      secret: "mini-test-registry",
      headers: { "X-Content-Type-Options": ["nosniff"] },
    },
  };
  if (htpasswdFile) cfg.auth = { htpasswd: { realm: "mini-test", path: htpasswdFile } };
  return `${JSON.stringify(cfg, null, 2)}\n`;
}

/**
 * Ready = our process logged "listening on 127.0.0.1:PORT" (so an answer on the port is not
 * from some other server that won a port race) and GET /v2/ answers 200 or 401.
 */
async function waitReady(
  url: string,
  port: number,
  logFile: string,
  proc: Subprocess,
  timeoutMs: number,
): Promise<"ok" | "exited" | "timeout"> {
  const listening = `listening on 127.0.0.1:${port}`;
  try {
    return await until(
      async () => {
        if (proc.exitCode !== null || proc.signalCode !== null) return "exited" as const;
        let log = "";
        try {
          log = readFileSync(logFile, "utf8");
        } catch {
          /* not yet */
        }
        if (!log.includes(listening)) return false;
        try {
          const r = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
          await r.arrayBuffer();
          if (r.status === 200 || r.status === 401) return "ok" as const;
        } catch {
          /* not listening yet */
        }
        return false;
      },
      { timeoutMs, intervalMs: 20, what: `the registry on ${url}` },
    );
  } catch (e) {
    if (e instanceof UntilTimeout) return "timeout";
    throw e;
  }
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: apt-get install -y docker-registry`);
  sweepStale();
  const pdeathsig = hasPdeathsig();
  const dir = mkdtempSync(join(tmpdir(), PREFIX));
  const forgetDir = removeAtExit(dir);
  const logFile = join(dir, "registry.log");
  let htpasswdFile: string | undefined;
  if (opts.htpasswd) {
    const { user, password } = opts.htpasswd;
    const r = spawnSync("htpasswd", ["-Bbn", user, password], { encoding: "utf8" });
    if (r.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      forgetDir();
      throw new Error(`htpasswd -Bbn failed (apt-get install -y apache2-utils): ${r.stderr || r.error}`);
    }
    htpasswdFile = join(dir, "htpasswd");
    writeFileSync(htpasswdFile, `${r.stdout.trim()}\n`, { mode: 0o600 });
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
    writeFileSync(join(dir, "OWNER"), `${process.pid} ${proc.pid}\n`);
    const unregister = atExit(() => {
      try {
        process.kill(proc.pid, "SIGKILL");
      } catch {
        /* gone */
      }
    });
    live.set(proc.pid, { proc, dir, unregister });
    const url = `http://127.0.0.1:${port}`;
    const state = await waitReady(url, port, logFile, proc, 10000);
    if (state === "ok") {
      const host = `127.0.0.1:${port}`;
      let stopped = false;
      return {
        host,
        url,
        dir,
        pid: proc.pid,
        creds: opts.htpasswd ? { ...opts.htpasswd } : undefined,
        log: () => {
          try {
            return readFileSync(logFile, "utf8");
          } catch {
            return "";
          }
        },
        async stop() {
          if (stopped) return;
          stopped = true;
          await killAndWait(proc);
          live.get(proc.pid)?.unregister();
          live.delete(proc.pid);
          rmSync(dir, { recursive: true, force: true });
          forgetDir();
        },
      };
    }
    await killAndWait(proc);
    live.get(proc.pid)?.unregister();
    live.delete(proc.pid);
    lastErr = `${state}: ${(() => {
      try {
        return readFileSync(logFile, "utf8").split("\n").slice(-8).join("\n");
      } catch {
        return "";
      }
    })()}`;
    if (state === "timeout") break; // a port race makes it exit, not hang
  }
  rmSync(dir, { recursive: true, force: true });
  forgetDir();
  throw new Error(`docker-registry did not come up: ${lastErr}`);
}

/** SIGTERM, then SIGKILL after 2 s; resolves once the process is reaped. Only this PID. */
async function killAndWait(proc: Subprocess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  try {
    process.kill(proc.pid, "SIGTERM");
  } catch {
    return;
  }
  const t = setTimeout(() => {
    try {
      process.kill(proc.pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }, 2000);
  await proc.exited;
  clearTimeout(t);
}

/** Registries this process started and has not stopped (for leak checks). */
export function liveRegistries(): number[] {
  return [...live.keys()];
}
