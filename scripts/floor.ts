// The floor of mini's design, for scripts/bench: the same two Bun stages (this binary re-executes
// itself for the child stage) doing the kernel work of a container start through the same bun:ffi
// wrappers, and nothing else: no CLI, no image or record, no config, no checks, no capabilities or
// seccomp. What mini run costs beyond this is mini's own code.
//
//   floor ROOTFS CMD...   (compiled by scripts/bench; needs root, cgroup v1 or hybrid)
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import * as sys from "../src/sys/calls.ts";
import * as C from "../src/sys/constants.ts";
import { interfaceUp } from "../src/sys/socket.ts";

const NEW_IN_PARENT = C.CLONE_NEWPID | C.CLONE_NEWNET | C.CLONE_NEWUTS | C.CLONE_NEWIPC;
const [stage, ...rest] = process.argv.slice(2);

/** One directory per v1 hierarchy, beside the caller's own cgroup (where mini puts its containers). */
function cgroupDirs(name: string): string[] {
  return readFileSync("/proc/self/cgroup", "utf8")
    .split("\n")
    .map((l) => l.split(":"))
    .filter(([, ctrl]) => ctrl && !ctrl.startsWith("name="))
    .map(([, ctrl, path]) => `/sys/fs/cgroup/${ctrl!.split(",")[0]}${path === "/" ? "" : path}/${name}`);
}

async function parent(rootfs: string, cmd: string[]): Promise<number> {
  const dirs = cgroupDirs(`floor-${process.pid}`);
  for (const d of dirs) {
    mkdirSync(d);
    if (d.includes("/cpuset/"))
      for (const f of ["cpuset.cpus", "cpuset.mems"])
        writeFileSync(`${d}/${f}`, readFileSync(`${d}/../${f}`, "utf8").trim() || "0");
  }
  const saved = ["pid_for_children", "net", "uts", "ipc"].map((n) => sys.open(`/proc/thread-self/ns/${n}`, C.O_RDONLY));
  sys.unshare(NEW_IN_PARENT);
  const child = Bun.spawn([process.execPath, "child", rootfs, dirs.join(","), ...cmd], {
    stdio: ["ignore", "inherit", "inherit"],
    env: {},
  });
  const flags = [C.CLONE_NEWPID, C.CLONE_NEWNET, C.CLONE_NEWUTS, C.CLONE_NEWIPC];
  saved.forEach((fd, i) => {
    sys.setns(fd, flags[i]!);
    sys.close(fd);
  });
  const code = await child.exited;
  for (const d of dirs) rmdirSync(d);
  return code;
}

function child(rootfs: string, dirs: string, cmd: string[]): never {
  for (const d of dirs.split(",")) writeFileSync(`${d}/tasks`, "0");
  sys.unshare(C.CLONE_NEWNS | C.CLONE_NEWCGROUP);
  interfaceUp("lo");
  sys.mount(null, "/", null, C.MS_REC | C.MS_PRIVATE);
  sys.mount(rootfs, rootfs, null, C.MS_BIND | C.MS_REC);
  sys.mount("proc", `${rootfs}/proc`, "proc", C.MS_NOSUID | C.MS_NODEV | C.MS_NOEXEC);
  sys.mount("tmpfs", `${rootfs}/dev`, "tmpfs", C.MS_NOSUID, "mode=755");
  sys.mknod(`${rootfs}/dev/null`, C.S_IFCHR | 0o666, 1, 3);
  sys.mount("sysfs", `${rootfs}/sys`, "sysfs", C.MS_RDONLY | C.MS_NOSUID | C.MS_NODEV | C.MS_NOEXEC);
  sys.chdir(rootfs);
  sys.pivotRoot(".", ".");
  sys.umount2(".", C.MNT_DETACH);
  sys.chdir("/");
  sys.sethostname("floor");
  sys.resetSignals();
  sys.execve(cmd[0]!, cmd, ["PATH=/usr/bin:/bin"]);
}

if (stage === "child") child(rest[0]!, rest[1]!, rest.slice(2));
else parent(stage!, rest).then((code) => process.exit(code));
