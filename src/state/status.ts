// A container's status, derived from the truth each time: is its process alive, and is it still
// the process we started (same pid *and* start time)? Files only say what happened after.
import { readFileSync } from "node:fs";
import { isFrozen } from "../cgroups/index.ts";
import { containerPaths as files } from "../common/paths.ts";
import { pidStartTime } from "../common/proc.ts";
import { readResult, readState, type ContainerRecord, type ExitResult, type RuntimeState } from "./containers.ts";

/** docker's states; "dead": the record is damaged (only `rm -f` applies). */
export type Status = "created" | "running" | "paused" | "exited" | "dead";

export interface ContainerStatus {
  status: Status;
  pid?: number;
  exitCode?: number;
  oomKilled: boolean;
  startedAt?: string;
  finishedAt?: string;
  state?: RuntimeState;
}

export function isAlive(s: RuntimeState | undefined): boolean {
  return !!s && pidStartTime(s.pid) === s.pidStart;
}

/** The monitor's raw record: "WAIT_STATUS UNIX_NANOS". */
export function readMonitorExit(id: string): ExitResult | undefined {
  let text: string;
  try {
    text = readFileSync(files.exit(id), "utf8");
  } catch {
    return undefined;
  }
  const [st, ns] = text.trim().split(" ");
  const status = Number(st);
  const { decodeWaitStatus } = require("../sys/constants.ts") as typeof import("../sys/constants.ts");
  const { code, signal } = decodeWaitStatus(status);
  return {
    exitCode: code,
    signal,
    oomKilled: false,
    finishedAt: new Date(Number(BigInt(ns ?? "0") / 1_000_000n)).toISOString(),
  };
}

export function statusOf(rec: ContainerRecord): ContainerStatus {
  const state = readState(rec.id);
  if (rec.damaged)
    return {
      status: "dead",
      pid: isAlive(state) ? state!.pid : undefined,
      oomKilled: false,
      startedAt: state?.startedAt,
      state,
    };
  if (isAlive(state)) {
    return {
      status: isFrozen(rec.cgroups) ? "paused" : "running",
      pid: state!.pid,
      oomKilled: false,
      startedAt: state!.startedAt,
      state,
    };
  }
  const verdict = readResult(rec.id);
  // The monitor (then the reaper it execs) still runs: the exit is known but its verdict (an OOM
  // kill, which only the cgroup tells) is not recorded yet. Until it is, the container has not ended.
  if (!verdict && state?.monitorPid && state.monitorStart && pidStartTime(state.monitorPid) === state.monitorStart)
    return {
      status: "running",
      pid: state.pid,
      oomKilled: false,
      startedAt: state.startedAt,
      state,
    };
  const result = verdict ?? readMonitorExit(rec.id);
  if (result)
    return {
      status: "exited",
      exitCode: result.exitCode,
      oomKilled: result.oomKilled,
      startedAt: state?.startedAt,
      finishedAt: result.finishedAt,
      state,
    };
  // Started once, but nobody recorded how it ended (its monitor was killed too): exited, code unknown.
  if (state) return { status: "exited", exitCode: -1, oomKilled: false, startedAt: state.startedAt, state };
  return { status: "created", oomKilled: false };
}
