// mini top CONTAINER: the container's processes (host view: UID PID PPID STIME CMD)
import type { CommandDef } from "citty";
import { readFileSync } from "node:fs";
import type { OptDefs, OptValues } from "../argv.ts";
import { printTable } from "../format.ts";
import { resolveContainer } from "../../state/containers.ts";
import { UserError } from "../../common/errors.ts";
import { cgroupPids } from "../../cgroups/index.ts";
import { requireRunning } from "../../runtime/lifecycle.ts";

export default {
  meta: { name: "top", description: "List the processes of a running container" },
  args: {},
} satisfies CommandDef<OptDefs>;

function row(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "?";
    const cmd =
      readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ") ||
      `[${stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"))}]`;
    const ticks = Number(f[11]) + Number(f[12]);
    const s = Math.floor(ticks / 100);
    const time = `${String(Math.floor(s / 3600)).padStart(2, "0")}:${String(Math.floor(s / 60) % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
    return [uid, String(pid), f[1]!, time, cmd];
  } catch {
    return undefined;
  }
}

export function run(_values: OptValues, operands: string[]): number {
  if (operands.length !== 1) throw new UserError('"mini top" needs exactly one CONTAINER', 1);
  const rec = resolveContainer(operands[0]!);
  const st = requireRunning(rec);
  const pids = rec.cgroups ? cgroupPids(rec.cgroups) : [st.pid!];
  printTable([["UID", "PID", "PPID", "TIME", "CMD"], ...pids.map(row).filter((r): r is string[] => !!r)]);
  return 0;
}
