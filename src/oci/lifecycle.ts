// OCI verbs on an existing container: start, kill, delete, pause/resume, update, ps.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import * as cgroups from "../cgroups/index.ts";
import { CHILD_VERB } from "../runtime/child-config.ts";
import { parseSignal } from "../runtime/signals.ts";
import type { Resources } from "../config/types.ts";
import { UserError } from "../common/errors.ts";
import * as log from "../log.ts";
import { runHooks } from "../runtime/hooks.ts";
import { unmountHostRootfs } from "../runtime/handoff.ts";
import type { OciRecord, OciStore } from "./state.ts";

/** `start`: the waiting process goes on to exec (one byte on its fifo, which then goes away). */
export async function startContainer(store: OciStore, id: string): Promise<void> {
  const rec = store.read(id);
  const status = store.status(rec);
  if (status !== "created") throw new UserError(`container "${id}" is ${status}, not created: cannot start it`, 1);
  const fifo = store.fifo(id);
  const fd = openSync(fifo, "w");
  try {
    writeSync(fd, "s");
  } finally {
    closeSync(fd);
  }
  rmSync(fifo, { force: true });
  await execed(rec.pid!);
  // The program was started: "running" with its pid, even when it has already ended (crun's; a
  // short-lived one would otherwise race its own poststart hook).
  runHooks(rec.spec.hooks, "poststart", { ...store.stateJson(rec), status: "running", pid: rec.pid });
}

/** Until the child stage has exec'd the user's program (or died), at most 2 s: poststart comes after. */
async function execed(pid: number): Promise<void> {
  const end = performance.now() + 2000;
  while (performance.now() < end) {
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      return;
    }
    if (!cmd.includes(CHILD_VERB)) return;
    await Bun.sleep(1);
  }
}

/** `kill ID [SIGNAL]` (default SIGTERM); `--all`: every process in its cgroups. */
export function killContainer(store: OciStore, id: string, signal: string, all: boolean): void {
  const rec = store.read(id);
  // Signal 0 only checks that the process is there (runc takes any number).
  const sig = signal.trim() === "0" ? 0 : parseSignal(signal);
  const status = store.status(rec);
  if (status === "stopped" || status === "creating") throw new UserError(`container "${id}" is not running`, 1);
  const pids = all && rec.cgroups ? cgroups.cgroupPids(rec.cgroups) : [rec.pid!];
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  }
}

async function waitGone(store: OciStore, rec: OciRecord, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (store.status(rec) !== "stopped" && performance.now() < end) await Bun.sleep(5);
}

/** `delete [--force] ID`: a running container only with --force. Removes cgroups and state. */
export async function deleteContainer(store: OciStore, id: string, force: boolean): Promise<void> {
  // runc and crun: `delete --force` of a container that doesn't exist (any more) succeeds.
  if (force && !store.exists(id)) return;
  const rec = store.read(id);
  const status = store.status(rec);
  // runc's rule: a created container (its process waits for start) is deleted without --force;
  // a running or paused one needs it.
  if (status !== "stopped" && status !== "created" && !force)
    throw new UserError(`container "${id}" is ${status}: stop it first or use delete --force`, 1);
  if (status !== "stopped" && rec.pid) {
    if (status === "paused" && rec.cgroups) cgroups.setFrozen(rec.cgroups, false);
    try {
      process.kill(rec.pid, "SIGKILL");
    } catch {
      /* gone */
    }
    await waitGone(store, rec, 5000);
  }
  if (rec.hostRootfs) unmountHostRootfs(rec.hostRootfs.path, rec.hostRootfs.below);
  if (rec.cgroups) cgroups.removeCgroups(rec.cgroups);
  const state = { ...store.stateJson(rec), status: "stopped", pid: 0 };
  store.remove(id);
  runHooks(rec.spec.hooks, "poststop", state);
}

export function pauseContainer(store: OciStore, id: string, frozen: boolean): void {
  const rec = store.read(id);
  const status = store.status(rec);
  if (frozen && status !== "running") throw new UserError(`container "${id}" is ${status}, not running`, 1);
  if (!frozen && status !== "paused") throw new UserError(`container "${id}" is ${status}, not paused`, 1);
  if (!rec.cgroups || !cgroups.setFrozen(rec.cgroups, frozen))
    throw new UserError(`container "${id}": no freezer cgroup to ${frozen ? "pause" : "resume"} it`, 1);
}

/** `update --resources FILE|-` (OCI linux.resources JSON) or the runc flags mapped to it. */
export function updateContainer(store: OciStore, id: string, resources: Resources): void {
  const rec = store.read(id);
  if (store.status(rec) === "stopped") throw new UserError(`container "${id}" is stopped`, 1);
  if (!rec.cgroups) throw new UserError(`container "${id}" has no cgroups`, 1);
  const merged: Resources = { ...rec.spec.linux?.resources, ...resources };
  for (const k of ["memory", "cpu", "pids", "blockIO", "network"] as const)
    if (resources[k]) (merged as Record<string, unknown>)[k] = { ...rec.spec.linux?.resources?.[k], ...resources[k] };
  let plan: cgroups.CgroupPlan;
  try {
    // Device rules change only when the update names them (their transition reads the kernel's).
    plan = cgroups.planUpdate(rec.cgroups, resources.devices ? merged : { ...merged, devices: undefined });
  } catch (e) {
    throw e instanceof UserError ? new UserError(e.message, 1) : e;
  }
  cgroups.updateCgroups(plan, log.isDebug() ? (m: string, ms: number) => log.debug(m, ms) : undefined);
  rec.spec.linux = { ...rec.spec.linux, resources: merged };
  store.write(rec);
}

/** Pids of the container's processes (its cgroups), for `ps`. */
export function containerPids(store: OciStore, id: string): number[] {
  const rec = store.read(id);
  return rec.cgroups ? cgroups.cgroupPids(rec.cgroups) : rec.pid ? [rec.pid] : [];
}

export function readResources(file: string): Resources {
  const text = file === "-" ? readFileSync(0, "utf8") : readFileSync(file, "utf8");
  try {
    return JSON.parse(text) as Resources;
  } catch (e) {
    throw new UserError(`--resources ${file}: invalid JSON: ${(e as Error).message}`, 1);
  }
}
