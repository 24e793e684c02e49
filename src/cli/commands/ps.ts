// mini ps [-a] [-q] [--format json]
import type { CommandDef } from "citty";
import type { OptDefs, OptValues } from "../argv.ts";
import { ago, duration, printTable } from "../format.ts";
import { listIds, recordOrDamaged, sweepRemovals, type ContainerRecord } from "../../state/containers.ts";
import { statusOf, type ContainerStatus } from "../../state/status.ts";
import { removeCgroups } from "../../cgroups/index.ts";
import { sweepOrphans } from "../../state/owner.ts";
import { portsColumn } from "../../runtime/network-info.ts";
import { sweepNetworks } from "../../runtime/network-sweep.ts";
import { printOut } from "../../common/stdout.ts";

const args = {
  all: { type: "boolean", alias: "a", description: "Show all containers (default: only running ones)" },
  quiet: { type: "boolean", alias: "q", description: "Only container IDs" },
  format: { type: "string", description: "Output format: table (default) or json", valueHint: "table|json" },
} as const satisfies OptDefs;

export default { meta: { name: "ps", description: "List containers" }, args } satisfies CommandDef<OptDefs>;

export function statusText(st: ContainerStatus): string {
  const since = (iso?: string) => (iso ? duration((Date.now() - Date.parse(iso)) / 1000) : "");
  if (st.status === "running") return `Up ${since(st.startedAt)}`;
  if (st.status === "paused") return `Up ${since(st.startedAt)} (Paused)`;
  if (st.status === "created") return "Created";
  if (st.status === "dead") return st.pid ? `Dead (record damaged; pid ${st.pid} runs)` : "Dead (record damaged)";
  return `Exited (${st.exitCode === -1 ? "unknown" : st.exitCode}) ${st.finishedAt ? ago(st.finishedAt) : ""}`.trimEnd();
}

export function command(rec: ContainerRecord): string {
  const c = (rec.spec.process?.args ?? []).join(" ");
  return c.length > 20 ? `${c.slice(0, 19)}…` : c;
}

/** Every container with its status, newest first. */
export function listContainers(all: boolean): { rec: ContainerRecord; st: ContainerStatus }[] {
  sweepOrphans(removeCgroups);
  sweepRemovals();
  const out: { rec: ContainerRecord; st: ContainerStatus }[] = [];
  for (const id of listIds()) {
    const rec = recordOrDamaged(id);
    const st = statusOf(rec);
    if (all || st.status === "running" || st.status === "paused" || (st.status === "dead" && st.pid))
      out.push({ rec, st });
  }
  return out.sort((a, b) => b.rec.created.localeCompare(a.rec.created));
}

export async function run(values: OptValues): Promise<number> {
  const list = listContainers(!!values.all);
  // Leases and ports of containers that are gone (cheap when there are none); only root can change them.
  if (process.getuid?.() === 0) await sweepNetworks();
  if (values.quiet) {
    printOut(list.map(({ rec }) => `${rec.id.slice(0, 12)}\n`).join(""));
    return 0;
  }
  if (values.format === "json") {
    printOut(
      `${JSON.stringify(
        list.map(({ rec, st }) => ({
          id: rec.id,
          name: rec.name,
          image: rec.image ?? rec.spec.root?.path,
          command: rec.spec.process?.args ?? [],
          created: rec.created,
          state: st.status,
          status: statusText(st),
          pid: st.pid ?? 0,
          exitCode: st.exitCode ?? null,
          ports: st.status === "running" ? portsColumn(rec) : "",
          startedAt: st.startedAt ?? null,
          finishedAt: st.finishedAt ?? null,
        })),
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  printTable([
    ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"],
    ...list.map(({ rec, st }) => [
      rec.id.slice(0, 12),
      rec.image ?? rec.spec.root?.path ?? "",
      `"${command(rec)}"`,
      ago(rec.created),
      statusText(st),
      st.status === "running" ? portsColumn(rec) : "",
      rec.name,
    ]),
  ]);
  return 0;
}
