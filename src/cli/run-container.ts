// Adapters from `mini run` options to a Spec and the runtime.
import { resolve } from "node:path";
import { removeCgroups } from "../cgroups/index.ts";
import { namespacesFromFlags, specFromFlags } from "../spec/from-flags.ts";
import { loadBundle } from "../spec/bundle.ts";
import { containerDir, newId } from "../state/dirs.ts";
import { sweepOrphans } from "../state/owner.ts";
import { UserError } from "../sys/error.ts";
import { abandon, etcFilePaths, prestart, runContainer } from "../runtime/run.ts";
import type { OptValues } from "./argv.ts";

type NamespaceFlags = Parameters<typeof namespacesFromFlags>[0] & { network: string };

const str = (v: OptValues[string]) => (typeof v === "string" ? v : undefined);

export async function runFromFlags(values: OptValues, operands: string[], list: (v: OptValues[string]) => string[]): Promise<number> {
  const [rootfsArg, ...command] = operands;
  if (!rootfsArg) throw new UserError('"mini run" needs ROOTFS and a COMMAND: mini run [OPTIONS] ROOTFS COMMAND [ARG...]');
  if (!command.length) throw new UserError("no command given: mini run [OPTIONS] ROOTFS COMMAND [ARG...]");
  const network = str(values.network) ?? "none";
  const nsFlags = { network, userns: !!values.userns, uidmap: list(values.uidmap), gidmap: list(values.gidmap) };
  // Start the child stage first: its start-up (a whole Bun runtime) overlaps building the spec.
  const early = namespacesFromFlags(nsFlags);
  const pre = prestart({
    namespaces: early.namespaces,
    userns: early.uidMappings && { uidMappings: early.uidMappings, gidMappings: early.gidMappings! },
    interactive: !!values.interactive,
    tty: !!values.tty,
  });
  const id = newId();
  const stateDir = containerDir(id);
  let spec;
  try {
    sweepOrphans(removeCgroups);
    spec = buildSpec(values, resolve(rootfsArg), command, nsFlags, list, stateDir);
  } catch (e) {
    await abandon(pre);
    throw e;
  }
  // From here runContainer owns the child: it sends the config, or kills it on failure.
  return runContainer(spec, {
    id, stateDir,
    etc: { hostname: spec.hostname ?? "mini", hostNetwork: nsFlags.network === "host" },
    interactive: !!values.interactive,
    init: !!values.init,
    noPivot: !!values["no-pivot"],
  }, pre);
}

function buildSpec(values: OptValues, rootfs: string, command: string[], nsFlags: NamespaceFlags, list: (v: OptValues[string]) => string[], stateDir: string) {
  return specFromFlags({
    ...nsFlags,
    rootfs,
    command,
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
    etcFiles: etcFilePaths(stateDir),
  });
}

export async function runFromBundle(dir: string, values: OptValues): Promise<number> {
  sweepOrphans(removeCgroups);
  const spec = loadBundle(dir);
  const id = newId();
  return runContainer(spec, {
    id, stateDir: containerDir(id),
    interactive: !!values.interactive || !!spec.process?.terminal,
    init: !!values.init,
    noPivot: !!values["no-pivot"],
  });
}
