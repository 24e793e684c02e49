// `mini run` in the foreground: cgroups, namespaces, the child stage, signals, the exit status,
// and the clean-up that leaves nothing behind.
import { chmodSync, mkdirSync, readSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";
import * as cgroups from "../cgroups/index.ts";
import * as log from "../log.ts";
import type { Namespace, Spec } from "../config/types.ts";
import { UserError } from "../common/errors.ts";
import * as C from "../sys/constants.ts";
import { ensureEtcMountpoints, etcFilePaths, writeEtcFiles } from "./etc-files.ts";
import { planNamespaces, type NamespaceSetup } from "./namespaces.ts";
import { planRootfs } from "./rootfs-plan.ts";
import { spawnChild, spawnInUserNamespace, type StartedChild, type UserNamespace } from "./spawn-child.ts";
import { attachTerminal, type AttachedTerminal } from "./tty.ts";
import { writeOwnerRecord } from "../state/owner.ts";
import { compileForChild } from "../seccomp/index.ts";
import type { MonitorFiles } from "./monitor.ts";

export interface RunOptions {
  id: string;
  stateDir: string;
  /** Write /etc/hostname, hosts, resolv.conf into stateDir (flags path; bundles bring their own). */
  etc?: { hostname: string; hostNetwork: boolean };
  interactive: boolean;
  init: boolean;
  noPivot: boolean;
  /** An image rootfs: overlay of these layers; `dir` (upper, work, rootfs) is removed afterwards. */
  overlay?: { lower: string[]; dir: string };
  /** More directories removed with a foreground run (the container's record). */
  dirs?: string[];
  /** Detached: mini-shim's monitor is the container's parent; runContainer returns 0 once the command runs. */
  detached?: MonitorFiles;
  /** The cgroup plan, before any cgroup exists (a record of what to remove if mini is killed). */
  onCgroups?: (cg: cgroups.CgroupPlan) => void;
  /** The container's process exists (its pid; for detached runs, the monitor's too). */
  onStarted?: (pid: number, monitorPid?: number) => void;
}

export { etcFilePaths };

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const;
const HANGUP_GRACE_MS = 2000;

function checkRootfs(path: string): void {
  let st: import("node:fs").Stats;
  try {
    st = statSync(path);
  } catch {
    throw new UserError(`rootfs ${path}: no such directory`);
  }
  if (!st.isDirectory()) throw new UserError(`rootfs ${path}: not a directory`);
}

function readChildError(fd: number): { message: string; code: number } | undefined {
  const buf = Buffer.alloc(8192);
  let n = 0;
  try {
    n = readSync(fd, buf, 0, buf.length, null);
  } catch {
    return undefined;
  }
  if (n <= 0) return undefined;
  try {
    return JSON.parse(buf.toString("utf8", 0, n));
  } catch {
    return { message: buf.toString("utf8", 0, n), code: 125 };
  }
}

/** A child stage started before the spec is complete (its Bun start-up overlaps the parent's work). */
export interface Prestarted {
  ns: NamespaceSetup;
  child: StartedChild;
  term?: AttachedTerminal;
  t0: number;
  monitorPid?: number;
}

export interface PrestartOptions {
  namespaces: Namespace[] | undefined;
  userns?: UserNamespace;
  interactive: boolean;
  tty: boolean;
}

/** Starts the child stage in its namespaces; it waits for its config (runContainer sends it). */
export function prestart(p: PrestartOptions): Prestarted {
  if (process.getuid?.() !== 0)
    throw new UserError("mini run needs root (user namespaces for unprivileged users are not supported yet)");
  const ns = planNamespaces(p.namespaces);
  log.debug(
    `namespaces: unshare 0x${ns.unshareFlags.toString(16)} in the parent, 0x${ns.childFlags.toString(16)} in the child${ns.join.length ? `, join ${ns.join.map((j) => j.path).join(" ")}` : ""}`,
  );
  const term = p.tty ? attachTerminal({ interactive: p.interactive }) : undefined;
  const t0 = performance.now();
  const io = { interactive: p.interactive, terminal: term?.options, dieWithParent: true };
  const child = p.userns ? spawnInUserNamespace(ns, io, p.userns) : spawnChild(ns, io);
  log.debug(`spawn child stage pid ${child.proc.pid}`, performance.now() - t0);
  return { ns, child, term, t0 };
}

/** Ends a prestarted child that will never get its config. */
export async function abandon(p: Prestarted): Promise<void> {
  p.child.proc.kill("SIGKILL");
  await p.child.proc.exited;
}

const userNamespaceOf = (spec: Spec): UserNamespace | undefined =>
  spec.linux?.namespaces?.some((n) => n.type === "user")
    ? { uidMappings: spec.linux.uidMappings ?? [], gidMappings: spec.linux.gidMappings ?? [] }
    : undefined;

/**
 * Runs the container in the foreground and returns its exit status. `pre` is a child stage the
 * caller already started for this spec's namespaces (else it is started here).
 */
export async function runContainer(spec: Spec, o: RunOptions, pre?: Prestarted): Promise<number> {
  let child: StartedChild | undefined = pre?.child;
  let cg: cgroups.CgroupPlan | undefined;
  let stateDir: string | undefined;
  try {
    const rootfs = spec.root?.path;
    if (!rootfs) throw new UserError("root.path is missing");
    checkRootfs(rootfs);
    if (!spec.process?.args?.length) throw new UserError("process.args is empty: no command to run");
    const ns = planNamespaces(spec.linux?.namespaces);
    if (pre && (pre.ns.unshareFlags !== ns.unshareFlags || pre.ns.childFlags !== ns.childFlags))
      throw new Error("internal: the prestarted child has other namespaces than the spec");
    const overlay = o.overlay && {
      lower: o.overlay.lower,
      upper: `${o.overlay.dir}/upper`,
      work: `${o.overlay.dir}/work`,
    };
    const started =
      pre ??
      (o.detached
        ? startMonitor(ns, userNamespaceOf(spec), o.detached, o.interactive)
        : prestart({
            namespaces: spec.linux?.namespaces,
            userns: userNamespaceOf(spec),
            interactive: o.interactive,
            tty: !!spec.process.terminal,
          }));
    child = started.child;

    // While the child stage starts up: its /etc files and cgroups.
    // 0711: a user-namespaced container root (an unprivileged host uid) must reach the files it binds.
    stateDir = o.stateDir;
    mkdirSync(stateDir, { recursive: true, mode: 0o711 });
    chmodSync(dirname(stateDir), 0o711);
    o.onStarted?.(child.proc.pid, started.monitorPid);
    if (o.overlay)
      for (const d of ["upper", "work"]) mkdirSync(`${o.overlay.dir}/${d}`, { recursive: true, mode: 0o755 });
    if (o.etc) {
      writeEtcFiles(etcFilePaths(stateDir), o.etc.hostname, o.etc.hostNetwork);
      // Their mount points: a user-namespaced root can't create files in a host-owned rootfs.
      if (!o.overlay) ensureEtcMountpoints(rootfs);
    }
    cg = cgroups.planCgroupsOnHost({
      name: `mini-${o.id}`,
      cgroupsPath: spec.linux?.cgroupsPath,
      resources: spec.linux?.resources,
    });
    o.onCgroups?.(cg);
    const ops = planRootfs(spec, {
      noPivot: o.noPivot,
      userns: !!userNamespaceOf(spec),
      overlay,
      cgroups: cgroups.cgroupMountLeaves(cg),
    });
    if (!o.detached) writeOwnerRecord(stateDir, cg, [...(o.overlay ? [o.overlay.dir] : []), ...(o.dirs ?? [])]);
    cgroups.applyCgroups(cg, log.isDebug() ? (m: string, ms: number) => log.debug(m, ms) : undefined);
    for (const w of cg.warnings) log.warn(w);
    child.send({
      rootfs,
      ops,
      hostname: spec.hostname,
      domainname: spec.domainname,
      cgroupProcs: cg.procs,
      unshareFlags: ns.childFlags,
      joinNamespaces: ns.childJoin.map((j) => ({ path: j.path, flag: j.flag })),
      process: spec.process,
      sysctl: spec.linux?.sysctl,
      init: o.init,
      seccomp: compileForChild(spec.linux?.seccomp),
      // A detached child stage's stderr is the container's log: its steps are not the container's output.
      debug: log.isDebug() && !o.detached,
    });
    log.debug("config sent to the child stage");
    if (o.detached) {
      const err = readChildError(started.child.errorFd);
      if (err) throw new UserError(err.message, err.code);
      log.debug("the command runs", performance.now() - started.t0);
      child = undefined;
      return 0;
    }
    child = undefined;
    return await wait(started.child, cg, started.term, started.t0);
  } finally {
    // A detached container that started is the monitor's and the reaper's from here.
    if (!o.detached || child) {
      if (child) {
        child.proc.kill("SIGKILL");
        await child.proc.exited;
      }
      log.timed("remove cgroups", () => cg && cgroups.removeCgroups(cg));
      if (stateDir) rmSync(stateDir, { recursive: true, force: true });
      if (o.overlay && !o.detached) rmSync(o.overlay.dir, { recursive: true, force: true });
      for (const d of o.detached ? [] : (o.dirs ?? [])) rmSync(d, { recursive: true, force: true });
    }
  }
}

function startMonitor(
  ns: NamespaceSetup,
  userns: UserNamespace | undefined,
  files: MonitorFiles,
  interactive: boolean,
): Prestarted {
  const { spawnViaMonitor } = require("./monitor.ts") as typeof import("./monitor.ts");
  const t0 = performance.now();
  const child = spawnViaMonitor(ns, userns, files, interactive);
  log.debug(`monitor ${child.monitorPid} cloned the child stage, pid ${child.proc.pid}`, performance.now() - t0);
  return { ns, child, t0, monitorPid: child.monitorPid };
}

async function wait(
  child: StartedChild,
  cg: cgroups.CgroupPlan,
  term: AttachedTerminal | undefined,
  t0: number,
): Promise<number> {
  const { proc, errorFd } = child;
  term?.start(proc);
  let hangupTimer: ReturnType<typeof setTimeout> | undefined;
  const hangup = () => {
    proc.kill("SIGHUP");
    hangupTimer ??= setTimeout(() => proc.kill("SIGKILL"), HANGUP_GRACE_MS);
  };
  const handlers = FORWARDED.map((sig) => {
    const h = sig === "SIGHUP" ? hangup : () => proc.kill(sig);
    process.on(sig, h);
    return [sig, h] as const;
  });
  term?.onHangup(hangup);

  let code = await proc.exited;

  if (hangupTimer) clearTimeout(hangupTimer);
  for (const [sig, h] of handlers) process.off(sig, h);
  await term?.stop();
  log.debug(`container exited with ${code}${proc.signalCode ? ` (${proc.signalCode})` : ""}`, performance.now() - t0);

  const childError = readChildError(errorFd);
  if (childError) {
    log.error(childError.message);
    return childError.code;
  }
  if (proc.signalCode === "SIGKILL" && cgroups.oomKilled(cg)) {
    const limit = cgroups.memoryLimit(cg);
    log.error(`container killed: out of memory${limit ? ` (memory limit ${formatBytes(limit)})` : ""}`);
    code = 128 + C.SIGNALS.SIGKILL;
  }
  return code;
}

function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1 && n % 1024 === 0) {
    n /= 1024;
    i++;
  }
  return `${n} ${units[i]}`;
}
