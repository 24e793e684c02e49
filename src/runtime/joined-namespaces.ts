// --pid container:NAME and --ipc container:NAME: the namespace files of another running container,
// resolved when the container starts (and again at each `mini start`: a recorded path would name
// whatever process has that pid by then).
import { UserError } from "../common/errors.ts";
import type { Namespace, Spec } from "../config/types.ts";
import { type ContainerRecord, resolveContainer } from "../state/containers.ts";
import { statusOf } from "../state/status.ts";

/** docker's HostConfig fields of a container's namespaces, as recorded. */
export interface NamespaceModes {
  PidMode?: string;
  IpcMode?: string;
}

/** `/proc/PID/ns/TYPE` of the running container `name`; its IPC only when it was made shareable (docker's rule). */
export function containerNamespace(name: string, type: "pid" | "ipc"): string {
  let rec: ContainerRecord;
  try {
    rec = resolveContainer(name);
  } catch (e) {
    throw new UserError(`--${type} container:${name}: ${(e as Error).message}`);
  }
  const st = statusOf(rec);
  if (st.status !== "running" || !st.pid)
    throw new UserError(`--${type} container:${name}: the container is not running`);
  const mode = (rec.hostConfig as NamespaceModes | undefined)?.IpcMode;
  if (type === "ipc" && mode !== "shareable")
    throw new UserError(
      `--ipc container:${name}: its IPC namespace is private (run it with --ipc shareable to let others join it)`,
    );
  return `/proc/${st.pid}/ns/${type}`;
}

/** The spec with the namespaces it joins from other containers resolved again (mini start). */
export function refreshJoinedNamespaces(spec: Spec, modes: NamespaceModes | undefined): Spec {
  const joins: [Namespace["type"], "pid" | "ipc", string | undefined][] = [
    ["pid", "pid", modes?.PidMode],
    ["ipc", "ipc", modes?.IpcMode],
  ];
  let namespaces = spec.linux?.namespaces;
  for (const [type, kind, mode] of joins) {
    if (!mode?.startsWith("container:")) continue;
    const path = containerNamespace(mode.slice("container:".length), kind);
    namespaces = namespaces?.map((n) => (n.type === type ? { type, path } : n));
  }
  return namespaces === spec.linux?.namespaces ? spec : { ...spec, linux: { ...spec.linux, namespaces } };
}
