// One place for "undo this when the test process ends".
//
// `bun test` (1.4) runs neither process.on("exit") nor "beforeExit" listeners, so in-process
// hooks alone leak. Two layers:
//   - in-process: "exit" (plain `bun script.ts`) and SIGINT/SIGTERM/SIGHUP (after which the
//     process dies of that same signal, as it would have without us);
//   - a reaper: one `sh` per test process, started with `setpriv --pdeathsig TERM`, that waits
//     and, when the test process is gone however it ended (even SIGKILL), removes every path
//     still listed in its list file. Processes (registries) get their own parent-death signal.
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const tasks = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const t of [...tasks]) {
    tasks.delete(t);
    try {
      t();
    } catch {
      /* best effort */
    }
  }
}

/** Registers fn to run once at exit (when the runtime runs exit hooks); returns an unregister. */
export function atExit(fn: () => void): () => void {
  if (!installed) {
    installed = true;
    process.on("exit", runAll);
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      process.once(sig, () => {
        runAll();
        process.kill(process.pid, sig);
      });
    }
  }
  tasks.add(fn);
  return () => tasks.delete(fn);
}

let pdeathsig: boolean | undefined;
/** Whether util-linux setpriv can set a parent-death signal (Debian 12: yes). */
export function hasPdeathsig(): boolean {
  if (pdeathsig === undefined) {
    const r = spawnSync("setpriv", ["--help"], { encoding: "utf8" });
    pdeathsig = r.status === 0 && /pdeathsig/.test(r.stdout);
  }
  return pdeathsig;
}

const REAPER_SH = `
trap 'kill $s 2>/dev/null; while IFS= read -r d; do [ -n "$d" ] && rm -rf -- "$d"; done < "$1"; rm -f -- "$1"; exit 0' TERM INT HUP
sleep 2147483647 & s=$!
wait $s
`;

const paths = new Set<string>();
let listFile: string | undefined;

function writeList(): void {
  if (listFile) writeFileSync(listFile, [...paths].map((p) => `${p}\n`).join(""));
}

function startReaper(): void {
  if (listFile !== undefined || !hasPdeathsig()) return;
  listFile = join(tmpdir(), `mini-reaper-${process.pid}.list`);
  writeList();
  const p = Bun.spawn(["setpriv", "--pdeathsig", "TERM", "sh", "-c", REAPER_SH, "sh", listFile], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "ignore",
  });
  p.unref();
  const lf = listFile;
  atExit(() => {
    try {
      process.kill(p.pid, "SIGTERM");
    } catch {
      /* gone */
    }
    rmSync(lf, { force: true });
  });
}

/**
 * Removes `path` (recursively) when this process ends, whichever way. Returns a function that
 * forgets it (call it once you removed the path yourself).
 */
export function removeAtExit(path: string): () => void {
  startReaper();
  paths.add(path);
  writeList();
  const unregister = atExit(() => rmSync(path, { recursive: true, force: true }));
  return () => {
    unregister();
    if (paths.delete(path)) writeList();
  };
}
