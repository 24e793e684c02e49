// Rules that span several fields of a config (runc's validator, for the runtime-spec 1.2 fields):
// the scheduler's policy decides which of its numbers may be set, idmapped mounts need both maps
// (or the container's user namespace), time offsets need a time namespace of the container's own.
// Pure; each error names the field.
import { UserError } from "../common/errors.ts";
import type { Spec } from "./types.ts";

const fail = (path: string, msg: string): never => {
  throw new UserError(`config.json: ${path}: ${msg}`);
};

function checkScheduler(spec: Spec): void {
  const s = spec.process?.scheduler;
  if (!s) return;
  const p = "process.scheduler";
  if ((s.policy === "SCHED_OTHER" || s.policy === "SCHED_BATCH") && s.nice !== undefined)
    if (s.nice < -20 || s.nice > 19) fail(`${p}.nice`, `${s.nice} is out of range for ${s.policy} (-20 to 19)`);
  if (s.priority && s.policy !== "SCHED_FIFO" && s.policy !== "SCHED_RR")
    fail(`${p}.priority`, `only SCHED_FIFO and SCHED_RR take a priority (the policy is ${s.policy})`);
  if (s.policy !== "SCHED_DEADLINE")
    for (const k of ["runtime", "deadline", "period"] as const)
      if (s[k]) fail(`${p}.${k}`, `only SCHED_DEADLINE takes a ${k} (the policy is ${s.policy})`);
}

function checkIoPriority(spec: Spec): void {
  const io = spec.process?.ioPriority;
  if (io && (io.priority < 0 || io.priority > 7))
    fail("process.ioPriority.priority", `${io.priority} is out of range (0 highest to 7 lowest)`);
}

function checkIdmappedMounts(spec: Spec): void {
  const userns = spec.linux?.namespaces?.some((n) => n.type === "user");
  (spec.mounts ?? []).forEach((m, i) => {
    const p = `mounts[${i}]`;
    const hasUid = !!m.uidMappings?.length;
    const hasGid = !!m.gidMappings?.length;
    if (hasUid !== hasGid)
      fail(`${p}.${hasUid ? "gidMappings" : "uidMappings"}`, "is required with the other mapping (both or neither)");
    const opts = m.options ?? [];
    const asked = opts.includes("idmap") || opts.includes("ridmap");
    if (!hasUid && !asked) return;
    if (!opts.includes("bind") && !opts.includes("rbind") && m.type !== "bind")
      fail(p, "an idmapped mount must be a bind mount (options bind or rbind)");
    if (!hasUid && !userns)
      fail(`${p}.options`, "idmap needs uidMappings and gidMappings, or a user namespace whose mappings it takes");
  });
}

function checkTimeOffsets(spec: Spec): void {
  const offsets = spec.linux?.timeOffsets;
  if (!offsets || !Object.keys(offsets).length) return;
  const ns = spec.linux?.namespaces?.find((n) => n.type === "time");
  if (!ns) fail("linux.timeOffsets", 'needs a "time" namespace in linux.namespaces');
  if (ns!.path) fail("linux.timeOffsets", "can't be set for a time namespace joined by path (its clocks are set)");
}

export function checkSpecRules(spec: Spec): void {
  checkScheduler(spec);
  checkIoPriority(spec);
  checkIdmappedMounts(spec);
  checkTimeOffsets(spec);
}
