// Starting the child stage: the re-executed mini binary, inside the namespaces the parent
// prepared. It is started first and handed its config later, so its start-up (a whole Bun
// runtime) runs while the parent sets up cgroups. Three ways, one result (ChildStage):
//   direct      Bun.spawn from the parent's main thread, in the namespaces it unshared
//   userns      clone3 through the C trampoline: a new user namespace needs a single-threaded caller
//   monitor     mini-shim's monitor clones it and stays its parent (detached containers; monitor.ts)
import type { Subprocess } from "bun";
import type { IdMapping } from "../config/types.ts";
import * as sys from "../sys/calls.ts";
import { cloneExec } from "../sys/clone.ts";
import { sendFds, socketpair } from "../sys/socket.ts";
import { CLONE_NEWTIME, CLONE_NEWUSER, F_SETFL, O_NONBLOCK, O_RDONLY, O_RDWR } from "../sys/constants.ts";
import { CHILD_VERB, type ChildConfig } from "./child-config.ts";
import { ClonedProcess, type ContainerProcess } from "./cloned-process.ts";
import { type NamespaceSetup, withNamespaces } from "./namespaces.ts";
import { isTerminal } from "../common/terminal.ts";

export interface StdioChoice {
  /** Keep stdin open (-i); otherwise the container's stdin is /dev/null. */
  interactive: boolean;
  /** Kill the container when this process dies (foreground runs). */
  dieWithParent: boolean;
  /** OCI create: the container gets this process's stdio exactly (the engine's pipes). */
  inheritStdio?: boolean;
  /** More fds for the child stage, from fd 5 on (the console socket, preserved fds). */
  extraFds?: number[];
}

export interface UserNamespace {
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
  /** An existing user namespace to join (its maps are read from the child once it is in it). */
  path?: string;
}

/** A started child stage, waiting for its config. */
export interface ChildStage {
  proc: ContainerProcess;
  /** The detached container's monitor (mini-shim), its parent. */
  monitorPid?: number;
  /** Sends the config (the child reads it to EOF before doing anything), with `fds` for its mounts. */
  send(cfg: ChildConfig, fds?: number[]): void;
  /** The child's report channel (non-blocking): see child-report.ts. */
  reportFd: number;
}

/**
 * The two channels every child stage gets: its config (fd 3: a unix socket, so that fds can go
 * with it) and its report back (fd 4: a pipe).
 */
export function childPipes(): { cfgR: number; cfgW: number; repR: number; repW: number } {
  const [cfgR, cfgW] = socketpair();
  const [repR, repW] = sys.pipe();
  sys.fcntl(repR, F_SETFL, O_NONBLOCK, "report pipe");
  return { cfgR, cfgW, repR, repW };
}

/**
 * Writes the config and closes the channel; `fds` (detached mounts, at most 253) go with its first
 * bytes. A blocking socket: a config bigger than its buffer waits until the child reads it.
 */
export function sendConfig(cfgW: number, cfg: ChildConfig, fds: number[] = []): void {
  try {
    const data = Buffer.from(JSON.stringify(cfg));
    const first = sendFds(cfgW, fds, data, "the child stage's config");
    sys.writeAll(cfgW, data.subarray(first), "the child stage's config");
  } finally {
    sys.close(cfgW);
  }
}

const mapText = (m: IdMapping[]) => m.map((x) => `${x.containerID} ${x.hostID} ${x.size}\n`).join("");

/**
 * A child cloned into a new user namespace waits on `syncW`: its uid/gid maps (host files it can't
 * write itself) are written for it, then it is let go. It is in its cgroups by then (the parent
 * moved it: cgroups/join.ts).
 */
export function releaseInUserNamespace(pid: number, userns: UserNamespace, syncW: number): void {
  const { writeFileSync } = require("node:fs") as typeof import("node:fs");
  if (!userns.path) {
    writeFileSync(`/proc/${pid}/uid_map`, mapText(userns.uidMappings));
    writeFileSync(`/proc/${pid}/gid_map`, mapText(userns.gidMappings));
  }
  sys.writeAll(syncW, Buffer.from("g"), "sync pipe");
  sys.close(syncW);
}

/**
 * With a user namespace: clone3 (through the C trampoline) creates the user, pid and other
 * namespaces together; the child waits until the parent has written its uid/gid maps (and moved
 * it into its cgroups), then execs the child stage.
 */
function spawnInUserNamespace(nsPlan: NamespaceSetup, io: StdioChoice, userns: UserNamespace): ChildStage {
  const { UserError } = require("../common/errors.ts") as typeof import("../common/errors.ts");
  // A time namespace can be joined only with the host's rights: before a new user namespace exists.
  if (nsPlan.timePath && !userns.path)
    throw new UserError("joining a time namespace by path together with a new user namespace is not supported");
  const [syncR, syncW] = sys.pipe();
  const { cfgR, cfgW, repR, repW } = childPipes();
  const stdin = io.interactive || io.inheritStdio ? 0 : sys.open("/dev/null", O_RDWR);
  // Not through roexec: the child is an unprivileged host uid by then, which can't write mini
  // (so CVE-2019-5736 doesn't apply) and may not reach its directory to bind-mount it.
  const args = io.dieWithParent ? [CHILD_VERB, String(process.pid)] : [CHILD_VERB];
  const argv = Bun.main.startsWith("/$bunfs/") ? ["/proc/self/exe", ...args] : selfArgv(args);
  let pid: number;
  const nsFds: number[] = [];
  const openNs = (path: string) => {
    const fd = sys.open(path, O_RDONLY);
    nsFds.push(fd);
    return fd;
  };
  try {
    const usernsFd = userns.path ? openNs(userns.path) : undefined;
    const timensFd = nsPlan.timePath ? openNs(nsPlan.timePath) : undefined;
    // Namespaces joined by path (net, uts, ipc, pid) are entered around the clone: it copies them.
    pid = withNamespaces({ ...nsPlan, unshareFlags: 0 }, () =>
      cloneExec({
        flags: nsPlan.unshareFlags | CLONE_NEWUSER,
        syncFd: syncR,
        fds: [stdin, 1, 2, cfgR, repW, ...(io.extraFds ?? [])],
        controllingTty: false,
        path: argv[0]!,
        argv,
        env: [],
        usernsFd,
        timensFd,
      }),
    );
  } catch (e) {
    sys.close(syncW);
    for (const fd of [cfgW, repR]) sys.close(fd);
    if (e instanceof Error && !(e instanceof UserError) && userns.path && !e.message.startsWith("clone3"))
      throw new UserError(`linux.namespaces: user namespace ${userns.path}: ${e.message}`);
    throw e;
  } finally {
    for (const fd of [syncR, cfgR, repW, ...nsFds]) sys.close(fd);
    if (stdin !== 0) sys.close(stdin);
  }
  return {
    proc: new ClonedProcess(pid),
    reportFd: repR,
    send(cfg, fds) {
      releaseInUserNamespace(pid, userns, syncW);
      sendConfig(cfgW, cfg, fds);
    },
  };
}

export function relayStdin(sink: import("bun").FileSink): void {
  const input = process.stdin;
  input.on("data", (d: Buffer) => {
    try {
      sink.write(d);
      sink.flush();
    } catch {
      /* container closed its stdin */
    }
  });
  const end = () => {
    try {
      sink.end();
    } catch {
      /* already closed */
    }
  };
  input.on("end", end);
  input.on("error", end);
}

/**
 * argv that re-executes this program in its child-stage mode. Compiled, it goes through
 * `mini-shim roexec`: the child stage runs from a read-only bind mount of mini, so a container
 * process that gets hold of its /proc/PID/exe can't overwrite the host's binary (CVE-2019-5736).
 * From source (bun src/main.ts): bun + the entry file.
 */
export function selfArgv(args: string[], timePath?: string): string[] {
  if (!Bun.main.startsWith("/$bunfs/")) {
    if (timePath) throw new Error("joining a time namespace by path needs the compiled mini (mini-shim roexec)");
    return [process.execPath, Bun.main, ...args];
  }
  const { shimPath } = require("./shim.ts") as typeof import("./shim.ts");
  // A time namespace is joined by roexec: setns of one needs a single-threaded process.
  const ns = timePath ? ["--ns", `${timePath}:${CLONE_NEWTIME.toString(16)}`] : [];
  return [shimPath(), "roexec", ...ns, process.execPath, process.execPath, ...args];
}

/** argv that runs mini itself from a process that outlives this one (the monitor, its reaper). */
export function miniArgv(args: string[]): string[] {
  return Bun.main.startsWith("/$bunfs/") ? [process.execPath, ...args] : [process.execPath, Bun.main, ...args];
}

/**
 * The container's stdin: /dev/null without -i; with -i, mini's own stdin, except a terminal,
 * which is relayed through a pipe (as docker does): the container never holds the host's tty.
 */
export function stdinChoice(io: StdioChoice): "ignore" | "inherit" | "pipe" {
  if (io.inheritStdio) return "inherit";
  if (!io.interactive) return "ignore";
  return isTerminal(0) ? "pipe" : "inherit";
}

function spawnDirect(nsPlan: NamespaceSetup, io: StdioChoice): ChildStage {
  const args = io.dieWithParent ? [CHILD_VERB, String(process.pid)] : [CHILD_VERB];
  const stdin = stdinChoice(io);
  // Computed before the namespaces are entered: it may create the shim's memfd.
  const argv = selfArgv(args, nsPlan.timePath);
  const { cfgR, cfgW, repR, repW } = childPipes();
  let proc: Subprocess;
  try {
    proc = withNamespaces(nsPlan, () =>
      Bun.spawn(argv, {
        stdio: [stdin, "inherit", "inherit", cfgR, repW, ...(io.extraFds ?? [])],
        env: {},
        // A session of its own: the host's terminal is never the container's controlling tty
        // (TIOCSTI), and the terminal's ^C reaches mini, which forwards it. With -t the child stage
        // makes its pty the controlling tty of this session (child-console.ts).
        detached: true,
      }),
    );
  } catch (e) {
    for (const fd of [cfgW, repR]) sys.close(fd);
    throw e;
  } finally {
    for (const fd of [cfgR, repW]) sys.close(fd);
  }
  if (stdin === "pipe") relayStdin(proc.stdin as import("bun").FileSink);
  return {
    proc: proc as unknown as ChildStage["proc"], // signalCode is a signal name: Bun's type is wider
    reportFd: repR,
    send: (cfg, fds) => sendConfig(cfgW, cfg, fds),
  };
}

/** How the child stage is started: by this process (foreground, OCI create), or by a monitor (detached). */
export type LaunchChoice =
  | { mode: "direct"; io: StdioChoice }
  | { mode: "monitor"; files: import("./monitor.ts").MonitorFiles; interactive: boolean };

/** Starts the child stage in `ns` (and a new user namespace when `userns` is given). */
export function launchChildStage(
  nsPlan: NamespaceSetup,
  userns: UserNamespace | undefined,
  how: LaunchChoice,
): ChildStage {
  if (how.mode === "monitor") {
    const { spawnViaMonitor } = require("./monitor.ts") as typeof import("./monitor.ts");
    return spawnViaMonitor(nsPlan, userns, how.files, how.interactive);
  }
  return userns ? spawnInUserNamespace(nsPlan, how.io, userns) : spawnDirect(nsPlan, how.io);
}
