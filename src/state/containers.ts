// The container registry. Each container has
//   <MINI_ROOT>/containers/<id>/      container.json (what to run), container.log[.1], exit
//                                     (the monitor's raw wait status), result.json (the reaper's
//                                     verdict), and for image containers its overlay dirs
//   <MINI_RUN_ROOT>/<id>/             state.json (pid, its start time, the monitor), /etc files
// Writes are atomic (temp + rename); changes to one container hold its lock; names are claimed
// under one lock. Nothing here trusts a status field: status.ts derives it from /proc.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import type { CgroupPlan } from "../cgroups/index.ts";
import type { NetworkRequest } from "../config/network-flags.ts";
import type { Spec } from "../config/types.ts";
import { UserError } from "../common/errors.ts";
import { readJson, writeJsonAtomic } from "../common/json-file.ts";
import { withLock } from "../common/lock.ts";
import { containerPaths as files, lockPath, runRoot, storePaths } from "../common/paths.ts";
import { isRunning, type ProcessId, thisProcess } from "../common/proc.ts";
import { randomName } from "./names.ts";

/** 64 hex characters, like docker's ids; 12 are shown. */
export function newId(): string {
  // Web Crypto: importing node:crypto costs ~2 ms of start-up.
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
}

export interface ContainerRecord {
  id: string;
  name: string;
  created: string;
  /** The image as the user named it, and its id; absent for a rootfs directory. */
  image?: string;
  imageId?: string;
  spec: Spec;
  detached: boolean;
  /** -i: a detached container's stdin stays open (a pipe nobody writes). */
  interactive?: boolean;
  autoRemove: boolean;
  init: boolean;
  noPivot: boolean;
  overlay?: { lower: string[]; dir: string };
  etc?: { hostname: string; hostNetwork: boolean };
  /** Its networking (docker-style containers; absent: none, or host with etc.hostNetwork). */
  network?: NetworkRequest;
  stopSignal?: string;
  /** --stop-timeout: seconds `mini stop` waits before SIGKILL (-1: forever). */
  stopTimeout?: number;
  /** docker's HostConfig fields the spec doesn't carry (privileged, namespace modes, ...), for inspect and start. */
  hostConfig?: Record<string, unknown>;
  logMaxBytes: number;
  /** The cgroups of the current (or last) start, recorded before they are created. */
  cgroups?: CgroupPlan;
  /** `run --bundle`: the bundle directory (its hooks get it in their state). */
  bundle?: string;
  /** Its container.json is missing or unreadable: only the id and what the other files say are known. */
  damaged?: true;
}

export interface RuntimeState {
  pid: number;
  /** Field 22 of /proc/PID/stat: tells a live container from a recycled pid. */
  pidStart: string;
  monitorPid?: number;
  /** The monitor's start time: it becomes the reaper, and the container has not ended until it has recorded how. */
  monitorStart?: string;
  startedAt: string;
}

export interface ExitResult {
  exitCode: number;
  signal?: string;
  oomKilled: boolean;
  finishedAt: string;
}

export const readRecord = (id: string) => readJson<ContainerRecord>(files.record(id));
export const readState = (id: string) => readJson<RuntimeState>(files.state(id));
export const readResult = (id: string) => readJson<ExitResult>(files.result(id));

const ID = /^[0-9a-f]{64}$/;
const entries = (dir: string) => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

/** The creator of a container whose record isn't written yet, if any. */
const creator = (id: string) => readJson<ProcessId>(files.creating(id));

/**
 * Ids of every container, also those whose record is damaged (they are listed as Dead, never
 * hidden while processes, cgroups or files of theirs remain); not those being removed or still
 * being created by a live mini.
 */
export function listIds(): string[] {
  const ids = new Set<string>();
  for (const n of entries(storePaths.containers())) if (ID.test(n)) ids.add(n);
  for (const n of entries(runRoot())) if (ID.test(n) && existsSync(files.state(n))) ids.add(n);
  return [...ids].filter((id) => existsSync(files.record(id)) || !creator(id));
}

/**
 * Starts a container's directory: marked with its creator (this process) until the record is
 * written, so that a mini killed before then leaves something the next one recognizes and removes.
 */
export function beginContainerDir(id: string): void {
  mkdirSync(files.dir(id), { recursive: true, mode: 0o700 });
  writeJsonAtomic(files.creating(id), thisProcess());
}

/** Removes the directories of containers whose creator died before writing their record. */
export function sweepAbandoned(): void {
  for (const id of entries(storePaths.containers())) {
    if (!ID.test(id) || existsSync(files.record(id))) continue;
    const who = creator(id);
    if (who && !isRunning(who)) rmSync(files.dir(id), { recursive: true, force: true });
  }
}

/** What is known of a container whose record is damaged. */
export function damagedRecord(id: string): ContainerRecord {
  let created = new Date(0).toISOString();
  try {
    created = statSync(files.dir(id)).mtime.toISOString();
  } catch {
    /* only the run dir is left */
  }
  const owner = readJson<{ cgroups?: CgroupPlan }>(files.owner(id));
  return {
    id,
    name: id.slice(0, 12),
    created,
    spec: { ociVersion: "", root: { path: "" } },
    detached: true,
    autoRemove: false,
    init: false,
    noPivot: false,
    logMaxBytes: 0,
    cgroups: owner?.cgroups,
    damaged: true,
  };
}

/** A container's record, or what is known of it when that is damaged. */
export const recordOrDamaged = (id: string): ContainerRecord => readRecord(id) ?? damagedRecord(id);

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * Creates the container's record under a unique name (given, or a random one). The caller holds
 * nothing: the name lock is taken here.
 */
export async function createRecord(rec: Omit<ContainerRecord, "name">, name?: string): Promise<ContainerRecord> {
  if (name !== undefined && !NAME.test(name))
    throw new UserError(
      `invalid container name "${name}": use letters, digits, _ . - (starting with a letter or digit)`,
    );
  return withLock(lockPath("container-names"), () => {
    const taken = new Set(listIds().map((id) => readRecord(id)?.name));
    if (name !== undefined && taken.has(name))
      throw new UserError(
        `the container name "${name}" is already in use: remove that container or choose another name`,
      );
    let chosen = name;
    while (chosen === undefined || taken.has(chosen)) chosen = randomName();
    const full = { ...rec, name: chosen } as ContainerRecord;
    mkdirSync(files.dir(rec.id), { recursive: true, mode: 0o700 });
    writeJsonAtomic(files.record(rec.id), full);
    rmSync(files.creating(rec.id), { force: true });
    return full;
  });
}

/** Runs fn holding the container's lock (stop/start/rm/reap never interleave on one container). */
export function withContainerLock<T>(id: string, fn: () => Promise<T> | T): Promise<T> {
  return withLock(lockPath(`container-${id}`), fn);
}

/**
 * Finds a container by full id, name, or unique id prefix. Docker's messages and exit code (1).
 */
export function resolveContainer(query: string): ContainerRecord {
  const ids = listIds();
  const rec = recordOrDamaged;
  if (ids.includes(query)) return rec(query)!;
  const byName = ids.find((id) => rec(id)?.name === query);
  if (byName) return rec(byName)!;
  const matches = /^[0-9a-f]+$/.test(query) ? ids.filter((id) => id.startsWith(query)) : [];
  if (matches.length === 1) return rec(matches[0]!)!;
  if (matches.length > 1) throw new UserError(`multiple containers match "${query}": give more of the id`, 1);
  throw new UserError(`no such container: ${query}`, 1);
}

/** Removes every file of the container. Renamed first, so a half-removed one never lists. */
export function removeFiles(id: string): void {
  rmSync(files.runDir(id), { recursive: true, force: true });
  const trash = `${storePaths.containers()}/.rm-${id}`;
  try {
    renameSync(files.dir(id), trash);
  } catch {
    /* gone already */
  }
  rmSync(trash, { recursive: true, force: true });
}

/** Finishes removals a killed `mini rm` left half done. */
export function sweepRemovals(): void {
  let names: string[];
  try {
    names = readdirSync(storePaths.containers());
  } catch {
    return;
  }
  for (const n of names)
    if (n.startsWith(".rm-")) rmSync(`${storePaths.containers()}/${n}`, { recursive: true, force: true });
  sweepAbandoned();
}
