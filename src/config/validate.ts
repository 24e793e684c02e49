// Checks a config.json against the parts of the OCI runtime spec mini uses. Unknown fields are
// ignored; a wrong one fails with its path: `process.args[1]: expected a string`.
import { UserError } from "../common/errors.ts";
import { checkSpecRules } from "./spec-rules.ts";
import type { Spec } from "./types.ts";

type Check = (v: unknown, path: string) => void;

const fail = (path: string, msg: string): never => {
  throw new UserError(`config.json: ${path}: ${msg}`);
};
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

const str: Check = (v, p) => {
  if (typeof v !== "string") fail(p, "expected a string");
};
const bool: Check = (v, p) => {
  if (typeof v !== "boolean") fail(p, "expected true or false");
};
/**
 * An integer of the spec's Go type. JSON numbers are doubles: a 64-bit bound is checked as the
 * double it rounds to, so 2^64-1 (RLIM_INFINITY) passes as uint64 while 1e300 or 4294967301 as a
 * uid fail instead of wrapping.
 */
const intOf =
  (type: string, min: number, max: number): Check =>
  (v, p) => {
    if (typeof v !== "number" || !Number.isInteger(v)) fail(p, `expected an integer (${type})`);
    if ((v as number) < min || (v as number) > max) fail(p, `${v} is out of range for ${type}`);
  };
const int32 = intOf("int32", -(2 ** 31), 2 ** 31 - 1);
const uint16 = intOf("uint16", 0, 2 ** 16 - 1);
const uint32 = intOf("uint32", 0, 2 ** 32 - 1);
const int64 = intOf("int64", -(2 ** 63), 2 ** 63);
const uint64 = intOf("uint64", 0, 2 ** 64);
const absPath: Check = (v, p) => {
  str(v, p);
  if (!(v as string).startsWith("/")) fail(p, `"${v}" is not an absolute path`);
};
/** An absolute path, or "" (no path: runc reads an empty namespace path as none). */
const absPathOrEmpty: Check = (v, p) => {
  if (v !== "") absPath(v, p);
};
/** A mount destination: absolute, or (deprecated, runc's reading) relative to "/". */
const destination: Check = (v, p) => {
  str(v, p);
  if (!v) fail(p, "must name a path");
};
/** A CPU list as cpuset takes it: "0-3,7". */
const cpuList: Check = (v, p) => {
  str(v, p);
  const ok = (v as string).split(",").every((part) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    return !!m && (m[2] === undefined || Number(m[2]) >= Number(m[1]));
  });
  if (!ok) fail(p, `"${v}" is not a CPU list (like 0-3,7)`);
};
const arrayOf =
  (c: Check): Check =>
  (v, p) => {
    if (!Array.isArray(v)) fail(p, "expected an array");
    (v as unknown[]).forEach((x, i) => {
      c(x, `${p}[${i}]`);
    });
  };
const oneOf =
  (opts: string[]): Check =>
  (v, p) => {
    str(v, p);
    if (!opts.includes(v as string)) fail(p, `"${v}" is not one of ${opts.join(", ")}`);
  };
/** A capability name; an unknown one is ignored with a warning (loadBundle), as runc does. */
const capName: Check = (v, p) => {
  str(v, p);
};

/** Checks the fields of `obj` that are present. */
function fields(obj: unknown, path: string, checks: Record<string, Check>, required: string[] = []): void {
  if (!isObj(obj)) fail(path, "expected an object");
  const o = obj as Record<string, unknown>;
  for (const r of required) if (o[r] === undefined) fail(path ? `${path}.${r}` : r, "is required");
  for (const [k, c] of Object.entries(checks))
    if (o[k] !== undefined && o[k] !== null) c(o[k], path ? `${path}.${k}` : k);
}

const obj =
  (checks: Record<string, Check>, required: string[] = []): Check =>
  (v, p) =>
    fields(v, p, checks, required);

const RLIMITS = [
  "CPU",
  "FSIZE",
  "DATA",
  "STACK",
  "CORE",
  "RSS",
  "NPROC",
  "NOFILE",
  "MEMLOCK",
  "AS",
  "LOCKS",
  "SIGPENDING",
  "MSGQUEUE",
  "NICE",
  "RTPRIO",
  "RTTIME",
].map((r) => `RLIMIT_${r}`);
const NAMESPACES = ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"];
export const SCHED_POLICIES = [
  "SCHED_OTHER",
  "SCHED_FIFO",
  "SCHED_RR",
  "SCHED_BATCH",
  "SCHED_ISO",
  "SCHED_IDLE",
  "SCHED_DEADLINE",
];
export const SCHED_FLAGS = [
  "SCHED_FLAG_RESET_ON_FORK",
  "SCHED_FLAG_RECLAIM",
  "SCHED_FLAG_DL_OVERRUN",
  "SCHED_FLAG_KEEP_POLICY",
  "SCHED_FLAG_KEEP_PARAMS",
  "SCHED_FLAG_UTIL_CLAMP_MIN",
  "SCHED_FLAG_UTIL_CLAMP_MAX",
];
export const IOPRIO_CLASSES = ["IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"];
const cpuListOrEmpty: Check = (v, p) => {
  if (v !== "") cpuList(v, p);
};

const processCheck = obj(
  {
    terminal: bool,
    // uid and gid are optional (0), as runc reads them.
    user: obj({ uid: uint32, gid: uint32, umask: uint32, additionalGids: arrayOf(uint32), username: str }),
    args: (v, p) => {
      arrayOf(str)(v, p);
      if (!(v as unknown[]).length) fail(p, "must name a command");
    },
    env: arrayOf(str),
    cwd: absPath,
    capabilities: obj({
      bounding: arrayOf(capName),
      effective: arrayOf(capName),
      inheritable: arrayOf(capName),
      permitted: arrayOf(capName),
      ambient: arrayOf(capName),
    }),
    rlimits: arrayOf(obj({ type: oneOf(RLIMITS), hard: uint64, soft: uint64 }, ["type", "hard", "soft"])),
    noNewPrivileges: bool,
    oomScoreAdj: int32,
    consoleSize: obj({ height: uint16, width: uint16 }),
    scheduler: obj(
      {
        policy: oneOf(SCHED_POLICIES),
        nice: int32,
        priority: int32,
        flags: arrayOf(oneOf(SCHED_FLAGS)),
        runtime: uint64,
        deadline: uint64,
        period: uint64,
      },
      ["policy"],
    ),
    ioPriority: obj({ class: oneOf(IOPRIO_CLASSES), priority: int32 }, ["class", "priority"]),
    execCPUAffinity: obj({ initial: cpuListOrEmpty, final: cpuListOrEmpty }),
  },
  ["cwd"],
);

const idMap = arrayOf(obj({ containerID: uint32, hostID: uint32, size: uint32 }, ["containerID", "hostID", "size"]));

const linuxCheck = obj({
  namespaces: arrayOf(obj({ type: oneOf(NAMESPACES), path: absPathOrEmpty }, ["type"])),
  uidMappings: idMap,
  gidMappings: idMap,
  devices: arrayOf(
    obj(
      {
        type: oneOf(["c", "b", "u", "p"]),
        path: absPath,
        major: int64,
        minor: int64,
        fileMode: uint32,
        uid: uint32,
        gid: uint32,
      },
      ["type", "path"],
    ),
  ),
  cgroupsPath: str,
  resources: obj({
    memory: obj({
      limit: int64,
      reservation: int64,
      swap: int64,
      kernel: int64,
      kernelTCP: int64,
      swappiness: uint64,
      disableOOMKiller: bool,
    }),
    cpu: obj({
      shares: uint64,
      quota: int64,
      burst: uint64,
      period: uint64,
      realtimeRuntime: int64,
      realtimePeriod: uint64,
      cpus: str,
      mems: str,
      idle: int64,
    }),
    pids: obj({ limit: int64 }, ["limit"]),
    devices: arrayOf(
      obj({ allow: bool, type: oneOf(["a", "c", "b"]), major: int64, minor: int64, access: str }, ["allow"]),
    ),
    blockIO: obj({
      weight: uint16,
      leafWeight: uint16,
      weightDevice: arrayOf(
        obj({ major: int64, minor: int64, weight: uint16, leafWeight: uint16 }, ["major", "minor"]),
      ),
      ...Object.fromEntries(
        ["throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice"].map(
          (k) => [k, arrayOf(obj({ major: int64, minor: int64, rate: uint64 }, ["major", "minor", "rate"]))],
        ),
      ),
    }),
    hugepageLimits: arrayOf(obj({ pageSize: str, limit: uint64 }, ["pageSize", "limit"])),
    network: obj({
      classID: uint32,
      priorities: arrayOf(obj({ name: str, priority: uint32 }, ["name", "priority"])),
    }),
  }),
  rootfsPropagation: oneOf([
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "unbindable",
    "runbindable",
  ]),
  sysctl: (v, p) => {
    if (!isObj(v)) fail(p, "expected an object");
    for (const [k, x] of Object.entries(v as object)) str(x, `${p}.${k}`);
  },
  maskedPaths: arrayOf(absPath),
  readonlyPaths: arrayOf(absPath),
  personality: obj({ domain: oneOf(["LINUX", "LINUX32"]), flags: arrayOf(str) }, ["domain"]),
  timeOffsets: (v, p) => {
    if (!isObj(v)) fail(p, "expected an object");
    for (const [k, x] of Object.entries(v as object)) {
      if (k !== "monotonic" && k !== "boottime")
        fail(`${p}.${k}`, "is not a clock with an offset (monotonic, boottime)");
      obj({ secs: int64, nanosecs: uint32 })(x, `${p}.${k}`);
    }
  },
});

const hookList = arrayOf(
  obj({ path: absPath, args: arrayOf(str), env: arrayOf(str), timeout: intOf("int (seconds > 0)", 1, 2 ** 31 - 1) }, [
    "path",
  ]),
);
const hooksCheck = obj(
  Object.fromEntries(
    ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"].map((h) => [
      h,
      hookList,
    ]),
  ),
);

export function validateSpec(v: unknown): Spec {
  fields(
    v,
    "",
    {
      ociVersion: str,
      process: processCheck,
      root: obj({ path: str, readonly: bool }, ["path"]),
      hostname: str,
      domainname: str,
      mounts: arrayOf(
        obj({ destination, type: str, source: str, options: arrayOf(str), uidMappings: idMap, gidMappings: idMap }, [
          "destination",
        ]),
      ),
      linux: linuxCheck,
      hooks: hooksCheck,
    },
    ["ociVersion", "root"],
  );
  checkSpecRules(v as Spec);
  return v as Spec;
}
