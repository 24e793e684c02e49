// Detached containers: the child stage is cloned by mini-shim's monitor (not by this Bun process,
// which exits once the command runs). The monitor stays the container's parent: it writes the
// log, records the exit status, then runs `mini __reap ID` to clean up.
import { readSync } from "node:fs";
import { CHILD_VERB } from "./child-config.ts";
import { withNamespaces, type NamespaceSetup } from "./namespaces.ts";
import { shimPath } from "./shim.ts";
import {
  type ChildStage,
  childPipes,
  miniArgv,
  releaseInUserNamespace,
  sendConfig,
  type UserNamespace,
} from "./launch.ts";
import * as sys from "../sys/calls.ts";
import { CLONE_NEWUSER } from "../sys/constants.ts";
import { UserError } from "../common/errors.ts";

export interface MonitorFiles {
  exitFile: string;
  logFile: string;
  logMaxBytes: number;
  /** Run by the monitor after the exit is recorded. */
  reaper: string[];
}

/** Environment the monitor (and the reaper it runs) needs: where mini's files are. */
function monitorEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };
  for (const k of ["MINI_ROOT", "MINI_RUN_ROOT"]) if (process.env[k]) env[k] = process.env[k]!;
  return env;
}

/**
 * `interactive` (run -di): the container's stdin is a pipe whose write end only the monitor
 * holds, so a shell reading it waits instead of seeing EOF (what `docker run -di` gives).
 */
export function spawnViaMonitor(
  nsPlan: NamespaceSetup,
  userns: UserNamespace | undefined,
  files: MonitorFiles,
  interactive = false,
): ChildStage {
  const [inR, inW] = interactive ? sys.pipe() : [undefined, undefined];
  const { cfgR, cfgW, repR: reportR, repW: reportW } = childPipes();
  const [syncR, syncW] = sys.pipe();
  // The monitor's first word: the pid of the child stage it cloned.
  const [pidR, pidW] = sys.pipe();
  const flags = nsPlan.unshareFlags | (userns ? CLONE_NEWUSER : 0);
  const argv = [
    shimPath(),
    "monitor",
    files.exitFile,
    files.logFile,
    String(files.logMaxBytes),
    flags.toString(16),
    ...miniArgv([CHILD_VERB]),
    "--",
    ...files.reaper,
  ];
  let monitor: import("bun").Subprocess;
  try {
    // Namespaces joined by path are entered around the spawn, so the monitor clones inside them.
    monitor = withNamespaces({ unshareFlags: 0, join: nsPlan.join, childFlags: 0, childJoin: [] }, () =>
      Bun.spawn(argv, {
        stdio: [inR ?? "ignore", "ignore", "ignore", cfgR, reportW, syncR, pidW, ...(inW ? [inW] : [])],
        env: monitorEnv(),
        detached: true,
      }),
    );
  } finally {
    for (const fd of [cfgR, reportW, syncR, pidW, inR, inW]) if (fd !== undefined) sys.close(fd);
  }
  monitor.unref();
  const buf = Buffer.alloc(32);
  const bytes = readSync(pidR, buf, 0, buf.length, null);
  sys.close(pidR);
  const pid = Number(buf.toString("utf8", 0, bytes).trim());
  if (!bytes || !pid) {
    for (const fd of [cfgW, reportR, syncW]) sys.close(fd);
    throw new UserError("the container monitor could not start the container (clone3 failed; see mini-shim)");
  }
  // Without a user namespace there are no maps to write first: the child stage may start now.
  if (!userns) {
    sys.writeAll(syncW, Buffer.from("g"), "sync pipe");
    sys.close(syncW);
  }
  const gone = () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  };
  const proc = {
    pid,
    signalCode: null,
    kill(sig: NodeJS.Signals | number = "SIGTERM") {
      try {
        process.kill(pid, sig);
      } catch {
        /* gone */
      }
    },
    exited: (async () => {
      while (!gone()) await Bun.sleep(10);
      return 137;
    })(),
  };
  return {
    proc,
    monitorPid: monitor.pid,
    reportFd: reportR,
    send(cfg, fds) {
      if (userns) releaseInUserNamespace(pid, userns, syncW);
      sendConfig(cfgW, cfg, fds);
    },
  };
}
