// Where containers keep their runtime files, and container ids.

/** Persistent data (images, containers' records and logs). */
export function storeRoot(): string {
  return process.env.MINI_ROOT ?? "/var/lib/mini";
}

/** Runtime state (tmpfs, gone at reboot): one directory per container. */
export function runRoot(): string {
  return process.env.MINI_RUN_ROOT ?? "/run/mini";
}

export function containerDir(id: string): string {
  return `${runRoot()}/${id}`;
}

/** 64 hex characters, like docker's ids; 12 are shown. */
export function newId(): string {
  // Web Crypto: importing node:crypto costs ~2 ms of start-up.
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
}
