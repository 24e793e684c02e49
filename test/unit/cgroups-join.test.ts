import { expect, test } from "bun:test";
import { planJoin } from "../../src/cgroups/join.ts";
import type { CgroupLeaf } from "../../src/cgroups/types.ts";

const leaf = (dir: string, unified: boolean): CgroupLeaf => ({
  hierarchy: dir,
  controllers: [],
  mountpoint: "/sys/fs/cgroup",
  dir,
  unified,
});

test("v1 leaves are joined by the child's own thread through tasks; cgroup2 leaves by the parent", () => {
  const leaves = [leaf("/cg/pids/c", false), leaf("/cg/memory/c", false), leaf("/cg/unified/c", true)];
  expect(planJoin({ leaves }, true)).toEqual({
    tasks: ["/cg/pids/c/tasks", "/cg/memory/c/tasks"],
    procs: ["/cg/unified/c/cgroup.procs"],
  });
});

test("a child in a user namespace can't write host cgroup files: the parent moves it into all", () => {
  const leaves = [leaf("/cg/pids/c", false), leaf("/cg/unified/c", true)];
  expect(planJoin({ leaves }, false)).toEqual({
    tasks: [],
    procs: ["/cg/pids/c/cgroup.procs", "/cg/unified/c/cgroup.procs"],
  });
});
