// Capability names and numbers, docker's default set and its --cap-add/--cap-drop rules, and the
// OCI `process.capabilities` object docker writes.
import type { Capabilities } from "./types.ts";
import { UserError } from "../common/errors.ts";

/** Index = capability number (linux/capability.h), CAP_CHOWN = 0 … CAP_CHECKPOINT_RESTORE = 40. */
export const CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];

const NUMBERS = new Map(CAPABILITIES.map((n, i) => [n, i]));

/** docker's default set, in docker's order. */
export const DEFAULT_CAPS: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/** The number of a canonical name (`CAP_NET_RAW` → 13), undefined when unknown. */
export function capNumber(name: string): number | undefined {
  return NUMBERS.get(name);
}

/** The canonical name of a number (13 → `CAP_NET_RAW`), undefined past the table. */
export function capName(n: number): string | undefined {
  return CAPABILITIES[n];
}

/** `net_raw`, `NET_RAW`, `cap_net_raw` → `CAP_NET_RAW`; `all` → `ALL`; unknown → UserError. */
export function normalizeCap(name: string): string {
  const up = name.trim().toUpperCase();
  if (up === "ALL") return "ALL";
  const full = up.startsWith("CAP_") ? up : `CAP_${up}`;
  if (!NUMBERS.has(full)) throw new UserError(`unknown capability: "${name}"`);
  return full;
}

const byNumber = (names: Iterable<string>) => [...new Set(names)].sort((a, b) => NUMBERS.get(a)! - NUMBERS.get(b)!);

/**
 * docker's --cap-add/--cap-drop: `ALL` in add gives every capability except the dropped ones;
 * otherwise `ALL` in drop gives only the added ones; otherwise defaults minus drop plus add.
 * The result is in capability-number order without duplicates.
 */
export function applyCapFlags(
  defaults: readonly string[],
  add: readonly string[],
  drop: readonly string[],
  /** What the host can grant (mini's bounding set): `ALL` means those. */
  available: bigint = ~0n,
): string[] {
  const adds = add.map(normalizeCap),
    drops = drop.map(normalizeCap);
  const base = defaults.map(normalizeCap).filter((c) => c !== "ALL");
  if (adds.includes("ALL")) return CAPABILITIES.filter((c, n) => !drops.includes(c) && (available >> BigInt(n)) & 1n);
  const added = adds.filter((c) => c !== "ALL");
  if (drops.includes("ALL")) return byNumber(added);
  return byNumber([...base.filter((c) => !drops.includes(c)), ...added]);
}

/**
 * Unknown capability names in a config are ignored with a warning, as runc does (a newer
 * engine may name ones this kernel's table lacks); returns the names dropped.
 */
export function dropUnknownCaps(caps: Record<string, string[] | undefined> | undefined): string[] {
  const unknown = new Set<string>();
  for (const [set, names] of Object.entries(caps ?? {})) {
    if (!Array.isArray(names)) continue;
    caps![set] = names.filter((c) => {
      if (capNumber(c) !== undefined) return true;
      unknown.add(c);
      return false;
    });
  }
  return [...unknown];
}

/**
 * Capabilities a process asks for that `available` (the runtime's own bounding set) lacks: these
 * can't be granted, and silently running without them would be wrong.
 */
export function ungrantableCaps(caps: Record<string, string[] | undefined> | undefined, available: bigint): string[] {
  const out = new Set<string>();
  for (const names of Object.values(caps ?? {}))
    for (const c of names ?? []) {
      const n = capNumber(c);
      if (n !== undefined && !((available >> BigInt(n)) & 1n)) out.add(c);
    }
  return [...out];
}

/** Bit mask of capability names (bit n = capability n); unknown names → UserError. */
export function capsToMask(names: readonly string[] | undefined): bigint {
  let mask = 0n;
  for (const name of names ?? []) {
    const n = NUMBERS.get(name) ?? NUMBERS.get(normalizeCap(name));
    mask |= 1n << BigInt(n!);
  }
  return mask;
}

/** Names of the bits set in a mask (bits past the table become `CAP_<n>`). */
export function maskToCaps(mask: bigint): string[] {
  const out: string[] = [];
  for (let n = 0; n < 64; n++) if ((mask >> BigInt(n)) & 1n) out.push(CAPABILITIES[n] ?? `CAP_${n}`);
  return out;
}

/**
 * The OCI capabilities object docker writes for this set: for uid 0 bounding = permitted =
 * effective = set; for any other uid only bounding, because execve of a file without file
 * capabilities by a non-zero uid clears permitted and effective anyway (capabilities(7)), so
 * listing them would only pretend. Inheritable and ambient stay empty.
 */
export function ociCapabilities(names: readonly string[], uid: number): Capabilities {
  const set = [...names];
  return uid === 0 ? { bounding: set, effective: [...set], permitted: [...set] } : { bounding: set };
}
