// --init: mini stays PID 1 of the container, runs the command as its child, forwards signals to
// it and reaps every orphan that the kernel re-parents to PID 1. Exits with the command's status.
import * as sys from "../sys/calls.ts";
import { decodeWaitStatus, SIGNALS, WNOHANG } from "../sys/constants.ts";
import { ERROR_FD } from "./child-config.ts";
import { forwardSignals } from "./signals.ts";
import { libc } from "../sys/libc.ts";

const FORWARDED = [
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGTERM",
  "SIGUSR1",
  "SIGUSR2",
  "SIGWINCH",
  "SIGCONT",
  "SIGALRM",
  "SIGPWR",
] as const;

export function runInit(path: string, args: string[], env: string[]): void {
  const l = libc();
  l.signal(SIGNALS.SIGPIPE, null); // SIGPIPE and SIGXFSZ back to default for the command (Bun ignores them)
  l.signal(SIGNALS.SIGXFSZ, null);
  sys.closeRangeCloexec(3);
  const envObj: Record<string, string> = {};
  for (const e of env) {
    const i = e.indexOf("=");
    if (i > 0) envObj[e.slice(0, i)] = e.slice(i + 1);
  }
  const child = Bun.spawn([path, ...args.slice(1)], {
    argv0: args[0],
    env: envObj,
    stdio: ["inherit", "inherit", "inherit"],
  });
  // The command started: close the error channel so the parent knows.
  sys.close(ERROR_FD);

  const status = new Int32Array(1);
  const reap = () => {
    for (;;) {
      const pid = l.waitpid(-1, status, WNOHANG);
      if (pid <= 0) return;
      if (pid === child.pid) process.exit(decodeWaitStatus(status[0]).code);
    }
  };
  process.on("SIGCHLD", reap);
  forwardSignals((sig) => sys.kill(child.pid, SIGNALS[sig]!), FORWARDED);
  child.exited.then((code) => process.exit(code));
}
