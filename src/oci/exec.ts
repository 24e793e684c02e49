// OCI `exec`: a process in a running container, described by --process FILE (an OCI process
// JSON) or by flags and the command line. mini-shim joins the container and execs it; with
// --detach it returns at once (the engine's subreaper adopts the process), with --tty the pty
// master goes to --console-socket.
import { readFileSync } from "node:fs";
import type { OptValues } from "../cli/argv.ts";
import type { Process } from "../config/types.ts";
import { UserError } from "../common/errors.ts";
import type { OciStore } from "./state.ts";

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

export async function ociExec(
  store: OciStore,
  v: OptValues,
  operands: string[],
  list: (x: OptValues[string]) => string[],
): Promise<number> {
  const [id, ...cmd] = operands;
  if (!id) throw new UserError('"exec" requires a container id', 1);
  const rec = store.read(id);
  const status = store.status(rec);
  if (status !== "running" && status !== "created")
    throw new UserError(`container "${id}" is ${status}: cannot exec in it`, 1);
  const str = (k: string) => (typeof v[k] === "string" ? (v[k] as string) : undefined);
  const base = rec.spec.process!;
  let proc: Process;
  if (str("process")) proc = readProcess(str("process")!);
  else {
    if (!cmd.length) throw new UserError("exec: give --process FILE or a command", 1);
    proc = { ...base, args: cmd, terminal: !!v.tty };
    if (str("cwd")) proc.cwd = str("cwd")!;
    const { mergeEnv } = require("../config/env.ts") as typeof import("../config/env.ts");
    proc.env = mergeEnv(base.env ?? [], list(v.env));
    if (str("user")) {
      const [u, g] = str("user")!.split(":");
      proc.user = { uid: Number(u), gid: Number(g ?? 0), additionalGids: [Number(g ?? 0)] };
      if (!Number.isInteger(proc.user.uid) || !Number.isInteger(proc.user.gid))
        throw new UserError(`--user ${str("user")}: use UID[:GID]`, 1);
    }
    if (v["no-new-privs"]) proc.noNewPrivileges = true;
    const caps = list(v.cap);
    if (caps.length && proc.capabilities) {
      const add = (s?: string[]) => [...new Set([...(s ?? []), ...caps])];
      proc.capabilities = {
        ...proc.capabilities,
        bounding: add(proc.capabilities.bounding),
        effective: add(proc.capabilities.effective),
        permitted: add(proc.capabilities.permitted),
      };
    }
  }
  const tty = !!proc.terminal;
  if (tty && !str("console-socket")) throw new UserError("exec with a terminal needs --console-socket", 1);
  const detach = !!v.detach;
  const { envObject, shimExecArgv } = require("../runtime/exec.ts") as typeof import("../runtime/exec.ts");
  const argv = shimExecArgv({
    pid: rec.pid!,
    process: proc,
    cgroupProcs: rec.cgroups?.procs ?? [],
    tty,
    detach,
    pidFile: str("pid-file"),
    seccomp: rec.spec.linux?.seccomp,
  });
  let stdio: ("inherit" | number)[] = ["inherit", "inherit", "inherit"];
  let slave: number | undefined;
  if (tty) {
    const { openpty, sendFd, unixConnect } = require("../sys/socket.ts") as typeof import("../sys/socket.ts");
    const [master, s] = openpty();
    const sock = unixConnect(str("console-socket")!);
    sendFd(sock, master, "/dev/ptmx", "console socket");
    const { close } = require("../sys/calls.ts") as typeof import("../sys/calls.ts");
    close(sock);
    close(master);
    slave = s;
    stdio = [s, s, s];
  }
  const child = Bun.spawn(argv, { env: envObject(proc.env ?? []), stdio: stdio as never, detached: tty });
  if (slave !== undefined) (require("../sys/calls.ts") as typeof import("../sys/calls.ts")).close(slave);
  const fwd = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"].map((s) => {
    const h = () => child.kill(s as NodeJS.Signals);
    process.on(s as NodeJS.Signals, h);
    return [s, h] as const;
  });
  const code = await child.exited;
  for (const [s, h] of fwd) process.off(s as NodeJS.Signals, h);
  return code;
}
