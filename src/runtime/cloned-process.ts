// A child made with clone3 (not Bun.spawn), shaped like the parts of Bun's Subprocess that the
// runtime uses. Bun doesn't reap children it didn't spawn: SIGCHLD (and a slow poll, in case a
// signal is merged with another child's) triggers waitpid(pid, WNOHANG).
import { kill, waitpidNoHang } from "../sys/calls.ts";
import { decodeWaitStatus, SIGNALS } from "../sys/constants.ts";

export interface ContainerProcess {
  readonly pid: number;
  readonly exited: Promise<number>;
  readonly signalCode: string | null;
  kill(signal?: NodeJS.Signals | number): void;
}

export class ClonedProcess implements ContainerProcess {
  readonly pid: number;
  readonly exited: Promise<number>;
  signalCode: string | null = null;

  constructor(pid: number) {
    this.pid = pid;
    this.exited = new Promise((resolve) => {
      const check = () => {
        const status = waitpidNoHang(pid);
        if (status === undefined) return;
        process.off("SIGCHLD", check);
        clearInterval(poll);
        const { code, signal } = decodeWaitStatus(status);
        if (signal) this.signalCode = signal;
        resolve(code);
      };
      const poll = setInterval(check, 200);
      process.on("SIGCHLD", check);
      check();
    });
  }

  kill(signal: NodeJS.Signals | number = "SIGTERM"): void {
    kill(this.pid, typeof signal === "number" ? signal : SIGNALS[signal]);
  }
}
