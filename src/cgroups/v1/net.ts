// net_cls and net_prio (v1 only; cgroup v2 has neither): the class id of the container's
// packets (for tc and iptables) and per-interface priorities.

import type { Resources } from "../../config/types.ts";
import { controlWrite, type V1Controller } from "../controller.ts";
import { askedOf, named } from "../settings.ts";
import type { CgroupLeaf } from "../types.ts";

export const netCls: V1Controller = {
  name: "net_cls",
  joins: (r) => r?.network?.classID !== undefined,
  asked: (r) => askedOf(r, ["network.classID"]),
  writes: (leaf: CgroupLeaf, r: Resources | undefined) =>
    r?.network?.classID !== undefined
      ? [controlWrite(leaf.dir, "net_cls.classid", r.network.classID, { setting: named("network.classID") })]
      : [],
};

export const netPrio: V1Controller = {
  name: "net_prio",
  joins: (r) => !!r?.network?.priorities?.length,
  asked: (r) => askedOf(r, ["network.priorities"]),
  writes: (leaf: CgroupLeaf, r: Resources | undefined) =>
    (r?.network?.priorities ?? []).map((p) =>
      controlWrite(leaf.dir, "net_prio.ifpriomap", `${p.name} ${p.priority}`, { setting: named("network.priorities") }),
    ),
};
