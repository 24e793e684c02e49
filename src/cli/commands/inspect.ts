// mini inspect CONTAINER...: docker-shaped JSON
import type { CommandDef } from "citty";
import type { OptDefs, OptValues } from "../argv.ts";
import * as log from "../../log.ts";
import { resolveContainer, type ContainerRecord } from "../../state/containers.ts";
import { statusOf } from "../../state/status.ts";
import { UserError } from "../../common/errors.ts";
import { containerPaths as files } from "../../common/paths.ts";
import { resourcesHostConfig } from "../inspect-resources.ts";
import { readNetwork } from "../../network/networks.ts";
import { inspectNetwork, networkMode, networkSettings } from "../../runtime/network-info.ts";
import { compileTemplate } from "../template.ts";
import { printOut } from "../../common/stdout.ts";

export default {
  meta: { name: "inspect", description: "Show containers' (or networks') configuration and state as JSON" },
  args: {
    format: {
      type: "string",
      alias: "f",
      description: "A Go template instead of JSON, e.g. '{{.NetworkSettings.IPAddress}}'",
      valueHint: "tmpl",
    },
  },
} satisfies CommandDef<OptDefs>;

function inspectContainer(rec: ContainerRecord) {
  const st = statusOf(rec);
  const running = st.status === "running" || st.status === "paused";
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
      NetworkMode: networkMode(rec),
      PublishAllPorts: !!rec.network?.publishAll,
      Dns: rec.network?.dns ?? [],
      DnsSearch: rec.network?.dnsSearch ?? [],
      ExtraHosts: rec.network?.addHosts.map((h) => `${h.host}:${h.ip}`) ?? null,
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
    NetworkSettings: networkSettings(rec, running),
    Cgroups: rec.cgroups?.leaves.map((l) => l.dir) ?? [],
  };
}

/** A container, or (docker's inspect looks at every kind of object) a network of that name. */
function inspectObject(query: string): object {
  try {
    return inspectContainer(resolveContainer(query));
  } catch (e) {
    const net =
      e instanceof UserError && /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(query) ? readNetwork(query) : undefined;
    if (net) return inspectNetwork(net);
    throw e;
  }
}

export function run(values: OptValues, operands: string[]): number {
  if (!operands.length) throw new UserError('"mini inspect" needs at least one CONTAINER', 1);
  const template = typeof values.format === "string" ? compileTemplate(values.format) : undefined;
  const out = [];
  let failed = 0;
  for (const q of operands) {
    try {
      out.push(inspectObject(q));
    } catch (e) {
      failed++;
      log.error((e as Error).message);
    }
  }
  if (template) printOut(out.map((o) => `${template(o)}\n`).join(""));
  else printOut(`${JSON.stringify(out, null, 4)}\n`);
  return failed ? 1 : 0;
}
