// `mini run` flags → an OCI Spec. Pure apart from reading the rootfs's /etc/passwd and /etc/group
// and the --env-file files.
import { readFileSync } from "node:fs";
import * as log from "../log.ts";
import { hostname as hostnameOfHost } from "node:os";
import { UserError } from "../common/errors.ts";
import { boundingSet } from "../common/proc.ts";
import { applyCapFlags, DEFAULT_CAPS, ociCapabilities } from "./capabilities.ts";
import { DEFAULT_DEVICE_RULES, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, defaultMounts } from "./defaults.ts";
import { defaultEnv, mergeEnv, parseEnvFile, parseEnvFlag } from "./env.ts";
import type { IdMapping, LinuxSeccomp, Mount, Namespace, Resources, Spec } from "./types.ts";
import { parseCpus, parseMemory, parseMemorySwap } from "./units.ts";
import { resolveUser } from "./user.ts";
import { defaultSeccomp } from "./seccomp-default.ts";
import { fromDockerProfile, isDockerProfile } from "./seccomp-docker-profile.ts";
import { hostDevices, type StatDevice } from "./device-flags.ts";
import {
  applyIsolation,
  applyNamespaceModes,
  type ContainerNamespace,
  ignoredSecurityOpt,
  type IsolationFlags,
  shmMount,
} from "./isolation-flags.ts";
import { makePrivileged } from "./privileged.ts";
import { applyResourceFlags, type ResourceFlags } from "./resource-flags.ts";
import { CAPABILITIES } from "./capabilities.ts";

export interface RunFlags {
  rootfs: string;
  command: string[];
  tty?: boolean;
  hostname?: string;
  env?: string[];
  envFile?: string[];
  workdir?: string;
  user?: string;
  volumes?: string[];
  tmpfs?: string[];
  readOnly?: boolean;
  memory?: string;
  memorySwap?: string;
  cpus?: string;
  cpuShares?: string;
  pidsLimit?: string;
  /** none, host, bridge, a network's name, or container:NAME (network-flags.ts). */
  network?: string;
  /** --network container:NAME: that container's network namespace (/proc/PID/ns/net). */
  netnsPath?: string;
  userns?: boolean;
  uidmap?: string[];
  gidmap?: string[];
  capAdd?: string[];
  capDrop?: string[];
  securityOpt?: string[];
  /** From the image config: what applies unless a flag says otherwise (-u, -e, -w). */
  image?: { user?: string; env?: string[]; workdir?: string };
  /** Reads a file of the container (the image's layers when ROOTFS is not mounted yet). */
  readFile?: (path: string) => string | undefined;
  /** Host files the runtime wrote for /etc/hostname, /etc/hosts, /etc/resolv.conf. */
  etcFiles?: { hostname: string; hosts: string; resolv: string };
  /** docker's other resource flags (--cpu-period, --blkio-weight, --device, …). */
  resourceFlags?: ResourceFlags;
  /** docker's isolation flags (--privileged, --ulimit, --sysctl, --pid, --ipc, …). */
  isolation?: IsolationFlags;
  /** The container's cgroup name (mini-ID), placed under --cgroup-parent when given. */
  cgroupName?: string;
  /** Resolves --pid/--ipc container:NAME to that container's namespace file. */
  containerNamespace?: ContainerNamespace;
  /** Whether the host accounts swap (false: -m alone sets no memory+swap limit, as docker does there). */
  swapAccounting?: boolean;
  /** Host device lookups (tests pass fakes). */
  statDevice?: StatDevice;
  hostDevices?: () => import("./types.ts").Device[];
}

function intFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v.trim())) throw new UserError(`invalid value "${v}" for ${name}: not an integer`);
  return Number(v);
}

export function parseVolume(v: string): Mount {
  const parts = v.split(":");
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1])
    throw new UserError(`invalid volume "${v}": use HOST:CONTAINER[:ro]`);
  const [src, dst, mode = "rw"] = parts;
  if (!src.startsWith("/")) throw new UserError(`invalid volume "${v}": the host path must be absolute`);
  if (!dst.startsWith("/")) throw new UserError(`invalid volume "${v}": the container path must be absolute`);
  const opts = mode.split(",");
  for (const o of opts)
    if (!["ro", "rw", "z", "Z", "private", "rprivate", "shared", "rshared", "slave", "rslave"].includes(o))
      throw new UserError(`invalid volume "${v}": unknown mode "${o}"`);
  return {
    destination: dst,
    type: "bind",
    source: src,
    options: ["rbind", ...(opts.includes("ro") ? ["ro"] : []), ...opts.filter((o) => o !== "ro" && o !== "rw")],
  };
}

export function parseTmpfs(v: string): Mount {
  const [dst, opts] = v.split(/:(.*)/s);
  if (!dst.startsWith("/")) throw new UserError(`invalid --tmpfs "${v}": the path must be absolute`);
  return {
    destination: dst,
    type: "tmpfs",
    source: "tmpfs",
    options: ["nosuid", "nodev", "noexec", ...(opts ? opts.split(",") : [])],
  };
}

/** "0:100000:65536" → an id mapping. */
export function parseIdMap(v: string, flag: string): IdMapping {
  const m = /^(\d+):(\d+):(\d+)$/.exec(v);
  if (!m || Number(m[3]) === 0) throw new UserError(`invalid ${flag} "${v}": use CONTAINER_ID:HOST_ID:SIZE`);
  return { containerID: Number(m[1]), hostID: Number(m[2]), size: Number(m[3]) };
}

function resources(f: RunFlags): Resources {
  const r: Resources = { devices: DEFAULT_DEVICE_RULES };
  const memory = f.memory !== undefined ? parseMemory(f.memory) : undefined;
  let swap = parseMemorySwap(memory, f.memorySwap);
  if (f.memorySwap === undefined && swap !== undefined && f.swapAccounting === false) {
    log.warn("your kernel does not support swap limit capabilities: memory limited without swap");
    swap = undefined;
  }
  if (memory !== undefined || swap !== undefined)
    r.memory = { ...(memory !== undefined && { limit: memory }), ...(swap !== undefined && { swap }) };
  if (f.cpus !== undefined) r.cpu = { ...parseCpus(f.cpus) };
  const shares = intFlag("--cpu-shares", f.cpuShares);
  if (shares !== undefined) {
    if (shares < 2 || shares > 262144) throw new UserError(`invalid --cpu-shares ${shares}: use 2 to 262144`);
    r.cpu = { ...r.cpu, shares };
  }
  const pids = intFlag("--pids-limit", f.pidsLimit);
  if (pids !== undefined) r.pids = { limit: pids <= 0 ? -1 : pids };
  return r;
}

const DEFAULT_ID_MAP: IdMapping[] = [{ containerID: 0, hostID: 100000, size: 65536 }];

/**
 * The namespaces (and id maps) the flags ask for. Separate from specFromFlags so `mini run` can
 * start the child stage before the rest of the spec is built; specFromFlags uses it too.
 */
export function namespacesFromFlags(
  f: Pick<RunFlags, "network" | "netnsPath" | "userns" | "uidmap" | "gidmap" | "isolation" | "containerNamespace">,
): {
  namespaces: Namespace[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
} {
  const network = f.network ?? "bridge";
  const namespaces: Namespace[] = [
    { type: "pid" },
    { type: "ipc" },
    { type: "uts" },
    { type: "mount" },
    { type: "cgroup" },
  ];
  // A new network namespace, except with the host's or another container's (network-flags.ts).
  if (network.startsWith("container:")) {
    if (!f.netnsPath) throw new Error(`internal: --network ${network} without that container's namespace`);
    namespaces.push({ type: "network", path: f.netnsPath });
  } else if (network !== "host") namespaces.push({ type: "network" });
  if (f.isolation)
    namespaces.splice(0, namespaces.length, ...applyNamespaceModes(namespaces, f.isolation, f.containerNamespace));
  if (!f.userns && !f.uidmap?.length) return { namespaces };
  namespaces.push({ type: "user" });
  const uidMappings = f.uidmap?.length ? f.uidmap.map((m) => parseIdMap(m, "--uidmap")) : DEFAULT_ID_MAP;
  const gidMappings = f.gidmap?.length
    ? f.gidmap.map((m) => parseIdMap(m, "--gidmap"))
    : f.uidmap?.length
      ? uidMappings
      : DEFAULT_ID_MAP;
  return { namespaces, uidMappings, gidMappings };
}

export function specFromFlags(f: RunFlags): Spec {
  if (!f.command.length) throw new UserError("no command given: mini run [OPTIONS] ROOTFS COMMAND [ARG...]");
  const iso = f.isolation ?? {};
  const utsHost = iso.uts === "host";
  if (utsHost && f.hostname !== undefined)
    throw new UserError("conflicting options: -h/--hostname and --uts host (the host's hostname is the container's)");
  const hostname = f.hostname ?? (utsHost ? hostnameOfHost() : "mini");
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/.test(hostname)) throw new UserError(`invalid hostname "${hostname}"`);
  const { user, home } = resolveUser(f.rootfs, f.user ?? (f.image?.user || undefined), {
    readFile: f.readFile,
    groupAdd: iso.groupAdd,
  });
  // docker's layering: defaults < the image's Env < --env-file < -e.
  let env = mergeEnv(defaultEnv({ hostname, home, tty: f.tty }), f.image?.env ?? []);
  for (const file of f.envFile ?? []) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      throw new UserError(`--env-file ${file}: no such file`);
    }
    env = mergeEnv(env, parseEnvFile(text, process.env, file));
  }
  env = mergeEnv(
    env,
    (f.env ?? []).map((e) => parseEnvFlag(e)),
  );
  const cwd = f.workdir ?? (f.image?.workdir || "/");
  if (!cwd.startsWith("/")) throw new UserError(`invalid --workdir "${cwd}": the path must be absolute`);

  const available = boundingSet();
  const caps = applyCapFlags(
    iso.privileged ? CAPABILITIES.filter((_, n) => (available >> BigInt(n)) & 1n) : DEFAULT_CAPS,
    f.capAdd ?? [],
    f.capDrop ?? [],
    available,
  );
  let noNewPrivileges = false;
  // docker's default profile unless the user names another or opts out (seccomp=unconfined).
  let seccomp: LinuxSeccomp | undefined | "default" = "default";
  for (const o of f.securityOpt ?? []) {
    if (o === "no-new-privileges" || o === "no-new-privileges=true" || o === "no-new-privileges:true")
      noNewPrivileges = true;
    else if (o === "no-new-privileges=false" || o === "no-new-privileges:false") noNewPrivileges = false;
    else if (/^seccomp[=:]./.test(o))
      seccomp = o.slice(8) === "unconfined" ? undefined : readSeccompProfile(o.slice(8), caps);
    else if (!ignoredSecurityOpt(o))
      throw new UserError(
        `unsupported --security-opt "${o}": mini knows no-new-privileges, seccomp=PROFILE.json|unconfined, label=…, apparmor=…`,
      );
  }
  if (iso.privileged) seccomp = undefined; // docker: --privileged runs unconfined

  const network = f.network ?? "bridge";
  const { namespaces, uidMappings, gidMappings } = namespacesFromFlags(f);

  const mounts = defaultMounts();
  if (uidMappings) {
    // sysfs can't be mounted in a user namespace that doesn't own the network namespace.
    if (network === "host")
      mounts[mounts.findIndex((m) => m.destination === "/sys")] = {
        destination: "/sys",
        type: "bind",
        source: "/sys",
        options: ["rbind", "nosuid", "noexec", "nodev", "ro"],
      };
  }
  if (f.etcFiles) {
    mounts.push({
      destination: "/etc/hostname",
      type: "bind",
      source: f.etcFiles.hostname,
      options: ["bind", "rprivate"],
    });
    mounts.push({ destination: "/etc/hosts", type: "bind", source: f.etcFiles.hosts, options: ["bind", "rprivate"] });
    mounts.push({
      destination: "/etc/resolv.conf",
      type: "bind",
      source: f.etcFiles.resolv,
      options: ["bind", "rprivate"],
    });
  }
  for (const t of f.tmpfs ?? []) mounts.push(parseTmpfs(t));
  for (const v of f.volumes ?? []) mounts.push(parseVolume(v));
  const limits = applyResourceFlags(resources(f), f.resourceFlags ?? {}, f.statDevice);

  const spec: Spec = {
    ociVersion: "1.2.0",
    process: {
      terminal: !!f.tty,
      user,
      args: f.command,
      env,
      cwd,
      capabilities: ociCapabilities(caps, user.uid),
      noNewPrivileges,
    },
    root: { path: f.rootfs, readonly: !!f.readOnly },
    hostname: utsHost ? undefined : hostname,
    mounts: shmMount(mounts, iso.ipc, iso.shmSize),
    linux: {
      namespaces,
      resources: limits.resources,
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  };
  const p = spec.process!;
  const linux = spec.linux!;
  if (limits.devices.length) linux.devices = limits.devices;
  if (uidMappings) Object.assign(linux, { uidMappings, gidMappings });
  if (seccomp === "default") linux.seccomp = defaultSeccomp(caps);
  else if (seccomp) linux.seccomp = seccomp;
  applyIsolation(p, linux, iso, f.cgroupName);
  return iso.privileged ? makePrivileged(spec, (f.hostDevices ?? hostDevices)()) : spec;
}

/**
 * A seccomp profile file: OCI linux.seccomp JSON, or docker's format (archMap, includes/excludes),
 * resolved for this container's arch and bounding capabilities. Integers above 2^53 are kept as
 * decimal strings (JSON numbers would round them); the compiler reads both. Checked when compiled.
 */
export function readSeccompProfile(file: string, bounding: readonly string[]): LinuxSeccomp {
  const where = `--security-opt seccomp=${file}`;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(
      `${where}: ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : (code ?? String(e))}`,
    );
  }
  let profile: unknown;
  try {
    const exact = (_k: string, v: unknown, ctx?: { source?: string }) =>
      typeof v === "number" && !Number.isSafeInteger(v) && ctx?.source && /^\d+$/.test(ctx.source) ? ctx.source : v;
    profile = JSON.parse(text, exact as (k: string, v: unknown) => unknown);
  } catch (e) {
    throw new UserError(`${where}: invalid JSON (${(e as Error).message})`);
  }
  if (typeof profile !== "object" || profile === null || Array.isArray(profile))
    throw new UserError(`${where}: not a seccomp profile (a JSON object)`);
  if (isDockerProfile(profile))
    return fromDockerProfile(profile as Record<string, unknown>, { arch: process.arch, bounding }, where);
  return profile as LinuxSeccomp;
}
