// hugetlb (v1): bytes of each huge page size the container may use. On a hybrid host whose
// hugetlb controller is on the cgroup2 hierarchy, v2/hugetlb.ts applies the same limits there.

import type { Resources } from "../../config/types.ts";
import { controlWrite, type V1Controller } from "../controller.ts";
import { askedOf, named } from "../settings.ts";
import type { CgroupLeaf, CgroupWrite } from "../types.ts";

function writes(leaf: CgroupLeaf, r: Resources | undefined): CgroupWrite[] {
  return (r?.hugepageLimits ?? []).map((h) =>
    controlWrite(leaf.dir, `hugetlb.${h.pageSize}.limit_in_bytes`, h.limit, { setting: named("hugepageLimits") }),
  );
}

export const hugetlb: V1Controller = {
  name: "hugetlb",
  v2: "hugetlb",
  joins: (r) => !!r?.hugepageLimits?.length,
  asked: (r) => askedOf(r, ["hugepageLimits"]),
  writes,
};
