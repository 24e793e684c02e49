// docker's `exec`: the container's own process settings, with -u, -e and -w applied on top.
import { ociCapabilities } from "../config/capabilities.ts";
import { mergeEnv, parseEnvFlag } from "../config/env.ts";
import type { Process } from "../config/types.ts";
import { resolveUser, rootfsReader } from "../config/user.ts";
import * as log from "../log.ts";
import type { ContainerRecord } from "../state/containers.ts";
import { execInContainer } from "./exec.ts";
import { requireRunning } from "./lifecycle.ts";

export interface DockerExecOptions {
  command: string[];
  /** name|uid[:group|gid], looked up in the container's /etc/passwd and /etc/group. */
  user?: string;
  /** -e KEY=VAL (or KEY: the host's value). */
  env: string[];
  workdir?: string;
  tty: boolean;
  interactive: boolean;
  detach: boolean;
}

/** Runs a command in a running docker-style container; its exit status. */
export function dockerExec(rec: ContainerRecord, o: DockerExecOptions): Promise<number> {
  const st = requireRunning(rec);
  log.debug(`exec in ${rec.name} (pid ${st.pid})`);
  const base: Partial<Process> = rec.spec.process ?? {};
  let user = base.user;
  let capabilities = base.capabilities;
  const overrides: string[] = [];
  if (o.user !== undefined) {
    const r = resolveUser("/", o.user, { readFile: rootfsReader(`/proc/${st.pid}/root`) });
    user = r.user;
    if (capabilities?.bounding) capabilities = ociCapabilities(capabilities.bounding, r.user.uid);
    overrides.push(`HOME=${r.home}`);
  }
  for (const e of o.env) overrides.push(parseEnvFlag(e));
  const attached = o.tty && !o.detach;
  return execInContainer(
    {
      pid: st.pid!,
      process: {
        ...base,
        user: user ?? { uid: 0, gid: 0 },
        capabilities,
        env: mergeEnv(base.env ?? [], overrides),
        args: o.command,
        cwd: o.workdir ?? base.cwd ?? "/",
        terminal: o.tty,
      },
      cgroupProcs: rec.cgroups?.procs ?? [],
      tty: attached,
      detach: o.detach,
      seccomp: rec.spec.linux?.seccomp,
    },
    attached
      ? { terminal: { attach: { interactive: o.interactive } }, stdio: "caller" }
      : { stdio: o.detach ? "none" : "caller", interactive: o.interactive && !o.detach },
  );
}
