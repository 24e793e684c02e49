// Operations on recorded containers: signal, stop, wait, reap, remove. Each checks the truth
// (status.ts) first and changes one container only while holding its lock.
import { existsSync, rmSync } from "node:fs";
import * as cgroups from "../cgroups/index.ts";
import {
  readRecord,
  removeFiles,
  withContainerLock,
  type ContainerRecord,
  type ExitResult,
} from "../state/containers.ts";
import { isAlive, readMonitorExit, statusOf, type ContainerStatus } from "../state/status.ts";
import { SIGNALS } from "../sys/constants.ts";
import { UserError } from "../common/errors.ts";
import * as log from "../log.ts";
import { detachNetwork } from "./network-attach.ts";
import { parseSignal } from "./signals.ts";
import { pidStartTime } from "../common/proc.ts";
import { containerPaths as files } from "../common/paths.ts";
import { writeJsonAtomic } from "../common/json-file.ts";

const running = (s: ContainerStatus) => s.status === "running" || s.status === "paused";

export function requireRunning(rec: ContainerRecord): ContainerStatus {
  const status = statusOf(rec);
  if (!running(status)) throw new UserError(`container ${rec.name} is not running`, 1);
  return status;
}

export function signalContainer(rec: ContainerRecord, sig: number): void {
  const status = requireRunning(rec);
  // A paused container would only get the signal once thawed; docker thaws for SIGKILL.
  try {
    process.kill(status.pid!, sig);
  } catch {
    /* exited meanwhile */
  }
}

/** Waits until the container's process is gone (true), or the timeout passed (false). */
async function waitGone(rec: ContainerRecord, timeoutMs: number): Promise<boolean> {
  const state = statusOf(rec).state;
  const t0 = performance.now();
  while (isAlive(state)) {
    if (performance.now() - t0 > timeoutMs) return false;
    await Bun.sleep(10);
  }
  return true;
}

/** After the process is gone: its monitor's record (or a short grace for it), then the status. */
async function settled(rec: ContainerRecord, verdict = true): Promise<ContainerStatus> {
  const t0 = performance.now();
  // The monitor records the exit, then its reaper the verdict: both within moments of the exit.
  // (Holding the container's lock, only the exit: the reaper waits for that lock.)
  for (;;) {
    const status = statusOf(rec);
    const done = verdict ? !running(status) : !rec.detached || existsSync(files.exit(rec.id));
    if (done || performance.now() - t0 > 2000) return status;
    await Bun.sleep(10);
  }
}

/** Docker's stop: the stop signal, then SIGKILL after `timeoutSec`. */
export async function stopContainer(rec: ContainerRecord, timeoutSec: number): Promise<void> {
  const status = statusOf(rec);
  if (!running(status)) return; // docker: stopping a stopped container succeeds
  const sig = rec.stopSignal ? parseSignal(rec.stopSignal) : SIGNALS.SIGTERM;
  if (status.status === "paused" && rec.cgroups) cgroups.setFrozen(rec.cgroups, false);
  log.debug(`stop ${rec.name}: signal ${sig} to pid ${status.pid}`);
  try {
    process.kill(status.pid!, sig);
  } catch {
    /* gone */
  }
  if (!(await waitGone(rec, timeoutSec * 1000))) {
    log.debug(`stop ${rec.name}: still running after ${timeoutSec} s, SIGKILL`);
    try {
      process.kill(status.pid!, SIGNALS.SIGKILL);
    } catch {
      /* gone */
    }
    await waitGone(rec, 10_000);
  }
  log.debug(`stop ${rec.name}: process gone`);
  await settled(rec);
  log.debug(`stop ${rec.name}: exit recorded`);
}

/** Until the container is not running; its exit status. */
export async function waitExit(rec: ContainerRecord): Promise<ContainerStatus> {
  while (running(statusOf(rec))) await Bun.sleep(50);
  return settled(rec);
}

/**
 * Run by the monitor once the container has exited (`mini __reap ID`): records the verdict
 * (with the OOM kill, which only the cgroup knows), removes the cgroups, and the whole
 * container with --rm.
 */
export async function reap(id: string): Promise<void> {
  await withContainerLock(id, async () => {
    const rec = readRecord(id);
    if (!rec || isAlive(statusOf(rec).state)) return;
    const raw: ExitResult = readMonitorExit(id) ?? {
      exitCode: -1,
      oomKilled: false,
      finishedAt: new Date().toISOString(),
    };
    if (rec.cgroups) {
      raw.oomKilled = raw.signal === "SIGKILL" && cgroups.oomKilled(rec.cgroups);
      try {
        cgroups.removeCgroups(rec.cgroups);
      } catch {
        /* rm -f retries */
      }
    }
    // Its leases and published ports go when it stops (docker's behaviour); a failure is left to the sweep.
    await detachNetwork(id).catch((e) => log.warn(`network teardown of ${rec.name}: ${(e as Error).message}`));
    writeJsonAtomic(files.result(id), raw);
    if (rec.autoRemove) removeFiles(id);
  });
}

/**
 * A container whose record is damaged, from what remains: its processes (the pid and monitor of
 * state.json, checked by start time; everything in its cgroups), its cgroups (from the owner
 * record, else the default plan for its id), its files.
 */
async function removeDamaged(rec: ContainerRecord): Promise<void> {
  const state = statusOf(rec).state;
  const kill = (pid: number | undefined, start: string | undefined) => {
    if (pid && start && pidStartTime(pid) === start) process.kill(pid, SIGNALS.SIGKILL);
  };
  kill(state?.monitorPid, state?.monitorStart);
  kill(state?.pid, state?.pidStart);
  const plan = rec.cgroups ?? cgroups.planCgroupsOnHost({ name: `mini-${rec.id}` });
  log.timed(`rm ${rec.name}: remove cgroups`, () => cgroups.removeCgroups(plan));
  rmSync(files.runDir(rec.id), { recursive: true, force: true });
  removeFiles(rec.id);
}

/** Removes a container; a running one only with `force` (killed first). */
export async function removeContainer(rec: ContainerRecord, force: boolean): Promise<void> {
  const status = statusOf(rec);
  if ((running(status) || (status.status === "dead" && status.pid)) && !force)
    throw new UserError(`container ${rec.name} is running: stop it first, or use mini rm -f`, 1);
  if (rec.damaged) return withContainerLock(rec.id, () => removeDamaged(rec));
  await withContainerLock(rec.id, async () => {
    const now = statusOf(rec);
    if (running(now)) {
      if (now.status === "paused" && rec.cgroups) cgroups.setFrozen(rec.cgroups, false);
      log.debug(`rm ${rec.name}: SIGKILL pid ${now.pid}`);
      try {
        process.kill(now.pid!, SIGNALS.SIGKILL);
      } catch {
        /* gone */
      }
      await waitGone(rec, 10_000);
      await settled(rec, false);
    }
    // Whatever a killed mini left: processes and cgroups, its network, then the files.
    if (rec.cgroups) log.timed(`rm ${rec.name}: remove cgroups`, () => cgroups.removeCgroups(rec.cgroups!));
    await detachNetwork(rec.id);
    log.timed(`rm ${rec.name}: remove runtime state`, () =>
      rmSync(files.runDir(rec.id), { recursive: true, force: true }),
    );
    log.timed(`rm ${rec.name}: remove record, logs and rootfs`, () => removeFiles(rec.id));
  });
}
