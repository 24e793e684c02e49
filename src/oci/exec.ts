// OCI `exec`: a process in a running container, described by --process FILE (an OCI process
// JSON) or by runc's flags and the command line. The runtime's exec use case joins it; with
// --detach it returns at once (the engine's subreaper adopts the process), with --tty the pty
// master goes to --console-socket.
import { readFileSync } from "node:fs";
import { UserError } from "../common/errors.ts";
import { mergeEnv } from "../config/env.ts";
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
  let p: Partial<Process>;
  try {
    p = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new UserError(`--process ${file}: ${(e as Error).message}`, 1);
  }
  if (!p || typeof p !== "object" || !Array.isArray(p.args) || !p.args.length)
    throw new UserError(`--process ${file}: process.args must be a non-empty array`, 1);
  return { cwd: "/", user: { uid: 0, gid: 0 }, ...p } as Process;
}

/** The process runc's flags describe: the container's own, with these changes. */
function processFromFlags(base: Process, o: OciExecOptions): Process {
  if (!o.command.length) throw new UserError("exec: give --process FILE or a command", 1);
  const proc: Process = { ...base, args: o.command, terminal: o.tty, env: mergeEnv(base.env ?? [], o.env) };
  if (o.cwd) proc.cwd = o.cwd;
  if (o.user) {
    const [u, g] = o.user.split(":");
    proc.user = { uid: Number(u), gid: Number(g ?? 0), additionalGids: [Number(g ?? 0)] };
    if (!Number.isInteger(proc.user.uid) || !Number.isInteger(proc.user.gid))
      throw new UserError(`--user ${o.user}: use UID[:GID]`, 1);
  }
  if (o.noNewPrivs) proc.noNewPrivileges = true;
  if (o.caps.length && proc.capabilities) {
    const add = (s?: string[]) => [...new Set([...(s ?? []), ...o.caps])];
    proc.capabilities = {
      ...proc.capabilities,
      bounding: add(proc.capabilities.bounding),
      effective: add(proc.capabilities.effective),
      permitted: add(proc.capabilities.permitted),
    };
  }
  return proc;
}

export async function ociExec(store: OciStore, o: OciExecOptions): Promise<number> {
  const rec = store.read(o.id);
  const status = store.status(rec);
  if (status !== "running" && status !== "created")
    throw new UserError(`container "${o.id}" is ${status}: cannot exec in it`, 1);
  const proc = o.processFile ? readProcess(o.processFile) : processFromFlags(rec.spec.process!, o);
  const tty = !!proc.terminal;
  if (tty && !o.consoleSocket) throw new UserError("exec with a terminal needs --console-socket", 1);
  return execInContainer(
    {
      pid: rec.pid!,
      process: proc,
      cgroupProcs: rec.cgroups?.procs ?? [],
      tty,
      detach: o.detach,
      pidFile: o.pidFile,
      seccomp: rec.spec.linux?.seccomp,
    },
    tty ? { terminal: { consoleSocket: o.consoleSocket! }, stdio: "inherit" } : { stdio: "inherit" },
  );
}
