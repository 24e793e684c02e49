// Docker-style resource flags → OCI numbers: sizes (--memory 32m), CPUs (--cpus 0.5),
// and the --memory-swap rules. Bad input is a UserError with a one-line message.

import os from "node:os";
import { UserError } from "../common/errors.ts";

const MULT: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

// go-units RAMInBytes: a decimal number, an optional space, an optional unit, then "i"/"b"/"ib".
const SIZE = /^(\d+(?:\.\d+)?) ?([bkmgtp])?(i?b)?$/i;

/** The kernel and docker refuse memory limits below this (docker: "Minimum memory limit allowed is 6MB"). */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

/** `"32m"` → 33554432. Binary multiples, case-insensitive b/k/m/g/t suffix, optional trailing "b"/"ib". */
export function parseBytes(input: string, what = "memory size"): number {
  const s = String(input).trim();
  const m = SIZE.exec(s);
  // "1b" is bytes; "1ib" with no unit letter is nonsense.
  if (
    !m ||
    (m[2] === undefined && m[3] !== undefined && m[3].toLowerCase() !== "b") ||
    (m[2]?.toLowerCase() === "b" && m[3])
  ) {
    throw new UserError(`invalid ${what} "${input}": use a number with an optional unit (b, k, m, g)`);
  }
  const unit = (m[2] ?? "").toLowerCase();
  const n = Math.floor(Number(m[1]) * MULT[unit]!);
  if (!Number.isSafeInteger(n)) throw new UserError(`invalid ${what} "${input}": too large`);
  return n;
}

/** `--memory`: a size of at least 6 MiB, as docker requires. */
export function parseMemory(input: string): number {
  const n = parseBytes(input);
  if (n < MIN_MEMORY_BYTES) throw new UserError(`invalid memory limit "${input}": minimum memory limit allowed is 6MB`);
  return n;
}

/** The OCI swap value (memory + swap total, -1 = unlimited) from --memory and --memory-swap, as docker does. */
export function parseMemorySwap(memory: number | undefined, memorySwap: string | undefined): number | undefined {
  const mem = memory && memory > 0 ? memory : undefined;
  if (memorySwap === undefined || memorySwap.trim() === "") return mem === undefined ? undefined : mem * 2;
  if (memorySwap.trim() === "-1") return -1;
  const swap = parseBytes(memorySwap, "memory-swap size");
  if (swap === 0) return mem === undefined ? undefined : mem * 2; // docker: 0 means unset
  if (mem === undefined)
    throw new UserError(
      "--memory-swap needs --memory: you should always set the memory limit when using a memory-swap limit",
    );
  if (swap < mem) throw new UserError("minimum memoryswap limit should be larger than memory limit, see usage");
  return swap;
}

export interface CpuQuota {
  quota: number;
  period: number;
}

const CPU_PERIOD = 100000;

function hostCpus(): number {
  const n = typeof navigator !== "undefined" ? navigator.hardwareConcurrency : 0;
  return n > 0 ? n : Math.max(1, os.cpus().length);
}

/** `--cpus 0.5` → { quota: 50000, period: 100000 }. Range 0.01 .. online CPUs, like docker. */
export function parseCpus(input: string, cpuCount: number = hostCpus()): CpuQuota {
  const s = String(input).trim();
  const cpus = /^(\d+(\.\d*)?|\.\d+)$/.test(s) ? Number(s) : NaN;
  const range = `range of CPUs is from 0.01 to ${cpuCount.toFixed(2)}, as there are only ${cpuCount} CPUs available`;
  if (!Number.isFinite(cpus)) throw new UserError(`invalid --cpus "${input}": use a decimal number of CPUs, e.g. 0.5`);
  if (cpus < 0.01 || cpus > cpuCount) throw new UserError(`invalid --cpus "${input}": ${range}`);
  return { quota: Math.round(cpus * CPU_PERIOD), period: CPU_PERIOD };
}
