// `mini exec`: a command in a running container. This process computes what the command gets
// (namespaces, cgroups, user, capabilities, no_new_privs, cwd, env, rlimits: the container's own
// unless overridden) and mini-shim's exec mode applies it: joining user and mount namespaces
// needs a single-threaded process.
import { statSync } from "node:fs";
import type { Process, User } from "../config/types.ts";
import { capsToMask } from "../config/capabilities.ts";
import { NAMESPACE_FLAGS, NAMESPACE_FILES } from "../sys/constants.ts";
import { rlimitResource } from "./security.ts";

/** Joined in this order: the user namespace first (it grants the rights to join the others), mount last. */
const JOIN_ORDER = ["user", "ipc", "uts", "network", "pid", "cgroup", "mount"] as const;

export interface ExecPlan {
  pid: number;
  process: Process;
  cgroupProcs: string[];
  tty: boolean;
  detach: boolean;
  /** The command's pid (host view) is written here once it runs. */
  pidFile?: string;
  /** The container's linux.seccomp: the command gets the same filter. */
  seccomp?: import("../config/types.ts").LinuxSeccomp | null;
}

const inode = (p: string) => {
  try {
    return statSync(p).ino;
  } catch {
    return undefined;
  }
};

/** --ns PATH:FLAG for each namespace of `pid` that differs from ours. */
export function namespaceArgs(pid: number): string[] {
  const out: string[] = [];
  for (const type of JOIN_ORDER) {
    const file = NAMESPACE_FILES[type];
    const theirs = `/proc/${pid}/ns/${file}`;
    const ino = inode(theirs);
    if (ino === undefined || ino === inode(`/proc/self/ns/${file}`)) continue;
    out.push("--ns", `${theirs}:${NAMESPACE_FLAGS[type]!.toString(16)}`);
  }
  return out;
}

const hex = (m: bigint) => m.toString(16);

/** The shim's argv (everything but the environment, which it passes on as its own). */
export function shimExecArgs(plan: ExecPlan): string[] {
  const p = plan.process;
  const args = ["exec", ...namespaceArgs(plan.pid)];
  for (const f of plan.cgroupProcs) args.push("--cgroup", f);
  const u: User = p.user ?? { uid: 0, gid: 0 };
  args.push("--uid", String(u.uid), "--gid", String(u.gid), "--groups", (u.additionalGids ?? [u.gid]).join(","));
  const c = p.capabilities;
  if (c)
    args.push(
      "--caps",
      [c.bounding, c.effective, c.permitted, c.inheritable, c.ambient].map((s) => hex(capsToMask(s))).join(","),
    );
  if (p.noNewPrivileges) args.push("--nnp");
  args.push("--cwd", p.cwd || "/");
  for (const r of p.rlimits ?? []) {
    const clamp = (v: number) => (v < 0 || v >= 2 ** 63 ? "18446744073709551615" : String(Math.floor(v)));
    args.push("--rlimit", `${rlimitResource(r.type)[1]}:${clamp(r.soft)}:${clamp(r.hard)}`);
  }
  if (plan.tty) args.push("--tty");
  if (plan.detach) args.push("--detach");
  if (plan.pidFile) args.push("--pid-file", plan.pidFile);
  if (plan.seccomp) args.push(...seccompArgs(plan.seccomp));
  return [...args, "--", ...(p.args ?? [])];
}

/** The compiled filter in a memfd the shim reads (before it changes namespaces). */
function seccompArgs(profile: import("../config/types.ts").LinuxSeccomp): string[] {
  const { compileForProcess } = require("../seccomp/index.ts") as typeof import("../seccomp/index.ts");
  const { sealedMemfd } = require("../sys/calls.ts") as typeof import("../sys/calls.ts");
  const { program, flags } = compileForProcess(profile);
  const fd = sealedMemfd("mini-seccomp", program);
  return ["--seccomp", `/proc/${process.pid}/fd/${fd}`, "--seccomp-flags", String(flags)];
}

export { envRecord as envObject } from "../config/env.ts";

/** The shim's full argv. */
export function shimExecArgv(plan: ExecPlan): string[] {
  const { shimPath } = require("./shim.ts") as typeof import("./shim.ts");
  return [shimPath(), ...shimExecArgs(plan)];
}
