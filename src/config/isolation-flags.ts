// docker's isolation and limit flags → the OCI config: --ulimit, --sysctl, --shm-size,
// --oom-score-adj, --pid/--ipc/--uts/--cgroupns modes, --cgroup-parent, --security-opt
// label=…/apparmor=… (accepted and ignored where the host has neither LSM, as podman does).
import { existsSync, readFileSync } from "node:fs";
import { UserError } from "../common/errors.ts";
import * as log from "../log.ts";
import { getrlimit } from "../sys/calls.ts";
import { RLIMIT } from "../sys/constants.ts";
import { checkSysctls } from "./sysctl.ts";
import type { Linux, Mount, Namespace, Process, Rlimit } from "./types.ts";
import { parseBytes } from "./units.ts";

export interface IsolationFlags {
  privileged?: boolean;
  ulimit?: string[];
  sysctl?: string[];
  shmSize?: string;
  groupAdd?: string[];
  oomScoreAdj?: string;
  pid?: string;
  ipc?: string;
  uts?: string;
  cgroupns?: string;
  cgroupParent?: string;
}

/** A running container's namespace file for `--pid/--ipc container:NAME` (resolved by the runtime). */
export type ContainerNamespace = (container: string, type: "pid" | "ipc") => string;

const ULIMITS = [
  "as",
  "core",
  "cpu",
  "data",
  "fsize",
  "locks",
  "memlock",
  "msgqueue",
  "nice",
  "nofile",
  "nproc",
  "rss",
  "rtprio",
  "rttime",
  "sigpending",
  "stack",
];

/** Whether this process may raise hard rlimits (CAP_SYS_RESOURCE, bit 24, in its effective set). */
export function hasSysResource(status = () => readFileSync("/proc/self/status", "utf8")): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status());
  return !!m && ((BigInt(`0x${m[1]}`) >> 24n) & 1n) === 1n;
}

const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

/**
 * `--ulimit NAME=SOFT[:HARD]` (HARD defaults to SOFT; -1 or "unlimited" for no limit). A hard
 * limit above mini's own can only be set with CAP_SYS_RESOURCE: without it that is an error here,
 * before anything is created.
 */
export function parseUlimits(
  values: string[],
  own: (resource: number) => { hard: bigint } = getrlimit,
  canRaise: () => boolean = hasSysResource,
): Rlimit[] {
  const out = new Map<string, Rlimit>();
  for (const v of values) {
    const m = /^([a-z]+)=(-?\d+|unlimited)(?::(-?\d+|unlimited))?$/.exec(v.trim());
    if (!m) throw new UserError(`invalid --ulimit "${v}": use NAME=SOFT[:HARD], e.g. nofile=1024:2048`);
    const name = m[1]!;
    if (!ULIMITS.includes(name))
      throw new UserError(`invalid --ulimit "${v}": unknown limit ${name} (one of ${ULIMITS.join(", ")})`);
    const num = (s: string) => (s === "unlimited" || s === "-1" ? -1 : Number(s));
    const soft = num(m[2]!);
    const hard = m[3] === undefined ? soft : num(m[3]);
    const big = (n: number) => (n < 0 ? RLIM_INFINITY : BigInt(n));
    if (big(soft) > big(hard))
      throw new UserError(`invalid --ulimit "${v}": the soft limit ${m[2]} is above the hard limit ${m[3]}`);
    const type = `RLIMIT_${name.toUpperCase()}`;
    const cur = own(RLIMIT[type]!).hard;
    if (big(hard) > cur && !canRaise())
      throw new UserError(
        `invalid --ulimit "${v}": the hard limit ${hard < 0 ? "unlimited" : hard} is above mini's own (${cur === RLIM_INFINITY ? "unlimited" : cur}), and raising it needs CAP_SYS_RESOURCE, which mini does not have`,
      );
    // -1 (unlimited) as the largest rlim_t; the runtime maps anything >= 2^63 to RLIM_INFINITY
    out.set(type, { type, soft: soft < 0 ? 2 ** 64 : soft, hard: hard < 0 ? 2 ** 64 : hard });
  }
  return [...out.values()];
}

/** `--sysctl KEY=VALUE` (namespaced keys only, in a namespace the container has of its own). */
export function parseSysctls(values: string[], namespaces: Namespace[]): Record<string, string> | undefined {
  if (!values.length) return undefined;
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf("=");
    if (i <= 0) throw new UserError(`invalid --sysctl "${v}": use KEY=VALUE`);
    out[v.slice(0, i).trim().replace(/\//g, ".")] = v.slice(i + 1);
  }
  checkSysctls(out, namespaces, () => false, "--sysctl");
  return out;
}

export function parseOomScoreAdj(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v.trim())) throw new UserError(`invalid --oom-score-adj "${v}": not an integer`);
  const n = Number(v);
  if (n < -1000 || n > 1000) throw new UserError(`invalid --oom-score-adj ${n}: use -1000 to 1000`);
  return n;
}

/** The /dev/shm mount for --ipc and --shm-size: a tmpfs of that size, the host's (ipc host), or none (ipc none). */
export function shmMount(mounts: Mount[], ipc: string | undefined, shmSize: string | undefined): Mount[] {
  const i = mounts.findIndex((m) => m.destination === "/dev/shm");
  if (i < 0) return mounts;
  const out = [...mounts];
  if (ipc === "none") {
    out.splice(i, 1);
    return out;
  }
  if (ipc === "host") {
    if (shmSize !== undefined) throw new UserError("conflicting options: --shm-size and --ipc host");
    out[i] = {
      destination: "/dev/shm",
      type: "bind",
      source: "/dev/shm",
      options: ["rbind", "nosuid", "noexec", "nodev"],
    };
    return out;
  }
  if (shmSize === undefined) return out;
  const size = parseBytes(shmSize, "shm size");
  if (size <= 0) throw new UserError(`invalid --shm-size "${shmSize}": must be greater than 0`);
  out[i] = { ...out[i]!, options: [...(out[i]!.options ?? []).filter((o) => !o.startsWith("size=")), `size=${size}`] };
  return out;
}

/** The namespaces after --pid/--ipc/--uts/--cgroupns: host drops the namespace, container:X joins X's. */
export function applyNamespaceModes(
  namespaces: Namespace[],
  f: Pick<IsolationFlags, "pid" | "ipc" | "uts" | "cgroupns">,
  containerNs?: ContainerNamespace,
): Namespace[] {
  let out = [...namespaces];
  const set = (type: Namespace["type"], mode: "new" | "host" | { path: string }) => {
    out = out.filter((n) => n.type !== type);
    if (mode === "new") out.push({ type });
    else if (mode !== "host") out.push({ type, path: mode.path });
  };
  const join = (flag: string, v: string, type: "pid" | "ipc") => {
    const name = v.slice("container:".length);
    if (!name) throw new UserError(`invalid ${flag} "${v}": name the container (container:NAME)`);
    if (!containerNs) throw new UserError(`${flag} ${v}: joining another container is not possible here`);
    return { path: containerNs(name, type) };
  };
  if (f.pid !== undefined) {
    if (f.pid === "host") set("pid", "host");
    else if (f.pid.startsWith("container:")) set("pid", join("--pid", f.pid, "pid"));
    else if (f.pid !== "" && f.pid !== "private")
      throw new UserError(`invalid --pid "${f.pid}": use host or container:NAME`);
  }
  if (f.ipc !== undefined) {
    if (f.ipc === "host") set("ipc", "host");
    else if (f.ipc.startsWith("container:")) set("ipc", join("--ipc", f.ipc, "ipc"));
    else if (!["", "private", "shareable", "none"].includes(f.ipc))
      throw new UserError(`invalid --ipc "${f.ipc}": use private, shareable, none, host or container:NAME`);
  }
  if (f.uts !== undefined) {
    if (f.uts === "host") set("uts", "host");
    else if (f.uts !== "" && f.uts !== "private") throw new UserError(`invalid --uts "${f.uts}": use host`);
  }
  if (f.cgroupns !== undefined) {
    if (f.cgroupns === "host") set("cgroup", "host");
    else if (f.cgroupns !== "private" && f.cgroupns !== "")
      throw new UserError(`invalid --cgroupns "${f.cgroupns}": use host or private`);
  }
  return out;
}

/** Whether the host enforces AppArmor or SELinux (mini applies neither: their options can't be ignored there). */
function hostLsm(): "apparmor" | "selinux" | undefined {
  try {
    if (readFileSync("/sys/module/apparmor/parameters/enabled", "utf8").trim() === "Y") return "apparmor";
  } catch {
    // no AppArmor
  }
  return existsSync("/sys/fs/selinux/enforce") ? "selinux" : undefined;
}

/**
 * `--security-opt label=…` and `apparmor=…`: accepted and ignored on a host without SELinux and
 * AppArmor (podman's behaviour; --log-level debug says so). Where the LSM is active only the
 * options that ask for no confinement are accepted. Returns false for other options.
 */
export function ignoredSecurityOpt(o: string, lsm: () => "apparmor" | "selinux" | undefined = hostLsm): boolean {
  const m = /^(label|apparmor)[=:](.*)$/.exec(o);
  if (!m) return false;
  const kind = m[1] === "label" ? "selinux" : "apparmor";
  const unconfined = m[2] === "disable" || m[2] === "unconfined";
  const active = lsm();
  if (active === kind && !unconfined)
    throw new UserError(
      `--security-opt ${o}: mini can't apply ${kind === "selinux" ? "SELinux labels" : "AppArmor profiles"}, and this host enforces ${kind}`,
    );
  const name = kind === "selinux" ? "SELinux" : "AppArmor";
  log.debug(
    `--security-opt ${o}: ignored (${active === kind ? `mini applies no ${name}` : `this host has no ${name}`})`,
  );
  return true;
}

/** --ulimit, --sysctl, --oom-score-adj and --cgroup-parent into the process and linux sections. */
export function applyIsolation(p: Process, linux: Linux, iso: IsolationFlags, cgroupName = "mini"): void {
  if (iso.ulimit?.length) p.rlimits = parseUlimits(iso.ulimit);
  const sysctl = parseSysctls(iso.sysctl ?? [], linux.namespaces ?? []);
  if (sysctl) linux.sysctl = sysctl;
  const oom = parseOomScoreAdj(iso.oomScoreAdj);
  if (oom !== undefined) p.oomScoreAdj = oom;
  if (iso.cgroupParent) linux.cgroupsPath = `${iso.cgroupParent.replace(/\/+$/, "")}/${cgroupName}`;
}
