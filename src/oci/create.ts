// OCI `create`: everything set up, the process waiting on exec.fifo for `start`. No monitor is
// kept: once `create` exits the container's process is re-parented to the engine's subreaper
// (conmon, containerd-shim), which owns its stdio and reaps it.
import { readSync, renameSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import * as cgroups from "../cgroups/index.ts";
import * as log from "../log.ts";
import { loadBundle } from "../config/bundle.ts";
import type { Spec } from "../config/types.ts";
import * as sys from "../sys/calls.ts";
import { O_RDWR, S_IFIFO } from "../sys/constants.ts";
import { UserError } from "../common/errors.ts";
import { unixConnect } from "../sys/socket.ts";
import { planNamespaces } from "../runtime/namespaces.ts";
import { planRootfs } from "../runtime/rootfs-plan.ts";
import { spawnChild, spawnInUserNamespace, type StartedChild } from "../runtime/spawn-child.ts";
import { pidStartTime } from "../common/proc.ts";
import { runHooks } from "./hooks.ts";
import { compileForChild } from "../seccomp/index.ts";
import type { OciRecord, OciStore } from "./state.ts";

export interface CreateOptions {
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot: boolean;
  /** --preserve-fds N: this process's fds 3..3+N-1 become the container's 3..3+N-1. */
  preserveFds: number;
}

function userns(spec: Spec) {
  return spec.linux?.namespaces?.some((n) => n.type === "user")
    ? { uidMappings: spec.linux!.uidMappings ?? [], gidMappings: spec.linux!.gidMappings ?? [] }
    : undefined;
}

let devNull: number | undefined;
const nullFd = () => (devNull ??= sys.open("/dev/null", O_RDWR));

/** The host id that container id `id` maps to (the id itself when unmapped). */
function hostId(maps: { containerID: number; hostID: number; size: number }[], id: number): number {
  const m = maps.find((x) => id >= x.containerID && id < x.containerID + x.size);
  return m ? m.hostID + (id - m.containerID) : id;
}

/** The child's first word on the error channel: {created} when waiting for start, else a failure. */
async function readCreated(fd: number): Promise<void> {
  const buf = Buffer.alloc(8192);
  let n = 0;
  for (;;) {
    // Bun's extra stdio pipes are non-blocking sockets
    try {
      n = readSync(fd, buf, 0, buf.length, null);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") {
        n = 0;
        break;
      }
      await Bun.sleep(1);
    }
  }
  sys.close(fd);
  const text = buf.toString("utf8", 0, n);
  let msg: { created?: boolean; message?: string; code?: number } = {};
  try {
    msg = JSON.parse(text);
  } catch {
    throw new UserError(n ? text : "the container process exited during setup", 1);
  }
  if (!msg.created) throw new UserError(msg.message ?? "container setup failed", 1);
}

export async function createContainer(
  store: OciStore,
  o: CreateOptions,
): Promise<{ rec: OciRecord; child: StartedChild }> {
  if (!Number.isInteger(o.preserveFds) || o.preserveFds < 0 || o.preserveFds > 1000)
    throw new UserError(`--preserve-fds ${o.preserveFds}: give a number of fds`, 1);
  const spec = loadBundle(o.bundle);
  if (spec.process!.terminal && !o.consoleSocket)
    throw new UserError("process.terminal is true: --console-socket is required", 1);
  if (!spec.process!.terminal && o.consoleSocket)
    throw new UserError("--console-socket given but process.terminal is false", 1);
  const rec: OciRecord = { id: o.id, bundle: resolve(o.bundle), created: new Date().toISOString(), spec };
  store.claim(rec);
  let child: StartedChild | undefined;
  let cg: cgroups.CgroupPlan | undefined;
  let sock: number | undefined;
  try {
    const ns = planNamespaces(spec.linux?.namespaces);
    if (o.consoleSocket) sock = unixConnect(o.consoleSocket);
    // fd 5: the console socket (or nothing); from 6 on, the fds to preserve.
    const preserved = Array.from({ length: o.preserveFds }, (_, i) => 3 + i);
    const io = {
      interactive: false,
      inheritStdio: true,
      dieWithParent: false,
      extraFds: [sock ?? nullFd(), ...preserved],
    };
    const un = userns(spec);
    child = un ? spawnInUserNamespace(ns, io, un) : spawnChild(ns, io);
    log.debug(`child stage pid ${child.proc.pid}`);
    cg = cgroups.planCgroupsOnHost({
      name: `mini-oci-${o.id}`,
      cgroupsPath: spec.linux?.cgroupsPath,
      resources: spec.linux?.resources,
    });
    rec.cgroups = cg;
    store.write(rec);
    const ops = planRootfs(spec, {
      noPivot: o.noPivot,
      userns: !!userns(spec),
      cgroups: cgroups.cgroupMountLeaves(cg),
    });
    cgroups.applyCgroups(cg, log.isDebug() ? (m: string, ms: number) => log.debug(m, ms) : undefined);
    for (const w of cg.warnings) log.warn(w);
    sys.mknod(store.fifo(o.id), S_IFIFO | 0o600, 0, 0);
    // A user-namespaced container's root is an unprivileged host uid: the fifo is made its own.
    if (un) sys.chown(store.fifo(o.id), hostId(un.uidMappings, 0), hostId(un.gidMappings, 0));
    rec.pid = child.proc.pid;
    rec.pidStart = pidStartTime(rec.pid) ?? "";
    await runHooks(spec.hooks, "createRuntime", { ...store.stateJson(rec), status: "creating" });
    child.send({
      rootfs: spec.root!.path,
      ops,
      hostname: spec.hostname,
      domainname: spec.domainname,
      cgroupProcs: cg.procs,
      unshareFlags: ns.childFlags,
      joinNamespaces: ns.childJoin.map((j) => ({ path: j.path, flag: j.flag })),
      process: spec.process!,
      sysctl: spec.linux?.sysctl,
      init: false,
      debug: log.isDebug(),
      oci: {
        fifo: store.fifo(o.id),
        console: sock !== undefined,
        preserveFds: o.preserveFds,
        hooks: { createContainer: spec.hooks?.createContainer, startContainer: spec.hooks?.startContainer },
        state: { ...store.stateJson(rec), status: "creating" },
      },
      seccomp: compileForChild(spec.linux?.seccomp),
    });
    await readCreated(child.errorFd);
    store.write(rec);
    if (o.pidFile) {
      writeFileSync(`${o.pidFile}.tmp`, String(rec.pid));
      renameSync(`${o.pidFile}.tmp`, o.pidFile);
    }
    return { rec, child };
  } catch (e) {
    if (child) {
      child.proc.kill("SIGKILL");
    }
    try {
      if (cg) cgroups.removeCgroups(cg);
    } catch {
      /* best effort */
    }
    store.remove(o.id);
    throw e;
  } finally {
    if (sock !== undefined) sys.close(sock);
  }
}
