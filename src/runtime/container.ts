// The one container-creation pipeline (crun's libcrun_container_create, youki's builder), used by
// `mini run` in the foreground, `mini run -d` (through the monitor) and OCI `create`:
//   launch the child stage in its namespaces (or take one launched earlier)
//   → the container's runtime files (/etc files, overlay dirs)
//   → plan its cgroups (recorded before they exist) → plan its rootfs → create the cgroups
//   → the caller's last step before the config (OCI: exec.fifo, createRuntime hooks)
//   → send the config: the child stage joins, mounts, pivots, drops privileges and execs.
//   → the network step (network-attach.ts: lo up in any new network namespace; veths, addresses,
//     ports, /etc/hosts), while the child stage is already in its namespaces
// On any failure everything it made is undone. Volumes plug in as a step here.
import { chmodSync, mkdirSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";
import * as cgroups from "../cgroups/index.ts";
import { UserError } from "../common/errors.ts";
import { checkSysctls } from "../config/sysctl.ts";
import type { Hook, Namespace, Spec } from "../config/types.ts";
import * as log from "../log.ts";
import { loopbackUp } from "../network/rtnetlink.ts";
import { compileForChild } from "../seccomp/index.ts";
import { CLONE_NEWNET } from "../sys/constants.ts";
import type { ChildConfig } from "./child-config.ts";
import { type ChildReport, readChildReport } from "./child-report.ts";
import { ensureEtcMountpoints, etcFilePaths, writeEtcFiles } from "./etc-files.ts";
import { type ChildStage, type LaunchChoice, launchChildStage, type UserNamespace } from "./launch.ts";
import { isHostNamespace, type NamespaceSetup, planNamespaces } from "./namespaces.ts";
import { planRootfs } from "./rootfs-plan.ts";
import { type AttachedTerminal, attachTerminal } from "./tty.ts";

/** A child stage started before its spec is complete (its Bun start-up overlaps the caller's work). */
export interface LaunchedChild {
  nsPlan: NamespaceSetup;
  child: ChildStage;
  term?: AttachedTerminal;
  t0: number;
}

/** The user namespace a spec asks for (its id maps), if any. */
export const userNamespaceOf = (spec: { linux?: Spec["linux"] }): UserNamespace | undefined =>
  spec.linux?.namespaces?.some((n) => n.type === "user")
    ? { uidMappings: spec.linux.uidMappings ?? [], gidMappings: spec.linux.gidMappings ?? [] }
    : undefined;

/**
 * Starts the child stage in the namespaces `namespaces` asks for. With `tty`, the host terminal
 * is attached (direct launches only). The child waits for its config.
 */
export function launch(
  namespaces: Namespace[] | undefined,
  userns: UserNamespace | undefined,
  how: LaunchChoice,
  tty = false,
): LaunchedChild {
  if (process.getuid?.() !== 0)
    throw new UserError("mini run needs root (user namespaces for unprivileged users are not supported yet)");
  const nsPlan = planNamespaces(namespaces);
  log.debug(
    `namespaces: unshare 0x${nsPlan.unshareFlags.toString(16)} in the parent, 0x${nsPlan.childFlags.toString(16)} in the child${nsPlan.join.length ? `, join ${nsPlan.join.map((j) => j.path).join(" ")}` : ""}`,
  );
  const term = tty && how.mode === "direct" ? attachTerminal({ interactive: how.io.interactive }) : undefined;
  if (term && how.mode === "direct") how = { ...how, io: { ...how.io, terminal: term.options } };
  const t0 = performance.now();
  const child = launchChildStage(nsPlan, userns, how);
  log.debug(
    how.mode === "monitor"
      ? `monitor ${child.monitorPid} cloned the child stage, pid ${child.proc.pid}`
      : `spawn child stage pid ${child.proc.pid}`,
    performance.now() - t0,
  );
  return { nsPlan, child, term, t0 };
}

/** Ends a launched child that will never get its config. */
export async function abandon(launched: LaunchedChild): Promise<void> {
  launched.child.proc.kill("SIGKILL");
  await launched.child.proc.exited;
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
  /** OCI create: the start fifo, the console socket, preserved fds, in-container hooks. */
  oci?: {
    fifo: string;
    console: boolean;
    preserveFds: number;
    hooks: { createContainer?: Hook[]; startContainer?: Hook[] };
    /** The OCI state document the child's hooks get (it knows the pid). */
    state: () => object;
  };
  /** The cgroup plan, before any cgroup exists (a record of what to remove if mini is killed). */
  onCgroups?: (plan: cgroups.CgroupPlan) => void;
  /** The child stage exists (and, detached, its monitor). */
  onStarted?: (pid: number, monitorPid?: number) => void;
  /** The last step before the config goes to the child (OCI: exec.fifo, createRuntime hooks). */
  beforeConfig?: (pid: number) => Promise<void> | void;
  /**
   * The network step (runtime/network-attach.ts) for the child stage `pid`, in its namespaces;
   * `detach` undoes it on failure (and is the caller's at the end). Without it, a new network
   * namespace gets lo up (as runc and crun do).
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
  /** When the launch began (debug timings). */
  readonly t0: number;
  /** The child's report: exec'd, created (OCI), or failed. */
  report(timeoutMs?: number): Promise<ChildReport | undefined>;
  /** Kills what still runs and removes its cgroups and runtime files. */
  destroy(): Promise<void>;
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
  cgroupPlan: cgroups.CgroupPlan,
  ops: ChildConfig["ops"],
) {
  return {
    rootfs: spec.root!.path,
    ops,
    hostname: spec.hostname,
    domainname: spec.domainname,
    cgroupProcs: cgroupPlan.procs,
    unshareFlags: nsPlan.childFlags,
    joinNamespaces: nsPlan.childJoin.map((j) => ({ path: j.path, flag: j.flag })),
    process: spec.process!,
    sysctl: spec.linux?.sysctl,
    init: !!setup.init,
    seccomp: compileForChild(spec.linux?.seccomp),
    oci: setup.oci && { ...setup.oci, state: setup.oci.state() },
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
  let networked = false;
  const destroy = async () => {
    if (started) {
      if (!exited) started.child.proc.kill("SIGKILL"); // never a signal to a pid that may be reused
      await started.child.proc.exited;
    }
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
    const userns = userNamespaceOf(spec);
    const nsPlan = planNamespaces(spec.linux?.namespaces);
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
    // While the child stage starts up: its runtime files and cgroups.
    if (setup.runDir) {
      mkdirSync(setup.runDir, { recursive: true, mode: 0o711 });
      chmodSync(dirname(setup.runDir), 0o711);
    }
    setup.onStarted?.(child.proc.pid, child.monitorPid);
    if (setup.runDir && setup.etc) writeEtcFiles(etcFilePaths(setup.runDir), setup.etc.hostname, setup.etc.hostNetwork);
    // Mount points for the /etc files: a user-namespaced root can't create them in a host-owned rootfs.
    if (setup.etc && !setup.overlay) ensureEtcMountpoints(rootfs);
    const overlay = setup.overlay && {
      lower: setup.overlay.lower,
      upper: `${setup.overlay.dir}/upper`,
      work: `${setup.overlay.dir}/work`,
    };
    if (overlay) for (const d of [overlay.upper, overlay.work]) mkdirSync(d, { recursive: true, mode: 0o755 });
    cgroupPlan = cgroups.planCgroupsOnHost({
      name: setup.cgroupName,
      cgroupsPath: spec.linux?.cgroupsPath,
      resources: spec.linux?.resources,
    });
    setup.onCgroups?.(cgroupPlan);
    const ops = planRootfs(spec, {
      noPivot: setup.noPivot,
      userns: !!userns,
      overlay,
      cgroups: cgroups.cgroupMountLeaves(cgroupPlan),
    });
    cgroups.applyCgroups(cgroupPlan, log.isDebug() ? (m: string, ms: number) => log.debug(m, ms) : undefined);
    for (const w of cgroupPlan.warnings) log.warn(w);
    if (setup.network) {
      networked = true;
      await setup.network.attach(child.proc.pid);
    } else if (nsPlan.unshareFlags & CLONE_NEWNET)
      log.timed("network: lo up", () => loopbackUp({ pid: child.proc.pid }));
    await setup.beforeConfig?.(child.proc.pid);
    child.send(childConfig(spec, setup, nsPlan, cgroupPlan, ops));
    log.debug("config sent to the child stage");
    const plan = cgroupPlan;
    const t0 = started.t0;
    return {
      pid: child.proc.pid,
      monitorPid: child.monitorPid,
      cgroups: plan,
      child,
      term: started.term,
      t0,
      report: (timeoutMs) => readChildReport(child.reportFd, timeoutMs),
      destroy,
    };
  } catch (e) {
    await destroy();
    throw e;
  }
}

/** Waits for the child's word that the command runs (or waits for `start`); throws its failure. */
export async function expectRunning(container: Container, want: "exec" | "created", exitCode?: number): Promise<void> {
  const r = await container.report();
  if (r?.kind === "failed") throw new UserError(r.message, exitCode ?? r.code);
  if (want === "created" && r?.kind !== "created")
    throw new UserError("the container process exited during setup", exitCode ?? 125);
  log.debug(want === "exec" ? "the command runs" : "created: waiting for start", performance.now() - container.t0);
}
