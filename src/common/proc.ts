// Facts about a process from /proc, as the kernel states them now.
import { readFileSync } from "node:fs";

/** A process named by pid and start time, as mini records its owners. */
export interface ProcessId {
  pid: number;
  start: string;
}

/** This process, as a ProcessId. */
export const thisProcess = (): ProcessId => ({ pid: process.pid, start: pidStartTime(process.pid) ?? "" });

/** True while that very process runs (not another one that got its pid). */
export const isRunning = (p: ProcessId): boolean => pidStartTime(p.pid) === p.start;

/**
 * Field 22 of /proc/PID/stat (start time in clock ticks since boot), or undefined when there is
 * no such process or it has finished (a zombie). A pid together with its start time names one
 * process: a recycled pid has another start time.
 */
export function pidStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

/** This process's capability bounding set (CapBnd of /proc/self/status): what any child can hold. */
export function boundingSet(): bigint {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

/** Bytes received and sent on every interface but lo, from /proc/net/dev text; undefined without one. */
export function netDevTotals(text: string): { rx: number; tx: number } | undefined {
  let rx = 0;
  let tx = 0;
  let any = false;
  for (const line of text.split("\n").slice(2)) {
    const i = line.indexOf(":");
    if (i < 0) continue;
    const name = line.slice(0, i).trim();
    if (name === "lo") continue;
    const f = line
      .slice(i + 1)
      .trim()
      .split(/\s+/);
    rx += Number(f[0] ?? 0);
    tx += Number(f[8] ?? 0);
    any = true;
  }
  return any ? { rx, tx } : undefined;
}

/** A process's network traffic as its network namespace counts it (/proc/PID/net/dev). */
export function netIO(pid: number): { rx: number; tx: number } | undefined {
  try {
    return netDevTotals(readFileSync(`/proc/${pid}/net/dev`, "utf8"));
  } catch {
    return undefined;
  }
}
