// OCI `exec`: a process in a running container, described by --process FILE (an OCI process
// JSON) or by runc's flags and the command line. The runtime's exec use case joins it; with
// --detach it returns at once (the engine's subreaper adopts the process), with --tty the pty
// master goes to --console-socket.
import { readFileSync } from "node:fs";
import { UserError } from "../common/errors.ts";
import { mergeEnv } from "../config/env.ts";
import { homeFor, rootfsReader } from "../config/user.ts";
import type { Process } from "../config/types.ts";
import { execInContainer } from "../runtime/exec.ts";
import type { OciStore } from "./state.ts";

/** runc exec's options, parsed. */
export interface OciExecOptions {
  id: string;
  /** The command (when no --process). */
  command: string[];
  processFile?: string;
  tty: boolean;
  detach: boolean;
  pidFile?: string;
  consoleSocket?: string;
  cwd?: string;
  env: string[];
  /** UID[:GID] */
  user?: string;
  caps: string[];
  noNewPrivs: boolean;
}

function readProcess(file: string): Process {
  let parsed: Partial<Process>;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new UserError(`--process ${file}: ${(e as Error).message}`, 1);
  }
  if (!parsed || typeof parsed !== "object" || !Array.isArray(parsed.args) || !parsed.args.length)
    throw new UserError(`--process ${file}: process.args must be a non-empty array`, 1);
  return { cwd: "/", user: { uid: 0, gid: 0 }, ...parsed } as Process;
}

/** The process runc's flags describe: the container's own, with these changes. */
function processFromFlags(base: Process, options: OciExecOptions): Process {
  if (!options.command.length) throw new UserError("exec: give --process FILE or a command", 1);
  const proc: Process = {
    ...base,
    args: options.command,
    terminal: options.tty,
    env: mergeEnv(base.env ?? [], options.env),
  };
  if (options.cwd) proc.cwd = options.cwd;
  if (options.user) {
    const [uid, gid] = options.user.split(":");
    proc.user = { uid: Number(uid), gid: Number(gid ?? 0), additionalGids: [Number(gid ?? 0)] };
    if (!Number.isInteger(proc.user.uid) || !Number.isInteger(proc.user.gid))
      throw new UserError(`--user ${options.user}: use UID[:GID]`, 1);
  }
  if (options.noNewPrivs) proc.noNewPrivileges = true;
  if (options.caps.length && proc.capabilities) {
    const add = (s?: string[]) => [...new Set([...(s ?? []), ...options.caps])];
    proc.capabilities = {
      ...proc.capabilities,
      bounding: add(proc.capabilities.bounding),
      effective: add(proc.capabilities.effective),
      permitted: add(proc.capabilities.permitted),
    };
  }
  return proc;
}

export async function ociExec(store: OciStore, options: OciExecOptions): Promise<number> {
  const rec = store.read(options.id);
  const status = store.status(rec);
  if (status !== "running" && status !== "created")
    throw new UserError(`container "${options.id}" is ${status}: cannot exec in it`, 1);
  const proc = options.processFile ? readProcess(options.processFile) : processFromFlags(rec.spec.process!, options);
  // runc: HOME from the container's passwd when the process has none ("/" without an entry).
  proc.env = homeFor(proc.env ?? [], proc.user?.uid ?? 0, rootfsReader(`/proc/${rec.pid}/root`));
  const tty = !!proc.terminal;
  if (tty && !options.consoleSocket) throw new UserError("exec with a terminal needs --console-socket", 1);
  return execInContainer(
    {
      pid: rec.pid!,
      process: proc,
      cgroupProcs: rec.cgroups?.procs ?? [],
      tty,
      detach: options.detach,
      pidFile: options.pidFile,
      seccomp: rec.spec.linux?.seccomp,
    },
    tty ? { terminal: { consoleSocket: options.consoleSocket! }, stdio: "inherit" } : { stdio: "inherit" },
  );
}
