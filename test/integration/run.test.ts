// mini run ROOTFS …: what the container sees, exit codes, and that nothing is left behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, readlinkSync, writeFileSync, mkdtempSync, rmSync, existsSync } from "node:fs";
import { hostname as hostHostname, tmpdir } from "node:os";
import { ensureBuilt, mini, sh } from "../helpers/mini.ts";
import { leftBehind, NOTHING, snapshot, type Snapshot } from "../helpers/leaks.ts";
import { cleanupRootfses, makeRootfs } from "../helpers/rootfs.ts";

let rootfs: string;
let before: Snapshot;

beforeAll(() => {
  ensureBuilt();
  rootfs = makeRootfs();
  before = snapshot();
});

afterAll(() => {
  cleanupRootfses();
});

describe("isolation", () => {
  test("the command is PID 1 and sees only its own processes", async () => {
    const r = await sh(rootfs, "echo $$; ps -o pid,comm");
    expect(r.code).toBe(0);
    const [pid, , ...procs] = r.stdout.trim().split("\n");
    expect(pid).toBe("1");
    expect(procs.length).toBeLessThanOrEqual(2);
  });

  test("argv after ROOTFS belongs to the command", async () => {
    const r = await mini(["run", rootfs, "sh", "-c", 'echo "$0|$1"', "zero", "--help"]);
    expect(r.stdout).toBe("zero|--help\n");
  });

  test("hostname changes only inside", async () => {
    // sethostname needs CAP_SYS_ADMIN, which docker's default set leaves out (as docker does).
    const r = await sh(rootfs, "hostname x; hostname; cat /etc/hostname", ["--cap-add", "SYS_ADMIN"]);
    // /etc/hostname keeps docker's default, the container's short id.
    expect(r.stdout).toMatch(/^x\n[0-9a-f]{12}\n$/);
    expect(hostHostname()).not.toBe("x");
    expect((await sh(rootfs, "hostname", ["--hostname", "box1"])).stdout).toBe("box1\n");
  });

  test("the network has only lo", async () => {
    const r = await sh(rootfs, "ip -o link | cut -d: -f2");
    expect(r.stdout.trim()).toBe("lo");
  });

  test("namespaces differ from the host's", async () => {
    const kinds = ["pid", "mnt", "uts", "ipc", "net", "cgroup"];
    const r = await sh(rootfs, kinds.map((k) => `readlink /proc/self/ns/${k}`).join("; "));
    const inside = r.stdout.trim().split("\n");
    expect(inside.length).toBe(kinds.length);
    kinds.forEach((k, i) => {
      expect(inside[i]).not.toBe(readlinkSync(`/proc/self/ns/${k}`));
    });
  });

  test("--network host shares the host's network namespace", async () => {
    const r = await sh(rootfs, "readlink /proc/self/ns/net", ["--network", "host"]);
    expect(r.stdout.trim()).toBe(readlinkSync("/proc/self/ns/net"));
  });

  test("proc, sys, dev and friends are set up", async () => {
    const r = await sh(
      rootfs,
      "ls /dev | tr '\\n' ' '; echo; cat /proc/self/cgroup | head -1; ls -d /dev/pts/ptmx /dev/shm /dev/mqueue",
    );
    for (const d of [
      "null",
      "zero",
      "full",
      "random",
      "urandom",
      "tty",
      "ptmx",
      "fd",
      "stdin",
      "stdout",
      "stderr",
      "pts",
      "shm",
    ])
      expect(r.stdout).toContain(d);
    expect(r.code).toBe(0);
    const w = await sh(
      rootfs,
      "touch /sys/x 2>&1; echo 1 > /proc/sys/kernel/ostype 2>&1; wc -c < /proc/timer_list; ls /sys/firmware | wc -l",
    );
    expect(w.stdout).toContain("Read-only file system");
    expect(w.stdout.trim().split("\n").slice(-2)).toEqual(["0", "0"]);
  });

  test("only fds 0-2 reach the command", async () => {
    // Exec'd directly (a shell opens fds of its own for pipelines): 0-2, plus 3, ls's own
    // handle on the directory it lists.
    const r = await mini(["run", rootfs, "ls", "/proc/self/fd"]);
    expect(r.stdout.split("\n").filter(Boolean)).toEqual(["0", "1", "2", "3"]);
  });

  test("the image's own /etc files stay untouched", async () => {
    const hostsBefore = existsSync(`${rootfs}/etc/hosts`) ? readFileSync(`${rootfs}/etc/hosts`, "utf8") : undefined;
    const r = await sh(rootfs, "grep -c localhost /etc/hosts; test -f /etc/resolv.conf && echo resolv");
    expect(r.stdout).toContain("resolv");
    const hostsAfter = existsSync(`${rootfs}/etc/hosts`) ? readFileSync(`${rootfs}/etc/hosts`, "utf8") : undefined;
    if (hostsBefore !== undefined) expect(hostsAfter).toBe(hostsBefore);
  });
});

describe("process setup", () => {
  test("default environment", async () => {
    const r = await sh(rootfs, "env | sort");
    expect(r.stdout).toContain("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    expect(r.stdout).toMatch(/^HOSTNAME=[0-9a-f]{12}$/m); // docker's default: the short id
    expect(r.stdout).toContain("HOME=/root");
    expect(r.stdout).not.toContain("TERM=");
  });

  test("-e, --env-file", async () => {
    const dir = mkdtempSync(`${tmpdir()}/mini-env-`);
    try {
      writeFileSync(`${dir}/env`, "# comment\nFROM_FILE=1\nBOTH=file\n");
      const r = await mini([
        "run",
        "--env-file",
        `${dir}/env`,
        "-e",
        "A=1",
        "-e",
        "BOTH=flag",
        "--env",
        "B=two words",
        rootfs,
        "sh",
        "-c",
        "echo $A $FROM_FILE $BOTH $B",
      ]);
      expect(r.stdout).toBe("1 1 flag two words\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("-w is created if missing; a file is an error", async () => {
    expect((await sh(rootfs, "pwd", ["-w", "/new/dir"])).stdout).toBe("/new/dir\n");
    const r = await sh(rootfs, "pwd", ["-w", "/etc/passwd"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("not a directory");
  });

  test("-u by name and by number, with supplementary groups", async () => {
    const r = await sh(rootfs, "id", ["-u", "user"]);
    expect(r.stdout).toContain("uid=1000(user) gid=1000(user)");
    expect(r.stdout).toContain("10(wheel)");
    expect((await sh(rootfs, "id -u; id -g", ["-u", "1234:5678"])).stdout).toBe("1234\n5678\n");
    const bad = await sh(rootfs, "id", ["-u", "nosuchuser"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain("nosuchuser");
  });

  test("capabilities: docker's default set, --cap-add/--cap-drop, no_new_privs", async () => {
    const r = await sh(rootfs, "grep -E 'Cap(Eff|Bnd)|NoNewPrivs' /proc/self/status");
    expect(r.stdout).toContain("CapEff:\t00000000a80425fb");
    expect(r.stdout).toContain("NoNewPrivs:\t0");
    const d = await sh(rootfs, "grep CapEff /proc/self/status", ["--cap-drop", "NET_RAW", "--cap-add", "sys_admin"]);
    expect(d.stdout).toContain("CapEff:\t00000000a82405fb");
    const n = await sh(rootfs, "grep NoNewPrivs /proc/self/status", ["--security-opt", "no-new-privileges"]);
    expect(n.stdout).toContain("NoNewPrivs:\t1");
  });

  test("signals are back to default and the mask is empty", async () => {
    // Exec'd directly: a shell would set its own dispositions.
    const r = await mini(["run", rootfs, "grep", "-E", "Sig(Blk|Ign)", "/proc/self/status"]);
    expect(r.stdout).toContain("SigBlk:\t0000000000000000");
    expect(r.stdout).toContain("SigIgn:\t0000000000000000");
  });
});

describe("mounts", () => {
  test("-v binds, :ro is read-only, --tmpfs, --read-only", async () => {
    const dir = mkdtempSync(`${tmpdir()}/mini-vol-`);
    try {
      writeFileSync(`${dir}/f`, "host\n");
      const r = await mini([
        "run",
        "-v",
        `${dir}:/data`,
        "-v",
        `${dir}:/ro:ro`,
        "--tmpfs",
        "/scratch",
        rootfs,
        "sh",
        "-c",
        "cat /data/f; echo c > /data/new; touch /ro/x 2>&1; touch /scratch/y && echo tmpfs-ok",
      ]);
      expect(r.stdout).toContain("host");
      expect(r.stdout).toContain("Read-only file system");
      expect(r.stdout).toContain("tmpfs-ok");
      expect(readFileSync(`${dir}/new`, "utf8")).toBe("c\n");
      const ro = await sh(rootfs, "touch /x 2>&1; echo done", ["--read-only"]);
      expect(ro.stdout).toContain("Read-only file system");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--no-pivot (chroot after moving the rootfs over /) runs a rootfs on ramfs", async () => {
    const dir = mkdtempSync(`${tmpdir()}/mini-ramfs-`);
    try {
      expect(Bun.spawnSync(["mount", "-t", "ramfs", "ramfs", dir]).exitCode).toBe(0);
      expect(Bun.spawnSync(["cp", "-a", `${rootfs}/.`, dir]).exitCode).toBe(0);
      const r = await mini([
        "run",
        "--no-pivot",
        dir,
        "sh",
        "-c",
        "echo $$; ls /bin/busybox; ls /work /tmp/mini-ramfs-* 2>&1 | head -1",
      ]);
      expect(r.stdout).toStartWith("1\n/bin/busybox\n");
      expect(r.stdout).toContain("No such file");
    } finally {
      Bun.spawnSync(["umount", "-l", dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("container writes land in ROOTFS", async () => {
    await sh(rootfs, "echo written > /root/out");
    expect(readFileSync(`${rootfs}/root/out`, "utf8")).toBe("written\n");
  });

  test("a symlink in the image can't steer a volume onto the host", async () => {
    const dir = mkdtempSync(`${tmpdir()}/mini-esc-`);
    const victim = mkdtempSync(`${tmpdir()}/mini-victim-`);
    try {
      const r1 = await sh(rootfs, `ln -sf ${victim} /escape`);
      expect(r1.code).toBe(0);
      writeFileSync(`${dir}/payload`, "x");
      const r = await mini(["run", "-v", `${dir}:/escape/sub`, rootfs, "sh", "-c", "ls /escape/sub"]);
      expect(r.stdout).toContain("payload");
      // The mount landed inside the rootfs (at <rootfs>/<victim>/sub), never on the host's victim dir.
      expect(existsSync(`${victim}/sub`)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(victim, { recursive: true, force: true });
    }
  });
});

describe("exit status", () => {
  test("the command's own code", async () => {
    expect((await sh(rootfs, "exit 3")).code).toBe(3);
    expect((await sh(rootfs, "true")).code).toBe(0);
  });

  test("128+N when killed by signal N", async () => {
    expect((await sh(rootfs, "kill -USR1 $$", ["--init"])).code).toBe(138);
  });

  test("127 not found, 126 not executable, each with one line", async () => {
    const nf = await mini(["run", rootfs, "no-such-cmd"]);
    expect(nf.code).toBe(127);
    expect(nf.stderr).toContain("no-such-cmd");
    expect(nf.stderr.trim().split("\n").length).toBe(1);
    const ne = await mini(["run", rootfs, "/etc/passwd"]);
    expect(ne.code).toBe(126);
    expect(ne.stderr).toContain("permission denied");
  });

  test("bad input: exit 125 with one clear line", async () => {
    const cases: [string[], string][] = [
      [["run", "/no/such/rootfs", "true"], "no such directory"],
      [["run", "/etc/passwd", "true"], "not a directory"],
      [["run", "-m", "lots", rootfs, "true"], "lots"],
      [["run", "--cpus", "abc", rootfs, "true"], "abc"],
      [["run", "--bogus", rootfs, "true"], "unknown flag: --bogus"],
      [["run", rootfs], "COMMAND"],
    ];
    for (const [args, msg] of cases) {
      const r = await mini(args);
      expect(r.code).toBe(125);
      expect(r.stderr).toContain(msg);
      expect(r.stderr.trim().split("\n").length).toBe(1);
    }
  });
});

describe("--init", () => {
  test("mini's init is PID 1, forwards signals and reaps orphans", async () => {
    const r = await sh(rootfs, "echo $$; (sleep 0.2 &); sleep 0.6; ps -o stat,comm | grep -c '^Z' || true", ["--init"]);
    const [pid, zombies] = r.stdout.trim().split("\n");
    expect(pid).not.toBe("1");
    expect(zombies).toBe("0");
    expect(r.code).toBe(0);
  });

  test("PID 1 is a small init that shows no host path (not a Bun runtime of mini)", async () => {
    const r = await sh(rootfs, "readlink /proc/1/exe; cat /proc/1/comm; awk '/^VmRSS/ {print $2}' /proc/1/status", [
      "--init",
    ]);
    const [exe, comm, rssKiB] = r.stdout.trim().split("\n");
    expect(exe).toBe("/memfd:mini-shim (deleted)");
    expect(comm).toBe("mini-init");
    expect(Number(rssKiB)).toBeLessThan(4096);
  });
});

test("nothing is left behind", async () => {
  expect(await leftBehind(before)).toEqual(NOTHING);
});
