// `mini network create|rm|prune`: a network's record (network/networks.ts) and its bridge and
// rules on the host (network-bridge.ts), made and taken away together, as docker does. The default
// network "bridge" is made on first use and can't be removed (docker's rule: a predefined network).
import { UserError } from "../common/errors.ts";
import { listEndpoints, removeNetwork } from "../network/ipam.ts";
import {
  createNetwork,
  getNetwork,
  listNetworks,
  type NetworkOptions,
  type NetworkRecord,
} from "../network/networks.ts";
import { Rtnetlink } from "../network/rtnetlink.ts";
import { defaultNetwork, ensureBridge, removeBridge } from "./network-bridge.ts";
import { holderAlive, sweepNetworks } from "./network-sweep.ts";

const PREDEFINED = new Set(["bridge", "none", "host"]);

/** Creates a user network: its record (subnet chosen clear of the host's routes), then its bridge and rules. */
export async function createUserNetwork(opts: NetworkOptions): Promise<NetworkRecord> {
  if (PREDEFINED.has(opts.name)) throw new UserError(`network name ${opts.name} is reserved: a predefined network`);
  using nl = Rtnetlink.open();
  // The default network's record first, so that it takes docker's first pool (172.17.0.0/16) as docker0 does.
  await defaultNetwork(nl);
  const routes = nl.listRoutes().map((r) => `${r.dst}/${r.dstLen}`);
  const net = await createNetwork(opts, routes);
  try {
    await ensureBridge(nl, net);
  } catch (e) {
    // Whatever was made of it goes with the record: the user sees one error and no network.
    await removeBridge(nl, net).catch(() => {});
    await removeNetwork(net.name).catch(() => {});
    throw e;
  }
  return net;
}

/** Every network, the default one included (made now if this store has none yet). */
export async function allNetworks(): Promise<NetworkRecord[]> {
  await sweepNetworks();
  if (!listNetworks().some((n) => n.name === "bridge")) {
    using nl = Rtnetlink.open();
    await defaultNetwork(nl);
  }
  return listNetworks();
}

/** Removes a user network, refused while a live container holds an address on it. */
export async function removeUserNetwork(name: string): Promise<void> {
  if (PREDEFINED.has(name)) throw new UserError(`${name} is a pre-defined network and cannot be removed`);
  const net = getNetwork(name);
  await sweepNetworks();
  await removeNetwork(name, holderAlive);
  using nl = Rtnetlink.open();
  await removeBridge(nl, net);
}

/** Removes every user network no container uses; returns their names. */
export async function pruneNetworks(): Promise<string[]> {
  await sweepNetworks();
  const removed: string[] = [];
  for (const n of listNetworks()) {
    if (PREDEFINED.has(n.name) || listEndpoints(n.name).some((m) => holderAlive(m.containerId, m))) continue;
    try {
      await removeUserNetwork(n.name);
      removed.push(n.name);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
    }
  }
  return removed;
}
