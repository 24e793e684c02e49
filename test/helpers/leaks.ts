// What a container could leave behind on the host: mounts, cgroup directories, processes,
// runtime state. Take a snapshot before, compare after.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { until, UntilTimeout } from "./until.ts";

export interface Snapshot {
  mounts: string[];
  cgroups: string[];
  processes: string[];
  state: string[];
}

function mounts(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split(" ")[4])
    .sort();
}

function cgroupDirs(): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const p = `${dir}/${n}`;
      try {
        if (!statSync(p).isDirectory()) continue;
      } catch {
        continue;
      }
      if (n.startsWith("mini-")) out.push(p);
      if (depth < 6) walk(p, depth + 1);
    }
  };
  walk("/sys/fs/cgroup", 0);
  return out.sort();
}

function processes(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
      // mini, its child stage, and mini-shim (run from a memfd: /proc/PID/fd/N monitor|exec).
      if (/dist\/mini|__child|\/proc\/self\/exe|^\/proc\/\d+\/fd\/\d+ (monitor|exec) /.test(cmd))
        out.push(`${pid} ${cmd}`);
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Runtime state dirs, and containers' records in the store. */
function state(): string[] {
  const list = (dir: string) => {
    try {
      return readdirSync(dir).map((n) => `${dir}/${n}`);
    } catch {
      return [];
    }
  };
  return [
    ...list(process.env.MINI_RUN_ROOT ?? "/run/mini"),
    ...list(`${process.env.MINI_ROOT ?? "/var/lib/mini"}/containers`),
  ];
}

export function snapshot(): Snapshot {
  return { mounts: mounts(), cgroups: cgroupDirs(), processes: processes(), state: state() };
}

/** What is in `after` but not in `before`, per kind. Empty arrays mean nothing leaked. */
export function leaked(before: Snapshot, after: Snapshot): Snapshot {
  const diff = (a: string[], b: string[]) => b.filter((x) => !a.includes(x));
  return {
    mounts: diff(before.mounts, after.mounts),
    cgroups: diff(before.cgroups, after.cgroups),
    processes: diff(before.processes, after.processes),
    state: diff(before.state, after.state),
  };
}

export const NOTHING = { mounts: [], cgroups: [], processes: [], state: [] };

/**
 * What is left behind since `since`, ignoring entries that go away within `patienceMs`: a
 * container another test or session is just ending, a zombie about to be reaped. A real leak
 * never goes away.
 */
export async function leftBehind(since: Snapshot, patienceMs = 10000): Promise<Snapshot> {
  let now: Snapshot = NOTHING; // what the last try found
  try {
    await until(() => Object.values((now = leaked(since, snapshot()))).every((v) => v.length === 0), {
      timeoutMs: patienceMs,
      intervalMs: 100,
      what: "nothing left behind",
    });
  } catch (e) {
    if (!(e instanceof UntilTimeout)) throw e;
  }
  return now;
}
