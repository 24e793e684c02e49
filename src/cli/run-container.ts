// `mini run` flags → a RunRequest for the runtime. Nothing else: the runtime resolves the image,
// records the container and runs it.
import { UserError } from "../common/errors.ts";
import { networkRequest } from "../config/network-flags.ts";
import * as log from "../log.ts";
import { parseBytes } from "../config/units.ts";
import { LOG_MAX_BYTES, type RunRequest, runBundle, runContainer } from "../runtime/run.ts";
import type { LaunchedChild } from "../runtime/start-child.ts";
import { list, type OptValues } from "./argv.ts";
import { isolationFlagsOf, resourceFlagsOf, stopTimeoutOf } from "./run-limit-args.ts";
import { printOut } from "../common/stdout.ts";

const str = (v: OptValues[string]) => (typeof v === "string" ? v : undefined);

/** --log-opt max-size=SIZE (docker's json-file option name). */
function logMaxBytes(opts: string[]): number {
  let max = LOG_MAX_BYTES;
  for (const o of opts) {
    const [k, v] = [o.slice(0, o.indexOf("=")), o.slice(o.indexOf("=") + 1)];
    if (k !== "max-size" || !v) throw new UserError(`unsupported --log-opt ${o}: only max-size=SIZE`);
    max = parseBytes(v, "log max-size");
    if (max < 4096) throw new UserError(`--log-opt max-size=${v}: at least 4k`);
  }
  return max;
}

/** The RunRequest that `mini run [OPTIONS] TARGET [COMMAND...]` asks for. */
function runRequest(values: OptValues, operands: string[]): RunRequest {
  const [target, ...args] = operands;
  if (!target)
    throw new UserError('"mini run" needs an IMAGE or a ROOTFS: mini run [OPTIONS] IMAGE|ROOTFS [COMMAND [ARG...]]');
  // docker's default is its bridge; MINI_DEFAULT_NETWORK=none is what dockerd's --bridge=none is (README).
  const network = str(values.network) ?? (process.env.MINI_DEFAULT_NETWORK || "bridge");
  if (network === "host" && (list(values.publish).length || values["publish-all"]))
    log.warn("published ports are discarded with --network host (the container uses the host's ports)");
  return {
    target,
    args,
    network: networkRequest({
      network,
      ip: str(values.ip),
      aliases: list(values["network-alias"]),
      mac: str(values["mac-address"]),
      publish: list(values.publish),
      publishAll: !!values["publish-all"],
      dns: list(values.dns),
      dnsSearch: list(values["dns-search"]),
      dnsOptions: list(values["dns-option"]),
      addHosts: list(values["add-host"]),
      hostname: values.hostname !== undefined,
    }),
    spec: {
      network,
      userns: !!values.userns,
      uidmap: list(values.uidmap),
      gidmap: list(values.gidmap),
      tty: !!values.tty,
      hostname: str(values.hostname),
      env: list(values.env),
      envFile: list(values["env-file"]),
      workdir: str(values.workdir),
      user: str(values.user),
      volumes: list(values.volume),
      tmpfs: list(values.tmpfs),
      readOnly: !!values["read-only"],
      memory: str(values.memory),
      memorySwap: str(values["memory-swap"]),
      cpus: str(values.cpus),
      cpuShares: str(values["cpu-shares"]),
      pidsLimit: str(values["pids-limit"]),
      capAdd: list(values["cap-add"]),
      capDrop: list(values["cap-drop"]),
      securityOpt: list(values["security-opt"]),
      resourceFlags: resourceFlagsOf(values),
      isolation: isolationFlagsOf(values),
    },
    stopSignal: str(values["stop-signal"]),
    stopTimeout: stopTimeoutOf(values),
    entrypoint: str(values.entrypoint),
    name: str(values.name),
    detach: !!values.detach,
    autoRemove: !!values.rm,
    interactive: !!values.interactive,
    init: !!values.init,
    noPivot: !!values["no-pivot"],
    logMaxBytes: logMaxBytes(list(values["log-opt"])),
    pull: {
      policy: (str(values.pull) as RunRequest["pull"]["policy"] | undefined) ?? "missing",
      platform: str(values.platform),
      insecure: !!values["insecure-registry"],
      quiet: !!values.quiet,
    },
  };
}

/** `mini run`: prints a detached container's id; returns the exit status. */
export async function runFromFlags(values: OptValues, operands: string[], earlyChild?: LaunchedChild): Promise<number> {
  const req = runRequest(values, operands);
  const { code, id } = await runContainer(req, earlyChild);
  if (req.detach) printOut(`${id}\n`);
  return code;
}

/** `mini run --bundle DIR`. */
export function runFromBundle(dir: string, values: OptValues): Promise<number> {
  return runBundle(dir, {
    name: str(values.name),
    init: !!values.init,
    noPivot: !!values["no-pivot"],
    interactive: !!values.interactive,
  });
}
