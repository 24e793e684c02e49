// OCI `exec`: a process in a running container, described by --process FILE (an OCI process
// JSON) or by runc's flags and the command line. The runtime's exec use case joins it; with
// --detach it returns at once (the engine's subreaper adopts the process); with --tty the pty
// master goes to --console-socket, or without one the caller's terminal is used (runc's).
// runc's contract: any failure before the command runs exits 255 ("exec failed: ...").
import { readFileSync } from "node:fs";
import { UserError } from "../common/errors.ts";
import { homeFor, rootfsReader } from "../config/user.ts";
import type { Process } from "../config/types.ts";
import { SPEC_VERSION } from "../config/types.ts";
import { execInContainer } from "../runtime/exec.ts";
import { isInheritedFd } from "../runtime/oci-io.ts";
import { planProcessAttrs } from "../runtime/process-attrs.ts";
import { subCgroupProcs } from "./exec-cgroups.ts";
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
  /** --additional-gids, -g (repeatable). */
  additionalGids?: string[];
  /** --cgroup [CONTROLLER[,CONTROLLER]:]PATH: a sub-cgroup of the container's to run in. */
  cgroups?: string[];
  ignorePaused?: boolean;
  /** --preserve-fds N: this process's fds 3..3+N-1 become the command's. */
  preserveFds?: number;
  /** --pidfd-socket: a pidfd of the command is sent there. */
  pidfdSocket?: string;
}

/** An exec failure: runc's message and exit status. */
const failed = (msg: string) => new UserError(`exec failed: ${msg}`, 255);

function readProcess(file: string): Process {
  let parsed: Partial<Process>;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw failed(`--process ${file}: ${(e as Error).message}`);
  }
  if (!parsed || typeof parsed !== "object" || !Array.isArray(parsed.args) || !parsed.args.length)
    throw failed(`--process ${file}: process.args must be a non-empty array`);
  const user = { ...parsed.user, uid: parsed.user?.uid ?? 0, gid: parsed.user?.gid ?? 0 };
  return { cwd: "/", ...parsed, user } as Process;
}

/** The process runc's flags describe: the container's own (from its config), with these changes. */
function processFromFlags(base: Process, options: OciExecOptions): Process {
  if (!options.command.length) throw failed("exec args cannot be empty (give --process FILE or a command)");
  // runc appends --env to the config's env (a later KEY wins where it is read).
  const proc: Process = {
    ...base,
    args: options.command,
    terminal: options.tty,
    env: [...(base.env ?? []), ...options.env],
  };
  if (options.cwd) proc.cwd = options.cwd;
  if (options.user) {
    const [uid, gid] = options.user.split(":");
    proc.user = { ...base.user, uid: Number(uid) };
    if (gid !== undefined) proc.user.gid = Number(gid);
    if (!/^\d+$/.test(uid ?? "") || (gid !== undefined && !/^\d+$/.test(gid)))
      throw failed(`--user ${options.user}: use UID[:GID]`);
  }
  if (options.noNewPrivs) proc.noNewPrivileges = true;
  if (options.caps.length && proc.capabilities) {
    const add = (s?: string[]) => [...new Set([...(s ?? []), ...options.caps])];
    proc.capabilities = {
      ...proc.capabilities,
      bounding: add(proc.capabilities.bounding),
      effective: add(proc.capabilities.effective),
      permitted: add(proc.capabilities.permitted),
      // runc: ambient too, but only when the config has an inheritable set to raise them from.
      ...(proc.capabilities.inheritable ? { ambient: add(proc.capabilities.ambient) } : {}),
    };
  }
  return proc;
}

function additionalGids(proc: Process, gids: string[] = []): void {
  if (!gids.length) return;
  const list = gids
    .flatMap((g) => g.split(","))
    .map((g) => {
      if (!/^\d+$/.test(g.trim())) throw failed(`--additional-gids ${g}: give a non-negative number`);
      return Number(g);
    });
  proc.user = { ...proc.user, additionalGids: [...(proc.user.additionalGids ?? []), ...list] };
}

export async function ociExec(store: OciStore, options: OciExecOptions): Promise<number> {
  const rec = store.read(options.id);
  const status = store.status(rec);
  if (status === "stopped") throw failed("cannot exec in a stopped container");
  if (status === "creating") throw failed(`container "${options.id}" is still being created`);
  if (status === "paused" && !options.ignorePaused)
    throw failed("cannot exec in a paused container (use --ignore-paused to override)");
  const preserveFds = options.preserveFds ?? 0;
  for (let fd = 3; fd < 3 + preserveFds; fd++)
    if (!isInheritedFd(fd)) throw failed(`--preserve-fds ${preserveFds}: fd ${fd} was not passed to mini`);
  const proc = options.processFile ? readProcess(options.processFile) : processFromFlags(rec.spec.process!, options);
  additionalGids(proc, options.additionalGids);
  // runc: HOME from the container's passwd when the process has none ("/" without an entry).
  proc.env = homeFor(proc.env ?? [], proc.user?.uid ?? 0, rootfsReader(`/proc/${rec.pid}/root`));
  const tty = !!proc.terminal;
  if (tty && options.detach && !options.consoleSocket)
    throw failed("cannot allocate a tty when detaching without --console-socket");
  const seccomp = rec.spec.linux?.seccomp;
  return execInContainer(
    {
      pid: rec.pid!,
      process: proc,
      cgroupProcs: subCgroupProcs(rec.cgroups, options.cgroups ?? []),
      tty,
      detach: options.detach,
      pidFile: options.pidFile,
      seccomp,
      attrs: planProcessAttrs({ process: proc, linux: rec.spec.linux }),
      setupExit: 255,
      seccompState: seccomp?.listenerPath
        ? {
            ociVersion: SPEC_VERSION,
            fds: ["seccompFd"],
            ...(seccomp.listenerMetadata ? { metadata: seccomp.listenerMetadata } : {}),
            state: { ...store.stateJson(rec), status: "running" },
          }
        : undefined,
      pidfdSocket: options.pidfdSocket,
      preserveFds,
    },
    !tty
      ? { stdio: "inherit" }
      : options.consoleSocket
        ? { terminal: { consoleSocket: options.consoleSocket }, stdio: "inherit" }
        : // runc: a terminal without a console socket is the caller's own.
          { terminal: { attach: { interactive: true } }, stdio: "inherit" },
  );
}
