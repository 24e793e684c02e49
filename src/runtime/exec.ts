// The one exec use case (`mini exec` and OCI `exec`): a command in a running container. The
// caller decides what the command gets (process: user, capabilities, no_new_privs, cwd, env,
// rlimits; the container's own unless overridden); this module joins it through mini-shim's exec
// mode (joining user and mount namespaces needs a single-threaded process), wires its terminal
// or stdio, forwards signals and returns its exit status.
import { statSync } from "node:fs";
import { envRecord } from "../config/env.ts";
import * as log from "../log.ts";
import type { Process, User } from "../config/types.ts";
import { capsToMask } from "../config/capabilities.ts";
import { NAMESPACE_FLAGS, NAMESPACE_FILES } from "../sys/constants.ts";
import { type ProcessAttrs, processAttrArgs } from "./process-attrs.ts";
import { rlimitResource } from "./security.ts";

/** Joined in this order: the user namespace first (it grants the rights to join the others), mount last. */
const JOIN_ORDER = ["user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount"] as const;

export interface ExecPlan {
  /** The container's init: its namespaces are joined. */
  pid: number;
  process: Process;
  cgroupProcs: string[];
  /** The command's fd 0 is a terminal: it becomes its controlling tty, in a session of its own. */
  tty: boolean;
  /** Return once it runs (the engine's subreaper, or nobody, waits for it). */
  detach: boolean;
  /** The command's pid (host view) is written here once it runs. */
  pidFile?: string;
  /** The container's linux.seccomp: the command gets the same filter. */
  seccomp?: import("../config/types.ts").LinuxSeccomp | null;
  /** personality, scheduler, I/O priority (process-attrs.ts). */
  attrs?: ProcessAttrs;
  /** A failure before the command runs exits with this (runc exec: 255); else docker's 125/126/127. */
  setupExit?: number;
  /** SCMP_ACT_NOTIFY: the state JSON (without "pid": the shim adds the command's) for the listener. */
  seccompState?: object;
  /** --pidfd-socket: a pidfd of the command goes there. */
  pidfdSocket?: string;
  /** --preserve-fds N: this process's fds 3..3+N-1 become the command's. */
  preserveFds?: number;
}

const inode = (p: string) => {
  try {
    return statSync(p).ino;
  } catch {
    return undefined;
  }
};

/** --ns PATH:FLAG for each namespace of `pid` that differs from ours. */
function namespaceArgs(pid: number): string[] {
  const out: string[] = [];
  for (const type of JOIN_ORDER) {
    const file = NAMESPACE_FILES[type];
    const theirs = `/proc/${pid}/ns/${file}`;
    const ino = inode(theirs);
    if (ino === undefined || ino === inode(`/proc/self/ns/${file}`)) continue;
    out.push("--ns", `${theirs}:${NAMESPACE_FLAGS[type]!.toString(16)}`);
  }
  return out;
}

const hex = (m: bigint) => m.toString(16);

/** The shim's argv (everything but the environment, which it passes on as its own). */
export function shimExecArgs(plan: ExecPlan, fds: { listener?: number; pidfd?: number } = {}): string[] {
  const p = plan.process;
  const args = ["exec", ...namespaceArgs(plan.pid)];
  // No mount namespace of its own (it shares ours): the command is chroot'ed into its root.
  if (inode(`/proc/${plan.pid}/ns/mnt`) === inode("/proc/self/ns/mnt")) args.push("--chroot", `/proc/${plan.pid}/root`);
  args.push("--umask", String(p.user?.umask ?? 0o022));
  if (p.execCPUAffinity?.initial) args.push("--cpu-initial", p.execCPUAffinity.initial);
  if (p.execCPUAffinity?.final) args.push("--cpu-final", p.execCPUAffinity.final);
  if (plan.attrs) args.push(...processAttrArgs(plan.attrs));
  if (plan.setupExit !== undefined) args.push("--setup-exit", String(plan.setupExit));
  if (plan.preserveFds) args.push("--preserve-fds", String(plan.preserveFds));
  if (fds.listener !== undefined && plan.seccompState)
    args.push("--seccomp-listener-fd", String(fds.listener), "--seccomp-state", JSON.stringify(plan.seccompState));
  if (fds.pidfd !== undefined) args.push("--pidfd-fd", String(fds.pidfd));
  for (const f of plan.cgroupProcs) args.push("--cgroup", f);
  const u: User = p.user ?? { uid: 0, gid: 0 };
  args.push("--uid", String(u.uid), "--gid", String(u.gid), "--groups", (u.additionalGids ?? [u.gid]).join(","));
  const c = p.capabilities;
  if (c)
    args.push(
      "--caps",
      [c.bounding, c.effective, c.permitted, c.inheritable, c.ambient].map((s) => hex(capsToMask(s))).join(","),
    );
  if (p.noNewPrivileges) args.push("--nnp");
  args.push("--cwd", p.cwd || "/");
  for (const r of p.rlimits ?? []) {
    const clamp = (v: number) => (v < 0 || v >= 2 ** 63 ? "18446744073709551615" : String(Math.floor(v)));
    args.push("--rlimit", `${rlimitResource(r.type)[1]}:${clamp(r.soft)}:${clamp(r.hard)}`);
  }
  if (plan.tty) args.push("--tty");
  if (plan.detach) args.push("--detach");
  if (plan.pidFile) args.push("--pid-file", plan.pidFile);
  if (plan.seccomp) args.push(...seccompArgs(plan.seccomp));
  return [...args, "--", ...(p.args ?? [])];
}

/** The compiled filter in a memfd the shim reads (before it changes namespaces). */
function seccompArgs(profile: import("../config/types.ts").LinuxSeccomp): string[] {
  const { compileForProcess } = require("../seccomp/index.ts") as typeof import("../seccomp/index.ts");
  const { sealedMemfd } = require("../sys/calls.ts") as typeof import("../sys/calls.ts");
  const { program, flags } = compileForProcess(profile);
  const fd = sealedMemfd("mini-seccomp", program);
  return ["--seccomp", `/proc/${process.pid}/fd/${fd}`, "--seccomp-flags", String(flags)];
}

/**
 * The shim's fds beyond stdio: the preserved ones first (3..), then connections this process (the
 * runtime) makes to the seccomp agent and the --pidfd-socket, and where they land in the shim.
 */
function connectExecSockets(plan: ExecPlan): {
  fds: number[];
  at: { listener?: number; pidfd?: number };
  close: () => void;
} {
  const { unixConnect } = require("../sys/socket.ts") as typeof import("../sys/socket.ts");
  const { close } = require("../sys/calls.ts") as typeof import("../sys/calls.ts");
  const fds: number[] = Array.from({ length: plan.preserveFds ?? 0 }, (_, i) => 3 + i);
  const mine: number[] = [];
  const at: { listener?: number; pidfd?: number } = {};
  const connect = (path: string, what: string) => {
    try {
      const fd = unixConnect(path);
      mine.push(fd);
      fds.push(fd);
      return 2 + fds.length;
    } catch (e) {
      for (const fd of mine) close(fd);
      const { UserError } = require("../common/errors.ts") as typeof import("../common/errors.ts");
      throw new UserError(`${what}: ${(e as Error).message}`);
    }
  };
  const listener = plan.seccompState && plan.seccomp?.listenerPath;
  if (listener && plan.seccomp?.syscalls?.some((s) => s.action === "SCMP_ACT_NOTIFY"))
    at.listener = connect(listener, "linux.seccomp.listenerPath");
  if (plan.pidfdSocket) at.pidfd = connect(plan.pidfdSocket, "--pidfd-socket");
  return {
    fds,
    at,
    close: () => {
      for (const fd of mine) close(fd);
    },
  };
}

/** Where the command's stdio goes. */
export interface ExecIO {
  /** A pty: relayed to the caller's terminal (-t), or its master sent to an engine's console socket. */
  terminal?: { attach: { interactive: boolean } } | { consoleSocket: string };
  /** Without a terminal: the caller's stdio (docker: a host tty on stdin is relayed through a pipe), an engine's exactly, or none (-d). */
  stdio: "caller" | "inherit" | "none";
  /** With stdio "caller": keep stdin open (-i); otherwise it reads /dev/null. */
  interactive?: boolean;
}

/** Runs plan.process in the container; its exit status (0 at once with plan.detach). */
export async function execInContainer(plan: ExecPlan, io: ExecIO): Promise<number> {
  const { shimPath } = require("./shim.ts") as typeof import("./shim.ts");
  const extra = connectExecSockets(plan);
  const argv = [shimPath(), ...shimExecArgs(plan, extra.at)];
  const env = envRecord(plan.process.env ?? []);
  let proc: import("bun").Subprocess;
  let term: import("./tty.ts").AttachedTerminal | undefined;
  let relay: import("./console.ts").TerminalLike | undefined;
  if (io.terminal) {
    // A pty of the container's own devpts (`tty` inside names it); the shim gets its slave as
    // stdio and makes it the command's controlling tty in a new session.
    const { close } = require("../sys/calls.ts") as typeof import("../sys/calls.ts");
    const { openContainerPty, PtyRelay, setWindowSize } = require("./console.ts") as typeof import("./console.ts");
    const { master, slave } = openContainerPty(plan.pid);
    try {
      if ("consoleSocket" in io.terminal) {
        // The engine's console: the master goes over its socket.
        const size = plan.process.consoleSize;
        if (size) setWindowSize(slave, size.height, size.width);
        const { sendFd, unixConnect } = require("../sys/socket.ts") as typeof import("../sys/socket.ts");
        try {
          const sock = unixConnect(io.terminal.consoleSocket);
          sendFd(sock, master, "/dev/ptmx", "console socket");
          close(sock);
        } finally {
          close(master);
        }
      } else {
        const { attachTerminal } = require("./tty.ts") as typeof import("./tty.ts");
        term = attachTerminal({ interactive: io.terminal.attach.interactive });
        const t = term.options;
        setWindowSize(slave, t.rows, t.cols);
        relay = new PtyRelay(master, (d) => t.data(d));
      }
      proc = Bun.spawn(argv, { env, stdio: [slave, slave, slave, ...extra.fds], detached: true });
    } finally {
      close(slave);
      extra.close();
    }
  } else {
    const { relayStdin, stdinChoice } = require("./launch.ts") as typeof import("./launch.ts");
    const stdin =
      io.stdio === "none"
        ? "ignore"
        : stdinChoice({ interactive: !!io.interactive, dieWithParent: false, inheritStdio: io.stdio === "inherit" });
    const out = io.stdio === "none" ? "ignore" : "inherit";
    // docker: a session of its own, so the host's terminal is never its controlling tty (^C reaches
    // mini, which forwards it). An engine's exec stays in the engine's session, as with runc.
    try {
      proc = Bun.spawn(argv, { env, stdio: [stdin, out, out, ...extra.fds], detached: io.stdio !== "inherit" });
    } finally {
      extra.close();
    }
    if (stdin === "pipe") relayStdin(proc.stdin as import("bun").FileSink);
  }
  log.debug(`mini-shim exec started, pid ${proc.pid}: ${argv.slice(1).join(" ")}`);
  if (term && relay) term.start(relay);
  const { forwardSignals } = require("./signals.ts") as typeof import("./signals.ts");
  const stopForwarding = forwardSignals((sig) => proc.kill(sig));
  term?.onHangup(() => proc.kill("SIGHUP"));
  const code = await proc.exited;
  stopForwarding();
  await term?.stop();
  return code;
}
