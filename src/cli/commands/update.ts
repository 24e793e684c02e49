// mini update [OPTIONS] CONTAINER...: docker's verb (runc's `update` of OCI containers is in cli/oci)
import type { CommandDef } from "citty";
import type { UpdateFlags } from "../../config/update-flags.ts";
import { updateContainer } from "../../runtime/update.ts";
import type { OptDefs, OptValues } from "../argv.ts";
import { forEachContainer } from "../containers.ts";

const args = {
  memory: { type: "string", alias: "m", description: "Memory limit (e.g. 64m)", valueHint: "bytes" },
  "memory-swap": { type: "string", description: "Memory plus swap limit (-1: unlimited)", valueHint: "bytes" },
  "memory-reservation": { type: "string", description: "Memory soft limit", valueHint: "bytes" },
  cpus: { type: "string", description: "CPU limit in CPUs (e.g. 1.5)", valueHint: "n" },
  "cpu-shares": { type: "string", alias: "c", description: "Relative CPU weight", valueHint: "n" },
  "cpu-quota": { type: "string", description: "CPU CFS quota in microseconds (-1: none)", valueHint: "us" },
  "cpu-period": { type: "string", description: "CPU CFS period in microseconds", valueHint: "us" },
  "cpuset-cpus": { type: "string", description: "CPUs the container may use (0-3, 0,1)", valueHint: "list" },
  "cpuset-mems": { type: "string", description: "Memory nodes the container may use", valueHint: "list" },
  "pids-limit": { type: "string", description: "Maximum number of processes (-1: unlimited)", valueHint: "n" },
  "blkio-weight": { type: "string", description: "Block I/O weight 10-1000 (0: unset)", valueHint: "n" },
} as const satisfies OptDefs;

export default {
  meta: { name: "update", description: "Change the resource limits of containers (running ones at once)" },
  args,
} satisfies CommandDef<OptDefs>;

const str = (v: OptValues, k: string) => (typeof v[k] === "string" ? (v[k] as string) : undefined);

export function run(values: OptValues, operands: string[]): Promise<number> {
  const flags: UpdateFlags = {
    memory: str(values, "memory"),
    memorySwap: str(values, "memory-swap"),
    memoryReservation: str(values, "memory-reservation"),
    cpus: str(values, "cpus"),
    cpuShares: str(values, "cpu-shares"),
    cpuQuota: str(values, "cpu-quota"),
    cpuPeriod: str(values, "cpu-period"),
    cpusetCpus: str(values, "cpuset-cpus"),
    cpusetMems: str(values, "cpuset-mems"),
    pidsLimit: str(values, "pids-limit"),
    blkioWeight: str(values, "blkio-weight"),
  };
  return forEachContainer("update", operands, async (rec, q) => {
    await updateContainer(rec, flags);
    return q;
  });
}
