// mini inspect CONTAINER...: docker-shaped JSON
import type { CommandDef } from "citty";
import type { OptDefs, OptValues } from "../argv.ts";
import * as log from "../../log.ts";
import { resolveContainer, type ContainerRecord } from "../../state/containers.ts";
import { statusOf } from "../../state/status.ts";
import { UserError } from "../../common/errors.ts";
import { containerPaths as files } from "../../common/paths.ts";
import { resourcesHostConfig } from "../inspect-resources.ts";

export default {
  meta: { name: "inspect", description: "Show containers' configuration and state as JSON" },
  args: {},
} satisfies CommandDef<OptDefs>;

function inspectContainer(rec: ContainerRecord) {
  const st = statusOf(rec);
  const p = rec.spec.process;
  const r = rec.spec.linux?.resources;
  return {
    Id: rec.id,
    Name: rec.name,
    Created: rec.created,
    Path: p?.args?.[0],
    Args: p?.args?.slice(1) ?? [],
    State: {
      Status: st.status,
      Running: st.status === "running" || st.status === "paused",
      Paused: st.status === "paused",
      Pid: st.status === "running" || st.status === "paused" ? st.pid : 0,
      ExitCode: st.exitCode ?? 0,
      OOMKilled: st.oomKilled,
      StartedAt: st.startedAt ?? null,
      FinishedAt: st.finishedAt ?? null,
    },
    Image: rec.imageId ?? "",
    ImageName: rec.image ?? "",
    Rootfs: rec.spec.root?.path,
    LogPath: files.log(rec.id),
    HostConfig: {
      AutoRemove: rec.autoRemove,
      Init: rec.init,
      ...resourcesHostConfig(r),
      ReadonlyRootfs: !!rec.spec.root?.readonly,
      CapAdd: null,
      ...rec.hostConfig,
    },
    Config: {
      Hostname: rec.spec.hostname,
      User: p?.user ? `${p.user.uid}:${p.user.gid}` : "",
      Env: p?.env ?? [],
      Cmd: p?.args ?? [],
      WorkingDir: p?.cwd ?? "/",
      Tty: !!p?.terminal,
      StopSignal: rec.stopSignal ?? "SIGTERM",
      ...(rec.stopTimeout !== undefined && { StopTimeout: rec.stopTimeout }),
    },
    Mounts: (rec.spec.mounts ?? [])
      .filter((m) => m.type === "bind" || m.options?.includes("bind"))
      .map((m) => ({
        Type: "bind",
        Source: m.source,
        Destination: m.destination,
        RW: !m.options?.includes("ro"),
      })),
    Cgroups: rec.cgroups?.leaves.map((l) => l.dir) ?? [],
  };
}

export function run(_values: OptValues, operands: string[]): number {
  if (!operands.length) throw new UserError('"mini inspect" needs at least one CONTAINER', 1);
  const out = [];
  let failed = 0;
  for (const q of operands) {
    try {
      out.push(inspectContainer(resolveContainer(q)));
    } catch (e) {
      failed++;
      log.error((e as Error).message);
    }
  }
  process.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
  return failed ? 1 : 0;
}
