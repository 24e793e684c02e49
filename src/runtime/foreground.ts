// A container in the foreground: mini stays its parent until it exits, forwards the user's
// signals, relays its terminal, ends it when the user's terminal hangs up, and returns docker's
// exit status (the command's, 128+N for a signal, 137 with a message for an OOM kill).
import * as cgroups from "../cgroups/index.ts";
import { formatBytes } from "../common/format.ts";
import * as log from "../log.ts";
import { SIGNALS } from "../sys/constants.ts";
import type { Container } from "./container.ts";
import { forwardSignals } from "./signals.ts";
import { normalJit } from "../common/jit.ts";

/** How long a hung-up session's container gets to end after SIGHUP before SIGKILL. */
const HANGUP_GRACE_MS = 2000;

/** Waits for the container's exit and returns its status. The caller destroys it after. */
export async function waitForeground(container: Container): Promise<number> {
  normalJit(); // relaying output for as long as the container runs
  const { proc } = container.child;
  const term = container.term;
  if (term && container.terminal) term.start(container.terminal);
  // SIGHUP forwarded to PID 1 is dropped by the kernel unless it handles it: escalate.
  let hangupTimer: ReturnType<typeof setTimeout> | undefined;
  const hangup = () => {
    proc.kill("SIGHUP");
    hangupTimer ??= setTimeout(() => proc.kill("SIGKILL"), HANGUP_GRACE_MS);
  };
  const stopForwarding = forwardSignals((sig) => proc.kill(sig), undefined, { SIGHUP: hangup });
  term?.onHangup(hangup);

  let code = await proc.exited;

  if (hangupTimer) clearTimeout(hangupTimer);
  stopForwarding();
  await term?.stop();
  log.debug(
    `container exited with ${code}${proc.signalCode ? ` (${proc.signalCode})` : ""}`,
    performance.now() - container.t0,
  );

  const report = await container.report(0);
  if (report?.kind === "failed") {
    await container.undoMountpoints(report);
    log.error(report.message);
    return report.code;
  }
  if (proc.signalCode === "SIGKILL" && cgroups.oomKilled(container.cgroups)) {
    const limit = cgroups.memoryLimit(container.cgroups);
    log.error(`container killed: out of memory${limit ? ` (memory limit ${formatBytes(limit, " ")})` : ""}`);
    code = 128 + SIGNALS.SIGKILL;
  }
  return code;
}
