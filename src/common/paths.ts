// Where mini keeps its files. Two roots, overridable for tests and private stores:
//   MINI_ROOT (/var/lib/mini)      persistent, 0700: the image store and containers' records
//     blobs/sha256/<hex>           manifests, configs and compressed layers, content-addressed
//     layers/<hex>/                a layer unpacked once per diffID (an overlay lowerdir)
//     images.json                  the image index
//     tmp/                         downloads and unpacks in progress
//     locks/<name>.lock            flock files (lock.ts)
//     containers/<id>/             container.json, container.log[.1], exit, result.json, the
//                                  overlay's upper/work/rootfs dirs of an image container
//     networks/<name>.json         a network: bridge, subnet, gateway, internal (network/ipam.ts)
//     networks/<name>.leases.json  its addresses in use: address → container id, and the last one given
//   MINI_RUN_ROOT (/run/mini)      runtime state, gone at reboot
//     <id>/                        state.json (pid, start time, monitor), owner.json, /etc files,
//                                  network.json (its addresses, veths and published ports while it runs)

export const storeRoot = (): string => process.env.MINI_ROOT ?? "/var/lib/mini";
export const runRoot = (): string => process.env.MINI_RUN_ROOT ?? "/run/mini";

const hexOf = (digest: string) => digest.slice(digest.indexOf(":") + 1);

/** The image store's files. */
export const storePaths = {
  blob: (digest: string) => `${storeRoot()}/blobs/sha256/${hexOf(digest)}`,
  layer: (diffID: string) => `${storeRoot()}/layers/${hexOf(diffID)}`,
  layersDir: () => `${storeRoot()}/layers`,
  index: () => `${storeRoot()}/images.json`,
  tmp: () => `${storeRoot()}/tmp`,
  containers: () => `${storeRoot()}/containers`,
};

/** mini's networks and their address leases (network/ipam.ts). */
export const networkPaths = {
  dir: () => `${storeRoot()}/networks`,
  record: (name: string) => `${storeRoot()}/networks/${name}.json`,
  leases: (name: string) => `${storeRoot()}/networks/${name}.leases.json`,
};

/** A lock file under the store (for withLock). */
export const lockPath = (name: string): string => `${storeRoot()}/locks/${name}.lock`;

/** One container's files: its persistent directory and its runtime directory. */
export const containerPaths = {
  dir: (id: string) => `${storePaths.containers()}/${id}`,
  runDir: (id: string) => `${runRoot()}/${id}`,
  record: (id: string) => `${storePaths.containers()}/${id}/container.json`,
  log: (id: string) => `${storePaths.containers()}/${id}/container.log`,
  exit: (id: string) => `${storePaths.containers()}/${id}/exit`,
  result: (id: string) => `${storePaths.containers()}/${id}/result.json`,
  /** The image id an image container runs (rmi refuses an image in use). */
  image: (id: string) => `${storePaths.containers()}/${id}/image`,
  /** Written while a mini process creates the container, before its record exists: who (pid, start time). */
  creating: (id: string) => `${storePaths.containers()}/${id}/creating`,
  state: (id: string) => `${runRoot()}/${id}/state.json`,
  owner: (id: string) => `${runRoot()}/${id}/owner.json`,
  /** What the network step set up for the current start (runtime/network-attach.ts). */
  network: (id: string) => `${runRoot()}/${id}/network.json`,
};
