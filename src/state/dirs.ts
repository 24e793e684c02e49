// Where containers keep their runtime files, and container ids.
import { randomBytes } from "node:crypto";

/** Runtime state (tmpfs, gone at reboot): one directory per container. */
export function runRoot(): string {
  return process.env.MINI_RUN_ROOT ?? "/run/mini";
}

export function containerDir(id: string): string {
  return `${runRoot()}/${id}`;
}

/** 64 hex characters, like docker's ids; 12 are shown. */
export function newId(): string {
  return randomBytes(32).toString("hex");
}
