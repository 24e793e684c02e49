// isatty(3) without node:tty: importing node:tty anywhere in a bundle makes every process that
// loads the bundle instantiate it (~3 ms of a command's start, measured).
import { fstatSync } from "node:fs";

const S_IFMT = 0o170000;
const S_IFCHR = 0o020000;

/** Whether `fd` is a terminal (a character device answering TCGETS: a pty or a console). */
export function isTerminal(fd: number): boolean {
  try {
    if ((fstatSync(fd).mode & S_IFMT) !== S_IFCHR) return false;
  } catch {
    return false;
  }
  return (require("node:tty") as typeof import("node:tty")).isatty(fd);
}
