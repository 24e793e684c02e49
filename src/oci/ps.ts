// runc `ps ID [PS OPTIONS]`: ps(1) (default -ef) filtered to the container's processes, its header
// kept; `--format json` prints their pids instead.
import { UserError } from "../common/errors.ts";
import { containerPids } from "./lifecycle.ts";
import type { OciStore } from "./state.ts";
import { printOut } from "../common/stdout.ts";

/** The lines of `ps` output whose PID column is one of `pids` (the header first). */
export function filterPs(output: string, pids: number[]): string[] {
  const lines = output.split("\n");
  const header = lines[0] ?? "";
  const col = header.trim().split(/\s+/).indexOf("PID");
  if (col < 0) throw new UserError("ps: the output has no PID column (keep it in -o)", 1);
  const want = new Set(pids);
  return [header, ...lines.slice(1).filter((l) => l.trim() && want.has(Number(l.trim().split(/\s+/)[col])))];
}

export function ps(store: OciStore, id: string, format: string | undefined, psArgs: string[]): number {
  const pids = containerPids(store, id);
  if (format === "json") {
    printOut(`${JSON.stringify(pids)}\n`);
    return 0;
  }
  const r = Bun.spawnSync(["ps", ...(psArgs.length ? psArgs : ["-ef"])], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new UserError(`ps: ${r.stderr.toString().trim() || `exit status ${r.exitCode}`}`, 1);
  printOut(`${filterPs(r.stdout.toString(), pids).join("\n")}\n`);
  return 0;
}
