// Checks a config.json against the parts of the OCI runtime spec mini uses. Unknown fields are
// ignored; a wrong one fails with its path: `process.args[1]: expected a string`.
import { UserError } from "../common/errors.ts";
import { capNumber } from "./capabilities.ts";
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
const int: Check = (v, p) => {
  if (typeof v !== "number" || !Number.isInteger(v)) fail(p, "expected an integer");
};
const uint: Check = (v, p) => {
  int(v, p);
  if ((v as number) < 0) fail(p, "expected a non-negative integer");
};
const absPath: Check = (v, p) => {
  str(v, p);
  if (!(v as string).startsWith("/")) fail(p, `"${v}" is not an absolute path`);
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
const capName: Check = (v, p) => {
  str(v, p);
  if (capNumber(v as string) === undefined) fail(p, `unknown capability "${v}"`);
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
const num: Check = (v, p) => {
  if (typeof v !== "number") fail(p, "expected a number");
};

const processCheck = obj(
  {
    terminal: bool,
    user: obj({ uid: uint, gid: uint, umask: uint, additionalGids: arrayOf(uint) }, ["uid", "gid"]),
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
    rlimits: arrayOf(obj({ type: oneOf(RLIMITS), hard: uint, soft: uint }, ["type", "hard", "soft"])),
    noNewPrivileges: bool,
    oomScoreAdj: int,
    consoleSize: obj({ height: uint, width: uint }),
  },
  ["cwd"],
);

const idMap = arrayOf(obj({ containerID: uint, hostID: uint, size: uint }, ["containerID", "hostID", "size"]));

const linuxCheck = obj({
  namespaces: arrayOf(obj({ type: oneOf(NAMESPACES), path: absPath }, ["type"])),
  uidMappings: idMap,
  gidMappings: idMap,
  devices: arrayOf(
    obj(
      {
        type: oneOf(["c", "b", "u", "p"]),
        path: absPath,
        major: int,
        minor: int,
        fileMode: uint,
        uid: uint,
        gid: uint,
      },
      ["type", "path"],
    ),
  ),
  cgroupsPath: str,
  resources: obj({
    memory: obj({ limit: int, reservation: int, swap: int, kernel: int, swappiness: num, disableOOMKiller: bool }),
    cpu: obj({ shares: uint, quota: int, period: uint, cpus: str, mems: str }),
    pids: obj({ limit: int }, ["limit"]),
    devices: arrayOf(obj({ allow: bool, type: str, major: int, minor: int, access: str }, ["allow"])),
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
});

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
      mounts: arrayOf(obj({ destination: absPath, type: str, source: str, options: arrayOf(str) }, ["destination"])),
      linux: linuxCheck,
    },
    ["ociVersion", "root"],
  );
  return v as Spec;
}
