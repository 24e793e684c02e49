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
export function dockerExec(rec: ContainerRecord, options: DockerExecOptions): Promise<number> {
  const status = requireRunning(rec);
  log.debug(`exec in ${rec.name} (pid ${status.pid})`);
  const base: Partial<Process> = rec.spec.process ?? {};
  let user = base.user;
  let capabilities = base.capabilities;
  const overrides: string[] = [];
  if (options.user !== undefined) {
    const resolved = resolveUser("/", options.user, { readFile: rootfsReader(`/proc/${status.pid}/root`) });
    user = resolved.user;
    if (capabilities?.bounding) capabilities = ociCapabilities(capabilities.bounding, resolved.user.uid);
    overrides.push(`HOME=${resolved.home}`);
  }
  for (const e of options.env) overrides.push(parseEnvFlag(e));
  const attached = options.tty && !options.detach;
  return execInContainer(
    {
      pid: status.pid!,
      process: {
        ...base,
        user: user ?? { uid: 0, gid: 0 },
        capabilities,
        env: mergeEnv(base.env ?? [], overrides),
        args: options.command,
        cwd: options.workdir ?? base.cwd ?? "/",
        terminal: options.tty,
      },
      cgroupProcs: rec.cgroups?.procs ?? [],
      tty: attached,
      detach: options.detach,
      seccomp: rec.spec.linux?.seccomp,
    },
    attached
      ? { terminal: { attach: { interactive: options.interactive } }, stdio: "caller" }
      : { stdio: options.detach ? "none" : "caller", interactive: options.interactive && !options.detach },
  );
}
