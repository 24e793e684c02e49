// docker's `run` and `start`: a container from an image or a rootfs directory, recorded in the
// store (name, spec, how it ends), then created through the one pipeline (container.ts) and
// either waited for in the foreground or left to its monitor. Also `run --bundle`.
import { realpathSync, rmSync, statSync } from "node:fs";
import { hostname as hostnameOfHost } from "node:os";
import { resolve } from "node:path";
import { hasSwapAccounting, removeCgroups } from "../cgroups/index.ts";
import { UserError } from "../common/errors.ts";
import { containerPaths as files } from "../common/paths.ts";
import { pidStartTime } from "../common/proc.ts";
import { namespacesFromFlags, type RunFlags, specFromFlags } from "../config/from-flags.ts";
import { imageCommand } from "../config/image-command.ts";
import type { NetworkRequest } from "../config/network-flags.ts";
import type { Spec } from "../config/types.ts";
import type { ImageRecord } from "../image/store.ts";
import * as log from "../log.ts";
import {
  beginContainerDir,
  type ContainerRecord,
  createRecord,
  newId,
  type RuntimeState,
  removeFiles,
  sweepAbandoned,
  withContainerLock,
} from "../state/containers.ts";
import { sweepOrphans, writeOwnerRecord } from "../state/owner.ts";
import { createContainer, expectRunning } from "./container.ts";
import { abandon, type LaunchedChild, launchOrAdopt } from "./start-child.ts";
import { etcFilePaths } from "./etc-files.ts";
import { waitForeground } from "./foreground.ts";
import { runHooks } from "./hooks.ts";
import { miniArgv } from "./launch.ts";
import { writeJsonAtomic } from "../common/json-file.ts";
import { hostConfigOf } from "./host-config.ts";
import { containerNamespace, refreshJoinedNamespaces } from "./joined-namespaces.ts";
import { parseSignal } from "./signals.ts";
import { checkNetworks, joinedContainer, networkHooks, specForStart } from "./network-run.ts";

/** Per log file; one older file is kept, so a container's log never exceeds twice this. */
export const LOG_MAX_BYTES = 16 * 1024 * 1024;

/** What `mini run` was asked, flags already parsed. */
export interface RunRequest {
  /** IMAGE (a reference) or ROOTFS (a path), as given. */
  target: string;
  /** The command and its arguments after IMAGE/ROOTFS (the image's CMD when empty). */
  args: string[];
  /** Everything that shapes the spec. */
  spec: Omit<RunFlags, "rootfs" | "command" | "image" | "readFile" | "etcFiles" | "netnsPath">;
  /** The network flags (config/network-flags.ts); absent for none as before. */
  network?: NetworkRequest;
  entrypoint?: string;
  name?: string;
  detach: boolean;
  /** --rm (foreground containers are always removed). */
  autoRemove: boolean;
  interactive: boolean;
  init: boolean;
  noPivot: boolean;
  logMaxBytes: number;
  pull: { policy: "always" | "missing" | "never"; platform?: string; insecure: boolean; quiet: boolean };
  /** --stop-signal and --stop-timeout (seconds). */
  stopSignal?: string;
  stopTimeout?: number;
}

/**
 * Runs the request: in the foreground, the container's exit status; detached, 0 once its
 * command runs. `id` is the new container's.
 */
export async function runContainer(req: RunRequest, earlyChild?: LaunchedChild): Promise<{ code: number; id: string }> {
  if (req.detach && req.spec.tty)
    throw new UserError(
      "mini run -d with -t: a detached container has no terminal to attach to (-di keeps its stdin open; mini exec -it CONTAINER sh gives a terminal)",
    );
  // Start the child stage first: its start-up (a whole Bun runtime) overlaps finding (or
  // pulling) the image and building the spec. (A detached container's child stage is started by
  // its monitor instead.) Before a pull, too: Bun.spawn from the main thread in the new
  // namespaces was seen to abort now and then right after fetch traffic. (With -t the host
  // terminal goes raw only once the container runs, after the pull's progress.)
  if (req.stopSignal !== undefined)
    try {
      parseSignal(req.stopSignal);
    } catch (e) {
      throw new UserError(`invalid --stop-signal: ${(e as Error).message}`);
    }
  checkNetworks(req.network);
  const joined = joinedContainer(req.network);
  const early = namespacesFromFlags({ ...req.spec, containerNamespace, netnsPath: joined?.netnsPath });
  // `earlyChild` is the one started before the CLI loaded (cli/early-run.ts), if its guess fits.
  let launched: LaunchedChild | undefined;
  if (req.detach) {
    if (earlyChild) await abandon(earlyChild);
  } else
    launched = await launchOrAdopt(
      earlyChild,
      early.namespaces,
      early.uidMappings && { uidMappings: early.uidMappings, gidMappings: early.gidMappings! },
      { mode: "direct", io: { interactive: req.interactive, dieWithParent: true } },
      !!req.spec.tty,
    );
  let target: { rootfs?: string; image?: ImageRecord };
  let command: string[];
  try {
    target = await resolveTarget(req);
    command = target.image ? imageCommand(target.image.config.config, req.args, req.entrypoint) : req.args;
    if (!command.length) throw new UserError("no command given: mini run [OPTIONS] ROOTFS COMMAND [ARG...]");
  } catch (e) {
    if (launched) await abandon(launched);
    throw e;
  }
  const id = newId();
  let rec: ContainerRecord;
  try {
    sweepOrphans(removeCgroups);
    sweepAbandoned();
    beginContainerDir(id);
    let rootfs = target.rootfs!;
    let overlay: { lower: string[]; dir: string } | undefined;
    const image = target.image;
    if (image) {
      const { imageOverlay } = require("../image/overlay.ts") as typeof import("../image/overlay.ts");
      overlay = imageOverlay(image, id);
      rootfs = `${overlay.dir}/rootfs`;
      log.debug(`container ${id.slice(0, 12)}: overlay dirs for image ${image.id.slice(7, 19)}`);
    }
    const imageConfig = image?.config.config;
    // docker's default hostname: the short id (the host's own with the host network; with --uts host
    // the host's namespace and name are the container's: specFromFlags knows; --network container:X
    // shares X's).
    const hostname =
      req.spec.hostname ??
      (joined
        ? joined.hostname
        : req.spec.isolation?.uts === "host"
          ? undefined
          : req.spec.network === "host"
            ? hostnameOfHost()
            : id.slice(0, 12));
    const ownEtc = etcFilePaths(files.runDir(id));
    const spec = specFromFlags({
      ...req.spec,
      hostname,
      containerNamespace,
      cgroupName: `mini-${id}`,
      swapAccounting: req.spec.memory !== undefined && req.spec.memorySwap === undefined ? hasSwapAccounting() : true,
      ...(joined && { netnsPath: joined.netnsPath }),
      rootfs,
      command,
      image: imageConfig && { user: imageConfig.User, env: imageConfig.Env, workdir: imageConfig.WorkingDir },
      readFile: image && (require("../image/overlay.ts") as typeof import("../image/overlay.ts")).imageReader(image),
      // --network container:NAME shares that container's /etc/hosts and /etc/resolv.conf, as docker does.
      etcFiles: joined ? { ...ownEtc, hosts: joined.etc.hosts, resolv: joined.etc.resolv } : ownEtc,
    });
    const network = req.network && { ...req.network, exposed: Object.keys(imageConfig?.ExposedPorts ?? {}) };
    rec = await createRecord(
      {
        id,
        created: new Date().toISOString(),
        image: image ? req.target : undefined,
        imageId: image?.id,
        spec,
        detached: req.detach,
        interactive: req.interactive,
        autoRemove: !req.detach || req.autoRemove,
        init: req.init,
        noPivot: req.noPivot,
        overlay,
        etc: { hostname: spec.hostname ?? hostname ?? hostnameOfHost(), hostNetwork: req.spec.network === "host" },
        network,
        stopSignal: req.stopSignal ?? imageConfig?.StopSignal,
        stopTimeout: req.stopTimeout,
        hostConfig: hostConfigOf(req.spec),
        logMaxBytes: req.logMaxBytes,
      },
      req.name,
    );
    log.debug(`container ${id.slice(0, 12)} recorded as "${rec.name}"`);
  } catch (e) {
    if (launched) await abandon(launched);
    rmSync(files.dir(id), { recursive: true, force: true });
    throw e;
  }
  // From here startRecorded owns the child stage: it sends the config, or kills it on failure.
  try {
    return { code: await startRecorded(rec, launched, req.interactive), id };
  } catch (e) {
    if (req.detach) removeFiles(id);
    throw e;
  }
}

/**
 * Runs a recorded container: in the foreground (its exit status; removed after), or detached
 * (0 once its command runs; its monitor and reaper record the rest).
 */
async function startRecorded(rec: ContainerRecord, launched?: LaunchedChild, interactive = false): Promise<number> {
  const id = rec.id;
  // A bundle's hooks run as an OCI runtime runs them: prestart and createRuntime before the
  // config goes to the child, createContainer and startContainer in it, poststart once the command
  // runs, poststop after it ended.
  const hooks = rec.spec.hooks;
  let pid = 0;
  const state = (status: string) => ({
    ociVersion: rec.spec.ociVersion,
    id,
    status,
    pid: status === "stopped" ? 0 : pid,
    bundle: rec.bundle ?? "",
    annotations: rec.spec.annotations ?? {},
  });
  const { spec, joined } = launched ? { spec: rec.spec, joined: joinedContainer(rec.network) } : specForStart(rec);
  const container = await createContainer(
    spec,
    {
      id,
      cgroupName: `mini-${id}`,
      runDir: files.runDir(id),
      etc: rec.etc,
      init: rec.init,
      noPivot: rec.noPivot,
      attachTerminal: !rec.detached,
      overlay: rec.overlay,
      launch: rec.detached
        ? {
            mode: "monitor",
            interactive: interactive || !!rec.interactive,
            files: {
              exitFile: files.exit(id),
              logFile: files.log(id),
              logMaxBytes: rec.logMaxBytes,
              reaper: miniArgv(["__reap", id]),
            },
          }
        : { mode: "direct", io: { interactive: interactive || !!rec.interactive, dieWithParent: true } },
      hooks: hooks && { ...hooks, state: () => state("creating") },
      beforeConfig: () => {
        runHooks(hooks, "prestart", state("creating"));
        runHooks(hooks, "createRuntime", state("creating"));
      },
      onStarted: (childPid, monitorPid) =>
        writeJsonAtomic(files.state(id), {
          pid: (pid = childPid),
          pidStart: pidStartTime(childPid) ?? "",
          monitorPid,
          monitorStart: monitorPid ? pidStartTime(monitorPid) : undefined,
          startedAt: new Date().toISOString(),
        } satisfies RuntimeState),
      network: networkHooks(rec, joined),
      onCgroups: (cgroups) => {
        writeJsonAtomic(files.record(id), { ...rec, cgroups });
        // A foreground run's leftovers if this mini is killed: the next mini removes them.
        if (!rec.detached) writeOwnerRecord(files.runDir(id), cgroups, [files.dir(id)]);
      },
    },
    launched,
  ).catch((e) => {
    if (!rec.detached) removeFiles(id);
    throw e;
  });
  if (rec.detached) {
    try {
      await expectRunning(container, "exec");
    } catch (e) {
      await container.destroy();
      throw e;
    }
    return 0;
  }
  try {
    if (hooks?.poststart?.length) {
      const r = await container.report();
      if (r?.kind === "failed") {
        await container.undoMountpoints(r);
        throw new UserError(r.message, r.code);
      }
      runHooks(hooks, "poststart", state("running"));
    }
    return await waitForeground(container);
  } finally {
    await container.destroy();
    removeFiles(id);
    runHooks(hooks, "poststop", state("stopped"));
  }
}

/** `mini start`: a stopped container again, detached. Returns the log's size before it. */
export async function startStopped(rec: ContainerRecord): Promise<number> {
  const { statusOf } = require("../state/status.ts") as typeof import("../state/status.ts");
  let offset = 0;
  await withContainerLock(rec.id, async () => {
    if (statusOf(rec).status === "running" || statusOf(rec).status === "paused") return;
    for (const f of [files.exit(rec.id), files.result(rec.id), files.state(rec.id)]) rmSync(f, { force: true });
    try {
      offset = statSync(files.log(rec.id)).size;
    } catch {
      offset = 0;
    }
    const spec = refreshJoinedNamespaces(rec.spec, rec.hostConfig);
    await startRecorded({ ...rec, spec, detached: true });
  });
  return offset;
}

/** `mini run --bundle DIR`: the bundle's config in the foreground, as a recorded container. */
export async function runBundle(
  dir: string,
  o: { name?: string; init: boolean; noPivot: boolean; interactive: boolean },
): Promise<number> {
  sweepOrphans(removeCgroups);
  // Bundle loading and validation load only for --bundle.
  const { loadBundle } = require("../config/bundle.ts") as typeof import("../config/bundle.ts");
  const spec: Spec = loadBundle(dir);
  const rec = await createRecord(
    {
      id: newId(),
      created: new Date().toISOString(),
      spec,
      detached: false,
      autoRemove: true,
      init: o.init,
      noPivot: o.noPivot,
      logMaxBytes: LOG_MAX_BYTES,
      bundle: resolve(dir),
    },
    o.name,
  );
  return startRecorded(rec, undefined, o.interactive || !!spec.process?.terminal);
}

/** The host's own root and system directories: never a container's rootfs (mini creates mount points in it). */
const HOST_DIRS = new Set(
  [
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/proc",
    "/root",
    "/run",
    "/sbin",
  ].concat(["/sys", "/usr", "/var", "/usr/bin", "/usr/lib", "/usr/sbin", "/usr/local", "/var/lib"]),
);

/** A ROOTFS argument as an absolute path, refused when it is the host's / or a system directory. */
function rootfsPath(arg: string): string {
  const path = resolve(arg);
  let real = path;
  try {
    real = realpathSync(path);
  } catch {
    /* missing: the runtime says so */
  }
  if (HOST_DIRS.has(real))
    throw new UserError(`rootfs ${arg} is the host's ${real}: give a container root filesystem (a copy, or an image)`);
  return path;
}

/**
 * IMAGE or ROOTFS: a path (it starts with /, ./ or ../, or is a directory and has a slash in it)
 * is a rootfs; a bare word (`busybox`) is always an image reference, even when a directory of that
 * name is in the current directory. Images are pulled according to the pull policy.
 */
async function resolveTarget(req: RunRequest): Promise<{ rootfs?: string; image?: ImageRecord }> {
  const arg = req.target;
  const looksLikePath =
    arg.startsWith("/") || arg.startsWith("./") || arg.startsWith("../") || arg === "." || arg === "..";
  const isDir = () => {
    try {
      return statSync(arg).isDirectory();
    } catch {
      return false;
    }
  };
  if (looksLikePath || (arg.includes("/") && isDir())) return { rootfs: rootfsPath(arg) };
  // Image modules load only for image runs: `mini run ROOTFS` is the start-up path to keep short.
  const { findImage, pull } = require("../image/pull.ts") as typeof import("../image/pull.ts");
  let image = req.pull.policy === "always" ? undefined : findImage(arg);
  if (!image) {
    if (req.pull.policy === "never") throw new UserError(`image ${arg} is not in the store (and --pull never)`);
    const { parsePlatform } = require("../image/platform.ts") as typeof import("../image/platform.ts");
    const { progressFor } = require("../image/progress.ts") as typeof import("../image/progress.ts");
    image = await pull(arg, {
      platform: req.pull.platform ? parsePlatform(req.pull.platform) : undefined,
      insecure: req.pull.insecure,
      progress: progressFor(req.pull.quiet),
    });
  }
  return { image };
}
