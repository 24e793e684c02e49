// Adapters from `mini run` options to a Spec and the runtime.
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { imageCommand } from "../config/image-command.ts";
import { parseBytes } from "../config/units.ts";
import type { ImageRecord } from "../image/store.ts";
import { removeCgroups } from "../cgroups/index.ts";
import { namespacesFromFlags, specFromFlags } from "../config/from-flags.ts";
import { loadBundle } from "../config/bundle.ts";
import { containerPaths as files, storePaths } from "../common/paths.ts";
import { sweepOrphans } from "../state/owner.ts";
import { UserError } from "../common/errors.ts";
import * as log from "../log.ts";
import { abandon, etcFilePaths, prestart, runContainer, type Prestarted } from "../runtime/run.ts";
import { miniArgv } from "../runtime/spawn-child.ts";
import {
  createRecord,
  newId,
  removeFiles,
  writeJsonAtomic,
  type ContainerRecord,
  type RuntimeState,
} from "../state/containers.ts";
import { pidStartTime } from "../common/proc.ts";
import type { OptValues } from "./argv.ts";

type NamespaceFlags = Parameters<typeof namespacesFromFlags>[0] & { network: string };

const str = (v: OptValues[string]) => (typeof v === "string" ? v : undefined);

export async function runFromFlags(
  values: OptValues,
  operands: string[],
  list: (v: OptValues[string]) => string[],
): Promise<number> {
  const [targetArg, ...args] = operands;
  if (!targetArg)
    throw new UserError('"mini run" needs an IMAGE or a ROOTFS: mini run [OPTIONS] IMAGE|ROOTFS [COMMAND [ARG...]]');
  const detach = !!values.detach;
  if (detach && values.tty)
    throw new UserError(
      "mini run -d with -t: a detached container has no terminal to attach to (-di keeps its stdin open; mini exec -it CONTAINER sh gives a terminal)",
    );
  const network = str(values.network) ?? "none";
  const nsFlags = { network, userns: !!values.userns, uidmap: list(values.uidmap), gidmap: list(values.gidmap) };
  // Start the child stage first: its start-up (a whole Bun runtime) overlaps finding (or
  // pulling) the image and building the spec. (A detached container's child stage is started by
  // its monitor instead.) Before a pull, too: Bun.spawn from the main thread in the new
  // namespaces was seen to abort now and then right after fetch traffic. (With -t the host
  // terminal goes raw only once the container runs, after the pull's progress.)
  const early = namespacesFromFlags(nsFlags);
  const startChild = () =>
    prestart({
      namespaces: early.namespaces,
      userns: early.uidMappings && { uidMappings: early.uidMappings, gidMappings: early.gidMappings! },
      interactive: !!values.interactive,
      tty: !!values.tty,
    });
  let pre = detach ? undefined : startChild();
  let target: Awaited<ReturnType<typeof resolveTarget>>;
  let command: string[];
  try {
    target = await resolveTarget(targetArg, values);
    command = target.image ? imageCommand(target.image.config.config, args, str(values.entrypoint)) : args;
    if (!command.length) throw new UserError("no command given: mini run [OPTIONS] ROOTFS COMMAND [ARG...]");
  } catch (e) {
    if (pre) await abandon(pre);
    throw e;
  }
  if (!detach && !pre) pre = startChild();
  const id = newId();
  const stateDir = files.runDir(id);
  let spec: import("../config/types.ts").Spec;
  let overlay: { lower: string[]; dir: string } | undefined;
  let rec: ContainerRecord;
  try {
    sweepOrphans(removeCgroups);
    let rootfs = target.rootfs;
    if (target.image) {
      overlay = imageOverlay(target.image, id);
      rootfs = `${overlay.dir}/rootfs`;
    }
    spec = buildSpec(values, rootfs!, command, nsFlags, list, stateDir, target.image);
    rec = await createRecord(
      {
        id,
        created: new Date().toISOString(),
        image: target.image ? targetArg : undefined,
        imageId: target.image?.id,
        spec,
        detached: detach,
        interactive: !!values.interactive,
        autoRemove: !detach || !!values.rm,
        init: !!values.init,
        noPivot: !!values["no-pivot"],
        overlay,
        etc: { hostname: spec.hostname ?? "mini", hostNetwork: nsFlags.network === "host" },
        stopSignal: target.image?.config.config?.StopSignal,
        logMaxBytes: logMaxBytes(list(values["log-opt"])),
      },
      str(values.name),
    );
    log.debug(`container ${id.slice(0, 12)} recorded as "${rec.name}"`);
  } catch (e) {
    if (pre) await abandon(pre);
    rmSync(files.dir(id), { recursive: true, force: true });
    throw e;
  }
  // From here runContainer owns the child: it sends the config, or kills it on failure.
  try {
    const code = await startContainer(rec, pre, !!values.interactive);
    if (detach) process.stdout.write(`${id}\n`);
    return code;
  } catch (e) {
    if (detach) removeFiles(id);
    throw e;
  }
}

/** Per log file; one older file is kept, so a container's log never exceeds twice this. */
const LOG_MAX_BYTES = 16 * 1024 * 1024;

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

/**
 * Runs a recorded container: in the foreground (returns its exit status; removed after), or
 * detached (returns 0 once its command runs; its monitor records the rest).
 */
export async function startContainer(rec: ContainerRecord, pre?: Prestarted, interactive = false): Promise<number> {
  const id = rec.id;
  return runContainer(
    rec.spec,
    {
      id,
      stateDir: files.runDir(id),
      etc: rec.etc,
      interactive: interactive || !!rec.interactive,
      init: rec.init,
      noPivot: rec.noPivot,
      overlay: rec.overlay,
      dirs: [files.dir(id)],
      detached: rec.detached
        ? {
            exitFile: files.exit(id),
            logFile: files.log(id),
            logMaxBytes: rec.logMaxBytes,
            reaper: miniArgv(["__reap", id]),
          }
        : undefined,
      onCgroups: (cgroups) => writeJsonAtomic(files.record(id), { ...rec, cgroups }),
      onStarted: (pid, monitorPid) =>
        writeJsonAtomic(files.state(id), {
          pid,
          pidStart: pidStartTime(pid) ?? "",
          monitorPid,
          startedAt: new Date().toISOString(),
        } satisfies RuntimeState),
    },
    pre,
  );
}

function buildSpec(
  values: OptValues,
  rootfs: string,
  command: string[],
  nsFlags: NamespaceFlags,
  list: (v: OptValues[string]) => string[],
  stateDir: string,
  image?: ImageRecord,
) {
  const ic = image?.config.config;
  return specFromFlags({
    image: ic && { user: ic.User, env: ic.Env, workdir: ic.WorkingDir },
    readFile: image && imageReader(image),
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
  const rec = await createRecord(
    {
      id,
      created: new Date().toISOString(),
      spec,
      detached: false,
      autoRemove: true,
      init: !!values.init,
      noPivot: !!values["no-pivot"],
      logMaxBytes: LOG_MAX_BYTES,
    },
    str(values.name),
  );
  return startContainer(rec, undefined, !!values.interactive || !!spec.process?.terminal);
}

/**
 * IMAGE or ROOTFS: a directory (or anything that looks like a path) is a rootfs; anything else
 * is an image reference, pulled according to --pull.
 */
async function resolveTarget(arg: string, values: OptValues): Promise<{ rootfs?: string; image?: ImageRecord }> {
  const looksLikePath = arg.startsWith("/") || arg.startsWith("./") || arg.startsWith("../") || arg === ".";
  if (looksLikePath || (existsSync(arg) && statSync(arg).isDirectory())) return { rootfs: resolve(arg) };
  const { findImage, pull } = require("../image/pull.ts") as typeof import("../image/pull.ts");
  const policy = str(values.pull) ?? "missing";
  let image = policy === "always" ? undefined : findImage(arg);
  if (!image) {
    if (policy === "never") throw new UserError(`image ${arg} is not in the store (and --pull never)`);
    const { parsePlatform } = require("../image/platform.ts") as typeof import("../image/platform.ts");
    const { progressFor } = require("../image/progress.ts") as typeof import("../image/progress.ts");
    image = await pull(arg, {
      platform: str(values.platform) ? parsePlatform(str(values.platform)!) : undefined,
      insecure: !!values["insecure-registry"],
      progress: progressFor(!!values.quiet),
    });
  }
  return { image };
}

// Image modules load only for image runs: `mini run ROOTFS` is the start-up path to keep short.
const _store = () => require("../image/store.ts") as typeof import("../image/store.ts");

/** Reads the image's files (its /etc/passwd, /etc/group) from its layers. */
function imageReader(image: ImageRecord): (path: string) => string | undefined {
  const { layeredReader } = require("../image/layered-read.ts") as typeof import("../image/layered-read.ts");
  return layeredReader([...image.layers].reverse().map((d) => storePaths.layer(d)));
}

/** The container's overlay: the image's layers (top first) under a fresh upper dir. */
function imageOverlay(image: ImageRecord, id: string): { lower: string[]; dir: string } {
  const dir = `${storePaths.containers()}/${id}`;
  mkdirSync(`${dir}/rootfs`, { recursive: true, mode: 0o755 });
  writeFileSync(`${dir}/image`, image.id); // rmi refuses an image a container uses
  const lower = [...image.layers].reverse().map((d) => storePaths.layer(d));
  for (const l of lower)
    if (!existsSync(l)) throw new UserError(`image ${image.id.slice(7, 19)} is missing layer ${l}: pull it again`);
  return { lower, dir };
}
