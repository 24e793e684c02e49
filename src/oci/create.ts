// OCI `create`: everything set up, the process waiting on exec.fifo for `start`. No monitor is
// kept: once `create` exits the container's process is re-parented to the engine's subreaper
// (conmon, containerd-shim), which owns its stdio and reaps it.
import { renameSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { UserError } from "../common/errors.ts";
import { pidStartTime } from "../common/proc.ts";
import { loadBundle } from "../config/bundle.ts";
import * as log from "../log.ts";
import { type Container, createContainer, expectRunning } from "../runtime/container.ts";
import { readJoinedMaps } from "../runtime/handoff.ts";
import { userNamespaceOf } from "../runtime/start-child.ts";
import { runHooks } from "../runtime/hooks.ts";
import { closeFd, isInheritedFd, makeFifo, openConsoleSocket, openDevNull, sendPidfd } from "../runtime/oci-io.ts";
import type { OciRecord, OciStore } from "./state.ts";

export interface CreateOptions {
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot: boolean;
  /** --preserve-fds N: this process's fds 3..3+N-1 become the container's 3..3+N-1. */
  preserveFds: number;
  /** `run` in the foreground without --console-socket: process.terminal uses the caller's terminal (runc's). */
  attachTerminal?: boolean;
  /** --pidfd-socket: a pidfd of the container's process is sent there once it exists. */
  pidfdSocket?: string;
}

export async function createContainerFromBundle(
  store: OciStore,
  o: CreateOptions,
): Promise<{ rec: OciRecord; container: Container }> {
  if (!Number.isInteger(o.preserveFds) || o.preserveFds < 0 || o.preserveFds > 1000)
    throw new UserError(`--preserve-fds ${o.preserveFds}: give a number of fds`, 1);
  for (let fd = 3; fd < 3 + o.preserveFds; fd++)
    if (!isInheritedFd(fd))
      throw new UserError(
        `--preserve-fds ${o.preserveFds}: fd ${fd} was not passed to mini (fds 3 to ${2 + o.preserveFds} go to the container)`,
        1,
      );
  const spec = loadBundle(o.bundle);
  if (spec.process!.terminal && !o.consoleSocket && !o.attachTerminal)
    throw new UserError("process.terminal is true: --console-socket is required", 1);
  if (!spec.process!.terminal && o.consoleSocket)
    throw new UserError("--console-socket given but process.terminal is false", 1);
  const rec: OciRecord = { id: o.id, bundle: resolve(o.bundle), created: new Date().toISOString(), spec };
  store.claim(rec);
  const sock = o.consoleSocket ? openConsoleSocket(o.consoleSocket) : undefined;
  const creating = () => ({ ...store.stateJson(rec), status: "creating" });
  try {
    // fd 5: the console socket (or nothing); from 6 on, the fds to preserve.
    const preserved = Array.from({ length: o.preserveFds }, (_, i) => 3 + i);
    const container = await createContainer(spec, {
      id: o.id,
      // No cgroupsPath: a cgroup named after the container, below the runtime's own (runc's).
      cgroupName: o.id,
      noPivot: o.noPivot,
      attachTerminal: o.attachTerminal && !!spec.process!.terminal,
      launch: {
        mode: "direct",
        // Attached to the caller's terminal, the console socket of fd 5 is mini's own (added by the launch).
        io:
          o.attachTerminal && spec.process!.terminal
            ? { interactive: true, dieWithParent: true, extraFds: preserved }
            : {
                interactive: false,
                inheritStdio: true,
                dieWithParent: false,
                extraFds: [sock ?? openDevNull(), ...preserved],
              },
      },
      oci: { fifo: store.fifo(o.id), console: sock !== undefined, preserveFds: o.preserveFds },
      hooks: {
        createContainer: spec.hooks?.createContainer,
        startContainer: spec.hooks?.startContainer,
        state: creating,
      },
      onStarted: (pid) => {
        rec.pid = pid;
        rec.pidStart = pidStartTime(pid) ?? "";
        log.debug(`child stage pid ${pid}`);
      },
      onCgroups: (cgroups, hostRootfs) => {
        rec.cgroups = cgroups;
        rec.hostRootfs = hostRootfs;
        store.write(rec);
      },
      beforeConfig: (pid) => {
        const userns = userNamespaceOf(spec);
        makeFifo(store.fifo(o.id), userns?.path ? readJoinedMaps(userns, pid) : userns);
        // prestart (deprecated) with createRuntime, in the runtime's namespaces, as runc and crun run
        // it; its state says "created" as crun's does (runtime-tools' hooks_stdin expects it).
        runHooks(spec.hooks, "prestart", { ...creating(), status: "created" });
        runHooks(spec.hooks, "createRuntime", creating());
      },
    });
    try {
      await expectRunning(container, "created", 1);
    } catch (e) {
      await container.destroy();
      throw e;
    }
    store.write(rec);
    if (o.pidFile) {
      writeFileSync(`${o.pidFile}.tmp`, String(rec.pid));
      renameSync(`${o.pidFile}.tmp`, o.pidFile);
    }
    if (o.pidfdSocket) {
      try {
        sendPidfd(o.pidfdSocket, rec.pid!);
      } catch (e) {
        await container.destroy();
        throw e;
      }
    }
    return { rec, container };
  } catch (e) {
    store.remove(o.id);
    throw e;
  } finally {
    if (sock !== undefined) closeFd(sock);
  }
}
