// What `mini run` and `mini start` need of the network step, kept out of run.ts: the checks made
// before anything starts (networks exist, --network container:NAME runs), that container's
// namespace and /etc files, and the pipeline's hooks (attach in the pipeline, detach at the end).
import { UserError } from "../common/errors.ts";
import { containerPaths as files } from "../common/paths.ts";
import type { NetworkRequest } from "../config/network-flags.ts";
import type { Spec } from "../config/types.ts";
import { readNetwork } from "../network/networks.ts";
import { type ContainerRecord, resolveContainer } from "../state/containers.ts";
import { statusOf } from "../state/status.ts";
import { etcFilePaths } from "./etc-files.ts";
import { attachNetwork, detachNetwork } from "./network-attach.ts";

/** The container whose network namespace --network container:NAME joins: running, not itself joined. */
export interface JoinedContainer {
  id: string;
  hostname: string;
  netnsPath: string;
  etc: { hostname: string; hosts: string; resolv: string };
}

export function joinedContainer(req: NetworkRequest | undefined): JoinedContainer | undefined {
  if (req?.mode !== "container") return undefined;
  const rec = resolveContainer(req.container!);
  const status = statusOf(rec);
  if (status.status !== "running" || !status.pid)
    throw new UserError(`cannot join the network of container ${req.container}: it is not running`);
  if (rec.network?.mode === "host")
    throw new UserError(`cannot join the network of container ${req.container}: it uses the host's network`);
  return {
    id: rec.id,
    hostname: rec.etc?.hostname ?? rec.spec.hostname ?? "mini",
    netnsPath: `/proc/${status.pid}/ns/net`,
    etc: etcFilePaths(files.runDir(rec.id)),
  };
}

/** Refuses a request that can't be met before anything is started: a network that doesn't exist. */
export function checkNetworks(req: NetworkRequest | undefined): void {
  for (const e of req?.endpoints ?? [])
    if (e.network !== "bridge" && !readNetwork(e.network)) throw new UserError(`network ${e.network} not found`);
}

/**
 * A recorded container's spec for this start: with --network container:NAME, that container's
 * namespace as it is now (a restart of either has another pid).
 */
export function specForStart(rec: ContainerRecord): { spec: Spec; joined?: JoinedContainer } {
  const joined = joinedContainer(rec.network);
  if (!joined) return { spec: rec.spec };
  const namespaces = (rec.spec.linux?.namespaces ?? []).map((n) =>
    n.type === "network" ? { ...n, path: joined.netnsPath } : n,
  );
  return { spec: { ...rec.spec, linux: { ...rec.spec.linux, namespaces } }, joined };
}

/** The pipeline's network hooks for a recorded container (none without a network request). */
export function networkHooks(rec: ContainerRecord, joined?: JoinedContainer) {
  const request = rec.network;
  if (!request) return undefined;
  const target = {
    id: rec.id,
    name: rec.name,
    hostname: rec.etc?.hostname ?? rec.spec.hostname ?? "mini",
    request,
    joined: joined?.id,
  };
  return {
    attach: (pid: number) => attachNetwork(target, pid),
    detach: () => detachNetwork(rec.id),
  };
}
