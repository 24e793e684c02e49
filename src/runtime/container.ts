// The one container-creation pipeline (crun's libcrun_container_create, youki's builder), used by
// `mini run` in the foreground, `mini run -d` (through the monitor) and OCI `create`:
//   launch the child stage in its namespaces (or take one launched earlier: start-child.ts)
//   → the container's runtime files (/etc files, overlay dirs)
//   → plan its cgroups (recorded before they exist) → plan its rootfs → create the cgroups
//   → the caller's last step before the config (OCI: exec.fifo, createRuntime hooks)
//   → send the config: the child stage joins, mounts, pivots, drops privileges and execs.
//   → the network step (network-attach.ts: veths, addresses, ports, /etc/hosts), while the child
//     stage is already in its namespaces (lo: the child stage brings it up itself)
// On any failure everything it made is undone. Volumes plug in as a step here.
import { chmodSync, mkdirSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import * as cgroups from "../cgroups/index.ts";
import { UserError } from "../common/errors.ts";
import { ungrantableCaps } from "../config/capabilities.ts";
import { checkSysctls } from "../config/sysctl.ts";
import { boundingSet } from "../common/proc.ts";
import type { Hook, Spec } from "../config/types.ts";
import * as log from "../log.ts";
import { compileForChild } from "../seccomp/index.ts";
import { ownEnv } from "./hooks.ts";
import { CLONE_NEWNET, O_PATH } from "../sys/constants.ts";
import { hasProcessAttrs, planProcessAttrs } from "./process-attrs.ts";
import {
  connectListener,
  openMountSources,
  readJoinedMaps,
  timeOffsetsText,
  unmountHostRootfs,
  withListener,
} from "./handoff.ts";
import type { ChildConfig } from "./child-config.ts";
import { type ChildReport, readChildReport } from "./child-report.ts";
import { ensureEtcMountpoints, etcFilePaths, removeEtcMountpoints, writeEtcFiles } from "./etc-files.ts";
import type { ChildStage, LaunchChoice } from "./launch.ts";
import { isHostNamespace, type NamespaceSetup, planNamespaces } from "./namespaces.ts";
import { removeMountpoints } from "./rootfs-apply.ts";
import { planRootfs } from "./rootfs-plan.ts";
import type { AttachedTerminal } from "./tty.ts";
import { type LaunchedChild, launch, userNamespaceOf } from "./start-child.ts";
import { recvFd } from "../sys/socket.ts";
import * as sys from "../sys/calls.ts";
import { closeFd } from "./oci-io.ts";
import { PtyRelay, type TerminalLike } from "./console.ts";

/**
 * The pty master the child stage sends once its console is set up; undefined when it failed
 * first (it closed the socket: its report says why). Blocks for the child's setup (milliseconds).
 */
function receiveConsole(launched: LaunchedChild): TerminalLike | undefined {
  try {
    const master = recvFd(launched.consoleSock!, "the console socket");
    return master === undefined ? undefined : new PtyRelay(master, (d) => launched.term!.options.data(d));
  } finally {
    closeFd(launched.consoleSock!);
  }
}

/** What a container needs beyond its spec. */
export interface ContainerSetup {
  id: string;
  /** The cgroup name when the spec has no cgroupsPath. */
  cgroupName: string;
  launch: LaunchChoice;
  noPivot: boolean;
  /** mini's init as PID 1, the command as its child. */
  init?: boolean;
  /** process.terminal on the caller's terminal (docker -t, a bundle run in the foreground); not for OCI create. */
  attachTerminal?: boolean;
  /** Runtime files of a docker-style container (0711: a user-namespaced root must reach them). */
  runDir?: string;
  /** /etc/hostname, hosts, resolv.conf written into runDir (bundles bring their own). */
  etc?: { hostname: string; hostNetwork: boolean };
  /** An image rootfs: an overlay of these layers (top first); upper and work dirs under `dir`. */
  overlay?: { lower: string[]; dir: string };
  /** OCI create: the start fifo, the console socket, preserved fds. */
  oci?: {
    fifo: string;
    console: boolean;
    preserveFds: number;
  };
  /** The config's hooks that run in the container's namespaces (createContainer, startContainer). */
  hooks?: {
    createContainer?: Hook[];
    startContainer?: Hook[];
    /** The OCI state document they get (it knows the pid). */
    state: () => object;
  };
  /**
   * The cgroup plan, before any cgroup exists (a record of what to remove if mini is killed), and
   * for a container without a mount namespace of its own, its rootfs mounts (unmountHostRootfs).
   */
  onCgroups?: (plan: cgroups.CgroupPlan, hostRootfs?: { path: string; below: string }) => void;
  /** The child stage exists (and, detached, its monitor). */
  onStarted?: (pid: number, monitorPid?: number) => void;
  /** The last step before the config goes to the child (OCI: exec.fifo, createRuntime hooks). */
  beforeConfig?: (pid: number) => Promise<void> | void;
  /**
   * The network step (runtime/network-attach.ts) for the child stage `pid`, in its namespaces;
   * `detach` undoes it on failure (and is the caller's at the end).
   */
  network?: { attach(pid: number): Promise<void>; detach(): Promise<void> };
}

/** A created container: its child stage has its config and is on its way to exec (or to wait for start). */
export interface Container {
  readonly pid: number;
  readonly monitorPid?: number;
  readonly cgroups: cgroups.CgroupPlan;
  readonly child: ChildStage;
  readonly term?: AttachedTerminal;
  /** -t: the container's pty master, relayed to `term` (undefined when setup failed before it). */
  readonly terminal?: TerminalLike;
  /** When the launch began (debug timings). */
  readonly t0: number;
  /** The child's report: exec'd, created (OCI), or failed. */
  report(timeoutMs?: number): Promise<ChildReport | undefined>;
  /** No mount namespace of its own: the rootfs and the id of the mount below the container's (unmountHostRootfs). */
  readonly hostRootfs?: { path: string; below: string };
  /** Kills what still runs and removes its cgroups and runtime files. */
  destroy(): Promise<void>;
  /** Setup failed: once the child stage is gone, the mount points this run made in the rootfs go too. */
  undoMountpoints(report: Extract<ChildReport, { kind: "failed" }>): Promise<void>;
}

function checkRootfs(path: string | undefined): string {
  if (!path) throw new UserError("root.path is missing");
  let stat: import("node:fs").Stats;
  try {
    stat = statSync(path);
  } catch {
    throw new UserError(`rootfs ${path}: no such directory`);
  }
  if (!stat.isDirectory()) throw new UserError(`rootfs ${path}: not a directory`);
  return path;
}

/** Everything the child stage needs, decided here: it computes nothing. */
function childConfig(
  spec: Spec,
  setup: ContainerSetup,
  nsPlan: NamespaceSetup,
  cgroupTasks: string[],
  ops: ChildConfig["ops"],
  launched: LaunchedChild,
  listener?: { index: number; state: string },
) {
  const term = launched.term?.options;
  const console =
    launched.consoleSock !== undefined && term
      ? { size: { height: term.rows, width: term.cols } }
      : setup.oci?.console
        ? { size: spec.process!.consoleSize }
        : undefined;
  return {
    rootfs: spec.root!.path,
    ops,
    hostname: spec.hostname,
    domainname: spec.domainname,
    cgroupTasks,
    // A new network namespace gets lo up (as runc and crun do): the child stage does it, inside.
    loopbackUp: !!(nsPlan.unshareFlags & CLONE_NEWNET),
    unshareFlags: nsPlan.childFlags,
    joinNamespaces: nsPlan.childJoin.map((j) => ({ path: j.path, flag: j.flag })),
    process: spec.process!,
    sysctl: spec.linux?.sysctl,
    timeOffsets: timeOffsetsText(spec, nsPlan),
    attrs: hasProcessAttrs(spec) ? planProcessAttrs(spec) : undefined,
    init: !!setup.init,
    seccomp: withListener(compileForChild(spec.linux?.seccomp), listener),
    console,
    oci: setup.oci && ({ fifo: setup.oci.fifo, preserveFds: setup.oci.preserveFds } as ChildConfig["oci"]),
    hooks:
      setup.hooks && (setup.hooks.createContainer?.length || setup.hooks.startContainer?.length)
        ? {
            createContainer: setup.hooks.createContainer,
            startContainer: setup.hooks.startContainer,
            state: setup.hooks.state(),
            env: ownEnv(),
          }
        : undefined,
    // A detached child stage's stderr is the container's log: its steps are not the container's output.
    debug: log.isDebug() && setup.launch.mode === "direct",
  } satisfies ChildConfig;
}

/**
 * Creates the container: `launched` is a child stage the caller started early for this spec's
 * namespaces (else one is launched here). Undoes everything on failure.
 */
export async function createContainer(spec: Spec, setup: ContainerSetup, launched?: LaunchedChild): Promise<Container> {
  let started = launched;
  let cgroupPlan: cgroups.CgroupPlan | undefined;
  let exited = false;
  let madeMountpoints: string[] = [];
  let networked = false;
  let hostRootfs: { path: string; below: string } | undefined;
  let joined: Promise<void> | undefined;
  const destroy = async () => {
    if (started) {
      if (!exited) started.child.proc.kill("SIGKILL"); // never a signal to a pid that may be reused
      await started.child.proc.exited;
    }
    await joined?.catch(() => undefined);
    if (hostRootfs) unmountHostRootfs(hostRootfs.path, hostRootfs.below);
    if (networked) await setup.network?.detach();
    log.timed("remove cgroups", () => cgroupPlan && cgroups.removeCgroups(cgroupPlan));
    if (setup.runDir) rmSync(setup.runDir, { recursive: true, force: true });
    for (const d of ["upper", "work"])
      if (setup.overlay) rmSync(`${setup.overlay.dir}/${d}`, { recursive: true, force: true });
  };
  try {
    const rootfs = checkRootfs(spec.root?.path);
    if (!spec.process?.args?.length) throw new UserError("process.args is empty: no command to run");
    checkSysctls(spec.linux?.sysctl, spec.linux?.namespaces, isHostNamespace);
    const missing = ungrantableCaps(spec.process.capabilities as Record<string, string[]> | undefined, boundingSet());
    if (missing.length)
      throw new UserError(
        `process.capabilities: ${missing.join(", ")} can't be granted: not in this runtime's bounding set (the host withholds ${missing.length > 1 ? "them" : "it"})`,
      );
    const userns = userNamespaceOf(spec);
    const nsPlan = planNamespaces(spec.linux?.namespaces);
    if (nsPlan.hostMounts) {
      if (setup.overlay) throw new UserError("an image rootfs needs a mount namespace of the container's own");
      hostRootfs = { path: rootfs, below: String(sys.mountIdOf(rootfs)) };
    }
    if (
      started &&
      (started.nsPlan.unshareFlags !== nsPlan.unshareFlags || started.nsPlan.childFlags !== nsPlan.childFlags)
    )
      throw new Error("internal: the launched child stage has other namespaces than the spec");
    started ??= launch(spec.linux?.namespaces, userns, setup.launch, !!setup.attachTerminal && !!spec.process.terminal);
    const { child } = started;
    child.proc.exited.then(() => {
      exited = true;
    });
    if (userns?.path) readJoinedMaps(userns, child.proc.pid);
    // While the child stage starts up: its record, its cgroups (how it gets into them without
    // waiting on the kernel: cgroups/join.ts), then its runtime files.
    if (setup.runDir) {
      mkdirSync(setup.runDir, { recursive: true, mode: 0o711 });
      chmodSync(dirname(setup.runDir), 0o711);
    }
    setup.onStarted?.(child.proc.pid, child.monitorPid);
    cgroupPlan = cgroups.planCgroupsOnHost({
      name: setup.cgroupName,
      cgroupsPath: spec.linux?.cgroupsPath,
      resources: spec.linux?.resources,
      joinUnified: !!setup.oci, // runc's containers are in a hybrid host's cgroup2 hierarchy too
    });
    setup.onCgroups?.(cgroupPlan, hostRootfs);
    // A busy or frozen cgroup that was there before is refused untouched (not the container's to remove).
    const busy = cgroups.cgroupsUnusable(cgroupPlan, true);
    if (busy) {
      cgroupPlan = undefined;
      throw new UserError(busy);
    }
    const cgroupLog = log.isDebug() ? (m: string, ms: number) => log.debug(m, ms) : undefined;
    cgroups.applyCgroups(cgroupPlan, cgroupLog);
    // Made under a frozen parent: the child would stop for good on joining it.
    const frozen = cgroups.cgroupsUnusable(cgroupPlan, false);
    if (frozen) throw new UserError(frozen);
    const join = cgroups.planJoin(cgroupPlan, !userns);
    joined = cgroups.moveIntoCgroups(join.procs, child.proc.pid, cgroupLog);
    joined.catch(() => undefined); // awaited before the child's report is read; a failure is thrown there
    if (setup.runDir && setup.etc) writeEtcFiles(etcFilePaths(setup.runDir), setup.etc.hostname, setup.etc.hostNetwork);
    // Mount points for the /etc files: a user-namespaced root can't create them in a host-owned rootfs.
    if (setup.etc && !setup.overlay) madeMountpoints = ensureEtcMountpoints(rootfs);
    const overlay = setup.overlay && {
      lower: setup.overlay.lower,
      upper: `${setup.overlay.dir}/upper`,
      work: `${setup.overlay.dir}/work`,
    };
    if (overlay) for (const d of [overlay.upper, overlay.work]) mkdirSync(d, { recursive: true, mode: 0o755 });
    const ops = planRootfs(spec, {
      noPivot: setup.noPivot,
      userns: !!userns,
      overlay,
      cgroups: cgroups.cgroupMountLeaves(cgroupPlan),
      hostMounts: nsPlan.hostMounts,
    });
    // After the cgroups exist: the container's own cgroup directories are among the bind sources.
    const mountFds = openMountSources(ops, !!userns);
    for (const w of cgroupPlan.warnings) log.warn(w);
    if (setup.network) {
      networked = true;
      await setup.network.attach(child.proc.pid);
    }
    try {
      await setup.beforeConfig?.(child.proc.pid);
      // exec.fifo as an O_PATH fd the child reopens through /proc/self/fd (runc's way): the state
      // directory's path may not be one a user-namespaced root can walk.
      const fifo = setup.oci ? sys.open(setup.oci.fifo, O_PATH) : undefined;
      if (fifo !== undefined) mountFds.push(fifo);
      const fifoIndex = fifo !== undefined ? mountFds.length - 1 : undefined;
      const listener = connectListener(spec, setup.id, child.proc.pid, setup.hooks?.state());
      if (listener) mountFds.push(listener.fd);
      const sent = listener && { index: mountFds.length - 1, state: listener.state };
      const cfg: ChildConfig = childConfig(spec, setup, nsPlan, join.tasks, ops, started, sent);
      if (cfg.oci && fifoIndex !== undefined) cfg.oci.fifoFd = fifoIndex;
      // The cgroup.procs moves finish while the child stage builds the rootfs: a byte on this pipe
      // when they are done (cgroups/join.ts), EOF if they failed.
      if (join.procs.length) {
        const [r, w] = sys.pipe();
        mountFds.push(r);
        cfg.cgroupsJoinedFd = mountFds.length - 1;
        joined = signalJoined(joined!, w);
        joined.catch(() => undefined);
      }
      child.send(cfg, mountFds);
    } finally {
      for (const fd of mountFds) closeFd(fd);
    }
    // The receive blocks: the moves must be done (and the child told) first, or neither goes on.
    if (started.consoleSock !== undefined) await joined;
    const terminal = started.consoleSock !== undefined ? receiveConsole(started) : undefined;
    log.debug("config sent to the child stage");
    const plan = cgroupPlan;
    const t0 = started.t0;
    return {
      pid: child.proc.pid,
      monitorPid: child.monitorPid,
      cgroups: plan,
      child,
      hostRootfs,
      term: started.term,
      terminal,
      t0,
      report: async (timeoutMs) => {
        await joined; // a failed move is the reason the child stage gave up
        return readChildReport(child.reportFd, timeoutMs);
      },
      destroy,
      async undoMountpoints(report) {
        await child.proc.exited; // its mount namespace goes with it
        removeMountpoints(report.mountpoints ?? []);
        removeEtcMountpoints(rootfs, madeMountpoints);
      },
    };
  } catch (e) {
    await destroy();
    if (madeMountpoints.length) removeEtcMountpoints(spec.root!.path, madeMountpoints);
    throw e;
  }
}

/** Tells the child stage over `w` that the moves are done (one byte) or failed (EOF); closes `w`. */
function signalJoined(joined: Promise<void>, w: number): Promise<void> {
  return joined.then(
    () => {
      try {
        writeSync(w, "1");
      } catch {
        /* the child stage is gone: its report or exit says why */
      } finally {
        closeFd(w);
      }
    },
    (e) => {
      closeFd(w);
      throw e;
    },
  );
}

/**
 * The child's report. A child whose cgroup gets frozen meanwhile would never send one (nor end):
 * checked each second, a clear error instead of a hang, and our leaf thawed so it can be killed.
 */
async function reportUnlessFrozen(container: Container, exitCode?: number): Promise<ChildReport | undefined> {
  for (;;) {
    const r = await container.report(1000);
    if (r) return r;
    if (!cgroups.isFrozen(container.cgroups)) continue;
    cgroups.setFrozen(container.cgroups, false, 200);
    throw new UserError("container's cgroup was frozen while the container was being set up", exitCode ?? 125);
  }
}

/** Waits for the child's word that the command runs (or waits for `start`); throws its failure. */
export async function expectRunning(container: Container, want: "exec" | "created", exitCode?: number): Promise<void> {
  const r = await reportUnlessFrozen(container, exitCode);
  if (r?.kind === "failed") {
    await container.undoMountpoints(r);
    throw new UserError(r.message, exitCode ?? r.code);
  }
  if (want === "created" && r?.kind !== "created") {
    // How it ended, if it did: a signal (SIGABRT: the runtime itself crashed) says more than EOF.
    const status = await Promise.race([container.child.proc.exited, Bun.sleep(200).then(() => undefined)]);
    const how = container.child.proc.signalCode ?? (status === undefined ? "" : `exit status ${status}`);
    throw new UserError(`the container process exited during setup${how ? ` (${how})` : ""}`, exitCode ?? 125);
  }
  log.debug(want === "exec" ? "the command runs" : "created: waiting for start", performance.now() - container.t0);
}
