// The error a user sees as one line: something wrong with what was asked for (flags, config,
// rootfs, a container that doesn't exist). Every layer may throw it; the CLI prints its message
// and exits with its code (docker's 125 unless the verb says otherwise).

/** A problem with what the user asked for: exit `exitCode` (125 by default) with this one line. */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 125) {
    super(message);
    this.name = "UserError";
    this.exitCode = exitCode;
  }
}
