// docker's `update`: new limits for a container, recorded (so `inspect` and the next `start`
// have them) and, while it runs, written into its cgroups (the same leaves create made).
import * as cgroups from "../cgroups/index.ts";
import { UserError } from "../common/errors.ts";
import type { Resources } from "../config/types.ts";
import { updatedResources, type UpdateFlags } from "../config/update-flags.ts";
import * as log from "../log.ts";
import { writeJsonAtomic } from "../common/json-file.ts";
import { type ContainerRecord, readRecord, withContainerLock } from "../state/containers.ts";
import { statusOf } from "../state/status.ts";
import { containerPaths as files } from "../common/paths.ts";

/** Updates one container; returns its new resources. */
export async function updateContainer(rec: ContainerRecord, flags: UpdateFlags): Promise<Resources> {
  return withContainerLock(rec.id, () => {
    const now = readRecord(rec.id) ?? rec;
    const resources = updatedResources(now.spec.linux?.resources, flags);
    const status = statusOf(now).status;
    if ((status === "running" || status === "paused") && now.cgroups) {
      let plan: cgroups.CgroupPlan;
      try {
        plan = cgroups.planUpdate(now.cgroups, { ...resources, devices: undefined }); // docker's update leaves devices
      } catch (e) {
        throw e instanceof UserError ? new UserError(e.message, 1) : e;
      }
      cgroups.updateCgroups(plan, log.isDebug() ? (m, ms) => log.debug(m, ms) : undefined);
    } else {
      // stopped: checked now, applied at the next start
      try {
        cgroups.checkResources(resources);
      } catch (e) {
        throw e instanceof UserError ? new UserError(e.message, 1) : e;
      }
    }
    writeJsonAtomic(files.record(now.id), { ...now, spec: { ...now.spec, linux: { ...now.spec.linux, resources } } });
    return resources;
  });
}
