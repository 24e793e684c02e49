// hugetlb (v2): hugetlb.<size>.max per huge page size. Also used on a hybrid host whose hugetlb
// controller lives only on the cgroup2 hierarchy.

import type { Resources } from "../../config/types.ts";
import { controlWrite, type V2Controller } from "../controller.ts";
import { named } from "../settings.ts";
import type { CgroupWrite } from "../types.ts";

export const hugetlb: V2Controller = {
  name: "hugetlb",
  required: (r) => (r?.hugepageLimits?.length ? ["hugetlb"] : []),
  writes: (dir: string, r: Resources | undefined): CgroupWrite[] =>
    (r?.hugepageLimits ?? []).map((h) =>
      controlWrite(dir, `hugetlb.${h.pageSize}.max`, h.limit, { setting: named("hugepageLimits") }),
    ),
};
