// The child stage: runs in the re-executed binary, already PID 1 of the new pid namespace (and in
// the new net/uts/ipc namespaces). Joins its cgroups, creates its mount (and cgroup) namespace,
// builds the rootfs, drops privileges and execs the command. Keep imports small: this is on the
// start-up path of every container.
import { readSync, writeFileSync, writeSync } from "node:fs";
import * as sys from "../sys/calls.ts";
import { interfaceUp, recvFds, sendFds } from "../sys/socket.ts";
import * as C from "../sys/constants.ts";
import { fromNodeError, SyscallError } from "../sys/error.ts";
import { UserError } from "../common/errors.ts";
import { applyProcessSecurity } from "./security.ts";
import { CONFIG_FD, CONSOLE_FD, ERROR_FD, PRESERVED_FDS_AT, type ChildConfig } from "./child-config.ts";
import { findExecutable } from "./executable.ts";
import { applyRootfs, undoMountpoints } from "./rootfs-apply.ts";

/** Fds that came with the config (detached bind-mount sources of a user-namespaced container). */
let mountFds: number[] = [];

function readConfig(): ChildConfig {
  const chunks: Buffer[] = [];
  const buf = Buffer.allocUnsafe(65536);
  // The first read takes the fds that travel with the config's first bytes.
  const first = recvFds(CONFIG_FD, buf, "the config");
  mountFds = first.fds;
  if (first.n > 0) chunks.push(Buffer.from(buf.subarray(0, first.n)));
  for (let n = first.n; n > 0; ) {
    n = readSync(CONFIG_FD, buf, 0, buf.length, null);
    if (n > 0) chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  sys.close(CONFIG_FD);
  // No config at all: the parent gave up on this child stage (a `mini run` whose flags turned out
  // wrong after its child stage was started, a kill) and says why itself.
  if (chunks.length === 0) process.exit(125);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

/** Loaded only for OCI containers with hooks: not on the start-up path of the others. */
const hooks = () => require("./hooks.ts") as typeof import("./hooks.ts");

/** The child's steps, logged by the parent (the container's stderr is never the runtime's log). */
function debugLog(on: boolean) {
  if (!on) return undefined;
  return (what: string, ms: number) => reportLine({ debug: `child: ${what} (${ms.toFixed(2)} ms)` });
}

function step<T>(log: ReturnType<typeof debugLog>, what: string, fn: () => T): T {
  if (!log) return fn();
  const t0 = performance.now();
  const r = fn();
  log(what, performance.now() - t0);
  return r;
}

/** A line for the runtime's log over the report channel; dropped once nobody reads it. */
function reportLine(msg: object): void {
  try {
    if (errorChannelGone) throw new Error("fd 4 is a preserved fd now");
    writeSync(ERROR_FD, `${JSON.stringify(msg)}\n`);
  } catch {
    /* nobody to tell */
  }
}

/** Something for the runtime's log (the parent logs it), never the container's stderr. */
export function warn(message: string): void {
  reportLine({ warning: message });
}

/** Sends the failure to the parent (which prints it) and exits with its code. */
function fail(e: unknown): never {
  const code = e instanceof UserError ? e.exitCode : 125;
  const message = e instanceof Error ? e.message : String(e);
  const mountpoints = undoMountpoints();
  try {
    if (errorChannelGone) throw new Error("fd 4 is a preserved fd now");
    writeSync(ERROR_FD, `${JSON.stringify({ message, code, ...(mountpoints.length && { mountpoints }) })}\n`);
  } catch {
    writeSync(2, `mini: ${message}\n`);
  }
  process.exit(code);
}

let startFifo: number | undefined;
/** Set once --preserve-fds has put the engine's fds over 3, 4, ...: errors go to stderr then. */
let errorChannelGone = false;
/** With no_new_privs the filter is loaded last, right before execve (runc's order), so that the
 *  child stage's own remaining calls (executable lookup, fifo wait, close_range) run unfiltered. */
let lateSeccomp: (() => void) | undefined;

/**
 * The loader for cfg.seccomp (compiled by the parent, for the thread that execs). With a
 * listener, the notify fd goes to it at once with the state (sendmsg and close are the only
 * calls this stage makes under a filter that may notify).
 */
function seccompLoader(cfg: ChildConfig, log: ReturnType<typeof debugLog>): (() => void) | undefined {
  if (!cfg.seccomp) return undefined;
  const program = Buffer.from(cfg.seccomp.program, "base64");
  const { flags, listener } = cfg.seccomp;
  const { seccompSetModeFilter } = require("../sys/seccomp.ts") as typeof import("../sys/seccomp.ts");
  let sock = listener && mountFds[listener.fd];
  // Out of the way of --preserve-fds, which puts the engine's fds on 3.. before a late filter loads.
  const preserved = 3 + (cfg.oci?.preserveFds ?? 0);
  if (sock !== undefined && sock < preserved + 3) sock = sys.fcntl(sock, C.F_DUPFD_CLOEXEC, preserved + 64);
  const state = listener && Buffer.from(listener.state);
  return () =>
    step(log, `seccomp filter (${program.length / 8} instructions)`, () => {
      const notifyFd = seccompSetModeFilter(program, flags);
      if (sock === undefined || notifyFd === undefined) return;
      sendFds(sock, [notifyFd], state!, "the seccomp listener");
      sys.close(notifyFd);
      sys.close(sock);
    });
}

/** A /proc, /sys or cgroup file written whole; a failure names the write, `what` and errno. */
function writeKernelFile(path: string, value: string, what = path): void {
  try {
    writeFileSync(path, value);
  } catch (e) {
    throw fromNodeError(e, "write", what);
  }
}

function setup(cfg: ChildConfig): { path: string; args: string[]; env: string[] } {
  const log = debugLog(cfg.debug);
  const p = cfg.process;
  for (const f of cfg.cgroupTasks)
    step(log, `join cgroup ${f}`, () => {
      writeKernelFile(f, "0");
    });
  if (cfg.loopbackUp) step(log, "network: lo up", () => interfaceUp("lo"));
  for (const j of cfg.joinNamespaces ?? [])
    step(log, `setns ${j.path}`, () => {
      const fd = sys.open(j.path, C.O_RDONLY | C.O_CLOEXEC);
      // A mount namespace can only be joined by a thread whose filesystem context is its own.
      if (j.flag === C.CLONE_NEWNS) sys.unshare(C.CLONE_FS);
      try {
        sys.setns(fd, j.flag, j.path);
      } finally {
        sys.close(fd);
      }
    });
  // Since Linux 6.2 joining a cpuset no longer widens the affinity inherited from mini (runc resets it).
  const resetAffinity = () => {
    const affinity = (require("./process-attrs.ts") as typeof import("./process-attrs.ts")).resetCpuAffinity();
    if (affinity) warn(affinity);
  };
  const joinedFd = cfg.cgroupsJoinedFd === undefined ? undefined : mountFds[cfg.cgroupsJoinedFd];
  // Joined by the parent meanwhile: the cgroup namespace waits for it (cgroups/join.ts).
  const lateFlags = joinedFd === undefined ? 0 : cfg.unshareFlags & C.CLONE_NEWCGROUP;
  const awaitCgroups = () => {
    if (joinedFd === undefined || cfg.cgroupsJoinedFd === undefined) return;
    cfg.cgroupsJoinedFd = undefined;
    step(log, "wait for the parent to move this process into its cgroups", () => {
      const n = readSync(joinedFd, Buffer.alloc(1));
      sys.close(joinedFd);
      if (n !== 1) throw new UserError("the runtime could not move the container into its cgroups");
    });
    resetAffinity();
    if (lateFlags) step(log, `unshare 0x${lateFlags.toString(16)}`, () => sys.unshare(lateFlags));
  };
  if (joinedFd === undefined) resetAffinity();
  const flags = cfg.unshareFlags & ~lateFlags;
  step(log, `unshare 0x${flags.toString(16)}`, () => sys.unshare(flags));
  // A new time namespace: its clocks' offsets before any process is in it (execve moves us in).
  if (cfg.timeOffsets)
    step(log, "time namespace offsets", () => writeKernelFile("/proc/self/timens_offsets", cfg.timeOffsets!));
  for (const [k, v] of Object.entries(cfg.sysctl ?? {}))
    step(log, `sysctl ${k}=${v}`, () => writeKernelFile(`/proc/sys/${k.replace(/\./g, "/")}`, v));
  // OCI create: the fifo is on the host, so it is opened before pivot_root; the console after
  // it (its pty comes from the container's devpts).
  const oci = cfg.oci && (require("./child-oci.ts") as typeof import("./child-oci.ts"));
  if (cfg.oci)
    startFifo = oci!.openStartFifo(
      cfg.oci.fifoFd !== undefined ? `/proc/self/fd/${mountFds[cfg.oci.fifoFd]}` : cfg.oci.fifo,
    );
  applyRootfs(
    cfg.rootfs,
    cfg.ops,
    log,
    {
      beforeCgroupMount: awaitCgroups,
      beforePivot: () => {
        awaitCgroups();
        if (cfg.hooks?.createContainer)
          step(log, "createContainer hooks", () =>
            hooks().runHooks(cfg.hooks, "createContainer", cfg.hooks!.state, cfg.hooks!.env),
          );
      },
      // The console before the plan's read-only remounts (a read-only /dev gets its /dev/console).
      atFinalize:
        cfg.console &&
        (() =>
          step(log, "console: a pty of the container's devpts, its master out", () =>
            (require("./child-console.ts") as typeof import("./child-console.ts")).setupConsole(
              CONSOLE_FD,
              cfg.console!.size,
            ),
          )),
    },
    mountFds,
  );
  awaitCgroups();
  if (cfg.hostname) step(log, `sethostname ${cfg.hostname}`, () => sys.sethostname(cfg.hostname!));
  if (cfg.domainname) step(log, `setdomainname ${cfg.domainname}`, () => sys.setdomainname(cfg.domainname!));
  step(log, `chdir ${p.cwd}`, () => enterCwd(p.cwd));
  // CVE-2024-21626: a cwd like /proc/self/fd/N naming a host directory fd would leave the
  // container's root. The kernel marks such a cwd "(unreachable)".
  if (!sys.getcwd().startsWith("/")) throw new UserError(`working directory ${p.cwd} is outside the container`);
  if (p.oomScoreAdj !== undefined)
    step(log, `oom_score_adj ${p.oomScoreAdj}`, () => {
      try {
        writeKernelFile("/proc/self/oom_score_adj", String(p.oomScoreAdj), `/proc/self/oom_score_adj ${p.oomScoreAdj}`);
      } catch (e) {
        if (e instanceof SyscallError && e.code === "EACCES")
          e.message += " (lowering the OOM score below mini's own needs CAP_SYS_RESOURCE)";
        throw e;
      }
    });
  if (cfg.attrs)
    step(log, "personality, scheduler, I/O priority", () =>
      (require("./process-attrs.ts") as typeof import("./process-attrs.ts")).applyProcessAttrs(cfg.attrs!),
    );
  // Every fd beyond stdio closes at exec. Done before the seccomp filter, which may not allow
  // close_range (the fds this stage still needs are close-on-exec already).
  sys.closeRangeCloexec(3);
  const loadSeccomp = seccompLoader(cfg, log);
  if (p.noNewPrivileges) lateSeccomp = loadSeccomp;
  step(log, "security (rlimits, user, capabilities, no_new_privs)", () =>
    applyProcessSecurity(p, { loadSeccomp: p.noNewPrivileges ? undefined : loadSeccomp, warn }),
  );
  const args = p.args ?? [];
  // runc: HOME from the container's passwd when the config has none (read inside this root).
  const env = p.env?.some((e) => e.startsWith("HOME="))
    ? p.env
    : (() => {
        const { homeFor, rootfsReader } = require("../config/user.ts") as typeof import("../config/user.ts");
        return homeFor(p.env ?? [], p.user?.uid ?? 0, rootfsReader("/"));
      })();
  const path = step(log, `look up ${args[0]}`, () => findExecutable(args[0], env));
  return { path, args, env };
}

function enterCwd(cwd: string): void {
  try {
    sys.chdir(cwd);
    return;
  } catch (e) {
    if (!(e instanceof SyscallError) || e.code !== "ENOENT") {
      if (e instanceof SyscallError && e.code === "ENOTDIR")
        throw new UserError(`working directory ${cwd} is not a directory`);
      throw e;
    }
  }
  const { mkdirSync } = require("node:fs") as typeof import("node:fs");
  try {
    mkdirSync(cwd, { recursive: true, mode: 0o755 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOTDIR" || err.code === "EEXIST")
      throw new UserError(`working directory ${cwd} is not a directory`);
    throw new SyscallError("mkdir", cwd, Math.abs(err.errno ?? 0));
  }
  sys.chdir(cwd);
}

/**
 * From source (bun src/main.ts) a require() after pivot_root would look for its file inside the
 * container: the modules (and the shim's file) loaded on demand load now. (The binary's are inside it.)
 */
function loadOnDemandModulesFromSource(cfg: ChildConfig): void {
  if (Bun.main.startsWith("/$bunfs/")) return;
  hooks();
  for (const m of [
    "../sys/seccomp.ts",
    "../sys/sched.ts",
    "./process-attrs.ts",
    "./child-oci.ts",
    "./child-console.ts",
    "../config/user.ts",
  ])
    require(m);
  if (cfg.init) (require("./shim.ts") as typeof import("./shim.ts")).shimFd();
}

/** Foreground runs pass the parent's pid: the container dies with it (and never outlives it). */
function dieWithParent(parentPid: string | undefined): void {
  if (!parentPid) return;
  sys.prctl(C.PR_SET_PDEATHSIG, C.SIGNALS.SIGKILL, 0, "PR_SET_PDEATHSIG");
  // In a new pid namespace the parent shows as pid 0; outside it, as its pid. Either way, 1 means
  // it died before the line above and we were re-parented.
  if (process.ppid === 1 && parentPid !== "1") process.exit(125);
}

export function childMain(parentPid?: string): void {
  let target: { path: string; args: string[]; env: string[] };
  let cfg: ChildConfig;
  try {
    dieWithParent(parentPid);
    cfg = readConfig();
    loadOnDemandModulesFromSource(cfg);
    target = setup(cfg);
    if (startFifo !== undefined) (require("./child-oci.ts") as typeof import("./child-oci.ts")).awaitStart(startFifo);
    // startContainer hooks without an env of their own get the process's (runc's SetDefaultEnv).
    if (cfg.hooks?.startContainer)
      hooks().runHooks(cfg.hooks, "startContainer", { ...cfg.hooks.state, status: "created" }, cfg.process.env ?? []);
  } catch (e) {
    fail(e);
  }
  // --init: PID 1 is mini-shim's init (a sealed memfd of the embedded copy), the command its child.
  const init = cfg.init ? (require("./shim.ts") as typeof import("./shim.ts")).shimFd() : undefined;
  try {
    sys.resetSignals();
    // OCI --preserve-fds: the engine's fds into place (ascending: a target never hits a source still to move).
    if (cfg.oci?.preserveFds) errorChannelGone = true;
    for (let i = 0; i < (cfg.oci?.preserveFds ?? 0); i++) sys.dup2(PRESERVED_FDS_AT + i, 3 + i);
    lateSeccomp?.();
  } catch (e) {
    fail(e);
  }
  try {
    if (init !== undefined) sys.fexecve(init, ["mini-init", "init", "--", target.path, ...target.args], target.env);
    sys.execve(target.path, target.args, target.env);
  } catch (e) {
    const err = e as SyscallError;
    const code = err.code === "ENOENT" ? 127 : 126;
    const why = err.code === "E2BIG" ? " (the arguments and environment are more than the kernel takes)" : "";
    fail(new UserError(`exec ${target.args[0]}: ${err.code ?? err.message}${why}`, code));
  }
}
