// Starting the child stage for a spec's namespaces before the spec is complete, so that its Bun
// start-up overlaps the caller's work: `mini run` starts it before the CLI has loaded
// (cli/early-run.ts), or once the flags are parsed; createContainer takes it from there.
import { UserError } from "../common/errors.ts";
import type { Namespace, Spec } from "../config/types.ts";
import * as log from "../log.ts";
import { socketpair } from "../sys/socket.ts";
import { type ChildStage, type LaunchChoice, launchChildStage, type UserNamespace } from "./launch.ts";
import { type NamespaceSetup, planNamespaces } from "./namespaces.ts";
import { closeFd } from "./oci-io.ts";
import { type AttachedTerminal, attachTerminal } from "./tty.ts";

/** A child stage started before its spec is complete (its Bun start-up overlaps the caller's work). */
export interface LaunchedChild {
  nsPlan: NamespaceSetup;
  child: ChildStage;
  /** -t: the user's terminal, and our end of the socket the child sends its pty master over. */
  term?: AttachedTerminal;
  consoleSock?: number;
  t0: number;
  /** How it was started (to tell whether an early start fits the final spec: launchOrAdopt). */
  how: LaunchChoice;
  userns: boolean;
  tty: boolean;
}

/** The user namespace a spec asks for (its id maps), if any. */
export function userNamespaceOf(spec: { linux?: Spec["linux"] }): UserNamespace | undefined {
  const ns = spec.linux?.namespaces?.find((n) => n.type === "user");
  if (!ns) return undefined;
  // Joined by path: its maps are read from the child stage once it is in it (readJoinedMaps).
  if (ns.path) return { uidMappings: [], gidMappings: [], path: ns.path };
  return { uidMappings: spec.linux!.uidMappings ?? [], gidMappings: spec.linux!.gidMappings ?? [] };
}

/**
 * Starts the child stage in the namespaces `namespaces` asks for. With `tty`, the host terminal
 * is attached (direct launches only). The child waits for its config.
 */
export function launch(
  namespaces: Namespace[] | undefined,
  userns: UserNamespace | undefined,
  how: LaunchChoice,
  tty = false,
): LaunchedChild {
  if (process.getuid?.() !== 0)
    throw new UserError("mini run needs root (user namespaces for unprivileged users are not supported yet)");
  const nsPlan = planNamespaces(namespaces);
  log.debug(
    `namespaces: unshare 0x${nsPlan.unshareFlags.toString(16)} in the parent, 0x${nsPlan.childFlags.toString(16)} in the child${nsPlan.join.length ? `, join ${nsPlan.join.map((j) => j.path).join(" ")}` : ""}`,
  );
  // -t: the pty is made by the child stage from the container's devpts (child-console.ts) and its
  // master comes back over a socketpair (fd 5 there); stdin then reaches the command through it.
  let term: AttachedTerminal | undefined;
  let consoleSock: number | undefined;
  let theirs: number | undefined;
  if (tty && how.mode === "direct") {
    term = attachTerminal({ interactive: how.io.interactive });
    [consoleSock, theirs] = socketpair();
    how = { ...how, io: { ...how.io, interactive: false, extraFds: [theirs, ...(how.io.extraFds ?? [])] } };
  }
  const t0 = performance.now();
  let child: ChildStage;
  try {
    child = launchChildStage(nsPlan, userns, how);
  } catch (e) {
    if (consoleSock !== undefined) closeFd(consoleSock);
    throw e;
  } finally {
    if (theirs !== undefined) closeFd(theirs);
  }
  log.debug(
    how.mode === "monitor"
      ? `monitor ${child.monitorPid} cloned the child stage, pid ${child.proc.pid}`
      : `spawn child stage pid ${child.proc.pid}`,
    performance.now() - t0,
  );
  return { nsPlan, child, term, consoleSock, t0, how, userns: !!userns, tty };
}

/** Ends a launched child that will never get its config. */
export async function abandon(launched: LaunchedChild): Promise<void> {
  launched.child.proc.kill("SIGKILL");
  await launched.child.proc.exited;
}

const samePlan = (a: NamespaceSetup, b: NamespaceSetup) =>
  a.unshareFlags === b.unshareFlags &&
  a.childFlags === b.childFlags &&
  JSON.stringify([a.join, a.childJoin]) === JSON.stringify([b.join, b.childJoin]);

/**
 * `early` when it was started for these namespaces the same way (a direct launch without user
 * namespace or terminal), else a new launch (and `early` is killed).
 */
export async function launchOrAdopt(
  early: LaunchedChild | undefined,
  namespaces: Namespace[] | undefined,
  userns: UserNamespace | undefined,
  how: LaunchChoice,
  tty = false,
): Promise<LaunchedChild> {
  if (early) {
    const fits =
      !userns &&
      !tty &&
      !early.userns &&
      !early.tty &&
      how.mode === "direct" &&
      early.how.mode === "direct" &&
      JSON.stringify(how.io) === JSON.stringify(early.how.io) &&
      samePlan(early.nsPlan, planNamespaces(namespaces));
    if (fits) {
      log.debug(`the child stage started early (pid ${early.child.proc.pid}) fits`);
      return early;
    }
    log.debug("the child stage started early does not fit the container: starting another");
    await abandon(early);
  }
  return launch(namespaces, userns, how, tty);
}
