// mini run --bundle DIR: an OCI bundle run in the foreground — what config.json says is what the
// container gets; bad bundles fail with exit 125, one line naming the problem, and nothing left.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt, mini, type Result } from "../helpers/mini.ts";
import { leftBehind, NOTHING, snapshot, type Snapshot } from "../helpers/leaks.ts";
import { busyboxRootfs } from "../helpers/rootfs.ts";

let base: string; // holds rootfs/ and one directory per bundle, each with root.path "../rootfs"
let before: Snapshot;
let n = 0;

beforeAll(() => {
  ensureBuilt();
  base = mkdtempSync(join(tmpdir(), "mini-bundles-"));
  const cp = spawnSync("cp", ["-a", `${busyboxRootfs()}/.`, `${base}/rootfs`]);
  if (cp.status !== 0) throw new Error(`cp: ${cp.stderr}`);
  before = snapshot();
});

afterAll(() => {
  // Any mount a broken run left is detached first; rm never crosses into a mount.
  const info = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((m) => m?.startsWith(`${base}/`));
  for (const m of info.sort((a, b) => b.length - a.length)) spawnSync("umount", ["-l", m], { stdio: "ignore" });
  spawnSync("rm", ["-rf", "--one-file-system", base], { stdio: "ignore" });
});

type Json = Record<string, any>;

/** A runc-style config for `args`, rootfs at ../rootfs (relative: resolved against the bundle). */
function config(args: string[]): Json {
  return {
    ociVersion: "1.2.0",
    process: { terminal: false, user: { uid: 0, gid: 0 }, args, env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], cwd: "/" },
    root: { path: "../rootfs" },
    hostname: "bundle",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      {
        destination: "/dev",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
      },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    ],
    linux: { namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }] },
  };
}

/** A new bundle directory under `base`; config.json is written as given (object → JSON, string → verbatim). */
function bundle(cfg: Json | string | undefined): string {
  const dir = join(base, `b${++n}`);
  mkdirSync(dir);
  if (cfg !== undefined)
    writeFileSync(join(dir, "config.json"), typeof cfg === "string" ? cfg : JSON.stringify(cfg, null, 2));
  return dir;
}

const runBundle = (dir: string, opts?: Parameters<typeof mini>[1]) => mini(["run", "--bundle", dir], opts);

/** Runs mini with another working directory. */
const miniIn = (cwd: string, args: string[]) => mini(args, { cwd });

/** CAP_SYS_RESOURCE (bit 24) in this process's effective set. */
function hasSysResource(): boolean {
  const eff = readFileSync("/proc/self/status", "utf8").match(/^CapEff:\s*([0-9a-f]+)/m)?.[1] ?? "0";
  return (BigInt(`0x${eff}`) & (1n << 24n)) !== 0n;
}

describe("running a bundle", () => {
  test("runs in the foreground with root.path relative to DIR, and passes the exit code through", async () => {
    const dir = bundle(config(["sh", "-c", "echo out; echo err >&2; cat /etc/os-release >/dev/null && exit 42"]));
    const r = await runBundle(dir);
    expect(r.stdout).toBe("out\n");
    expect(r.stderr).toBe("err\n");
    expect(r.code).toBe(42);
    expect((await runBundle(bundle(config(["true"])))).code).toBe(0);
  });

  test("a relative --bundle is resolved against mini's working directory, root.path against DIR", async () => {
    const dir = bundle(config(["sh", "-c", "echo relative"]));
    const r = await miniIn(base, ["run", "--bundle", dir.slice(base.length + 1)]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("relative\n");
    expect(r.code).toBe(0);
    // -b is the short form; "." works from inside the bundle.
    const dot = await miniIn(dir, ["run", "-b", "."]);
    expect(dot.stdout).toBe("relative\n");
  });

  test("an absolute root.path is used as is", async () => {
    const cfg = config(["cat", "/etc/hostname"]);
    cfg.root.path = `${base}/rootfs`;
    cfg.process.args = ["sh", "-c", "test -x /bin/busybox && echo abs"];
    const r = await runBundle(bundle(cfg));
    expect(r.stdout).toBe("abs\n");
    expect(r.code).toBe(0);
  });

  test("process.env, cwd, user and hostname come from config.json", async () => {
    const cfg = config([
      "sh",
      "-c",
      'echo "$FOO|$LEAKME|$(pwd)|$(id -u):$(id -g):$(id -G)|$(hostname)"; env | cut -d= -f1 | sort | tr "\\n" " "',
    ]);
    cfg.process.env = ["PATH=/bin:/usr/bin", "FOO=bar baz"];
    cfg.process.cwd = "/home/user";
    cfg.process.user = { uid: 1000, gid: 1000, additionalGids: [10, 100] };
    cfg.hostname = "bundlebox";
    const r = await runBundle(bundle(cfg), { env: { LEAKME: "from-host" } });
    expect(r.stderr).toBe("");
    const [first, names] = r.stdout.split("\n");
    // id -G lists the primary group first, then additionalGids.
    expect(first).toBe("bar baz||/home/user|1000:1000:1000 10 100|bundlebox");
    // Only config.json's variables (and the shell's own PWD, SHLVL), plus HOME from the container's
    // passwd as runc adds it when the config has none: nothing from mini's environment.
    expect(
      names
        .trim()
        .split(" ")
        .filter((v) => !["PWD", "SHLVL", "OLDPWD"].includes(v)),
    ).toEqual(["FOO", "HOME", "PATH"]);
    expect(r.code).toBe(0);
  });

  test("process.user.umask is applied", async () => {
    const cfg = config(["sh", "-c", "umask"]);
    cfg.process.user = { uid: 0, gid: 0, umask: 0o077 };
    expect((await runBundle(bundle(cfg))).stdout.trim()).toBe("0077");
  });

  test("mounts from config.json: bind (ro and rw) and tmpfs with options", async () => {
    const host = mkdtempSync(join(tmpdir(), "mini-bundle-vol-"));
    try {
      writeFileSync(`${host}/f`, "from-host\n");
      const cfg = config([
        "sh",
        "-c",
        [
          "cat /ro/f",
          "touch /ro/x 2>/dev/null || echo ro-refused",
          "echo written > /rw/new",
          "touch /scratch/y && echo tmpfs-ok",
          "grep ' /scratch ' /proc/mounts | grep -q size=1024k && echo tmpfs-size",
          "grep ' /ro ' /proc/mounts | grep -q '[ ,]ro[ ,]' && echo ro-flag",
        ].join("; "),
      ]);
      cfg.mounts.push(
        { destination: "/ro", type: "bind", source: host, options: ["rbind", "ro"] },
        { destination: "/rw", type: "bind", source: host, options: ["bind"] },
        { destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["nosuid", "size=1m"] },
      );
      const r = await runBundle(bundle(cfg));
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("from-host\nro-refused\ntmpfs-ok\ntmpfs-size\nro-flag\n");
      expect(r.code).toBe(0);
      expect(readFileSync(`${host}/new`, "utf8")).toBe("written\n");
      expect(existsSync(`${host}/x`)).toBe(false);
    } finally {
      spawnSync("rm", ["-rf", "--one-file-system", host]);
    }
  });

  test("rlimits are applied: RLIMIT_NOFILE 1024/2048", async () => {
    const cfg = config(["sh", "-c", "ulimit -n; ulimit -Hn"]);
    cfg.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 2048 }];
    const r = await runBundle(bundle(cfg));
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("1024\n2048\n");
    expect(r.code).toBe(0);
  });

  test("the bundle's hooks run in their phases; a hook without env gets mini's environment", async () => {
    const log = join(base, `hooks-${n}.log`);
    // startContainer runs inside the container (after pivot_root): it logs to a path of the rootfs.
    const inside = join(base, "rootfs/startContainer.log");
    const hook = (phase: string, env?: string[], file = log) => ({
      path: "/bin/sh",
      args: ["sh", "-c", `read -r s; echo "${phase} $(echo "$s" | grep -o '"status":"[a-z]*"') v=$HOOKVAR" >> ${file}`],
      ...(env && { env }),
    });
    const c = config(["echo", "ran"]);
    c.hooks = {
      prestart: [hook("prestart")],
      createRuntime: [hook("createRuntime")],
      createContainer: [hook("createContainer")],
      startContainer: [hook("startContainer", ["HOOKVAR=own"], "/startContainer.log")],
      poststart: [hook("poststart")],
      poststop: [hook("poststop")],
    };
    const r = await runBundle(bundle(c), { env: { HOOKVAR: "mini's" } });
    expect(r.stdout).toBe("ran\n");
    expect(r.code).toBe(0);
    expect(readFileSync(log, "utf8").trim().split("\n")).toEqual([
      `prestart "status":"creating" v=mini's`,
      `createRuntime "status":"creating" v=mini's`,
      `createContainer "status":"creating" v=mini's`,
      `poststart "status":"running" v=mini's`,
      `poststop "status":"stopped" v=mini's`,
    ]);
    expect(readFileSync(inside, "utf8")).toBe(`startContainer "status":"created" v=own\n`);
    rmSync(inside);
  });

  test("linux.devices: parent directories made, owner set; an existing node (a bind-mounted /dev) kept", async () => {
    const c = config(["sh", "-c", "stat -c '%t:%T %u:%g %a' /dev/deep/er/null1"]);
    c.linux.devices = [
      { path: "/dev/deep/er/null1", type: "c", major: 1, minor: 3, fileMode: 0o620, uid: 1000, gid: 5 },
    ];
    const r = await runBundle(bundle(c));
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("1:3 1000:5 620\n");
    // /dev is the host's (bound): /dev/null exists already and is that device.
    const b = config(["sh", "-c", "echo ok > /dev/null && echo fine"]);
    b.mounts = b.mounts.filter((m: Json) => m.destination !== "/dev");
    b.mounts.push({ destination: "/dev", type: "bind", source: "/dev", options: ["rbind", "nosuid"] });
    b.linux.devices = [{ path: "/dev/null", type: "c", major: 1, minor: 3 }];
    const k = await runBundle(bundle(b));
    expect(k.stderr).toBe("");
    expect(k.stdout).toBe("fine\n");
    // Something else at that path is an error naming it.
    b.linux.devices = [{ path: "/dev/null", type: "c", major: 1, minor: 5 }];
    const e = await runBundle(bundle(b));
    expect(e.code).toBe(125);
    expect(e.stderr.trim()).toBe("mini: linux.devices: /dev/null exists and is not that device");
  });

  test("root.readonly makes / read-only", async () => {
    const cfg = config(["sh", "-c", "touch /x 2>/dev/null || echo read-only"]);
    cfg.root.readonly = true;
    expect((await runBundle(bundle(cfg))).stdout).toBe("read-only\n");
    expect(existsSync(`${base}/rootfs/x`)).toBe(false);
  });

  test("namespaces listed in config.json are new; a missing one is shared with the host", async () => {
    const cfg = config(["sh", "-c", "readlink /proc/self/ns/uts; readlink /proc/self/ns/net"]);
    cfg.linux.namespaces = cfg.linux.namespaces.filter((ns: Json) => ns.type !== "network");
    const r = await runBundle(bundle(cfg));
    const [uts, net] = r.stdout.trim().split("\n");
    const host = (k: string) => spawnSync("readlink", [`/proc/self/ns/${k}`], { encoding: "utf8" }).stdout.trim();
    expect(uts).not.toBe(host("uts"));
    expect(net).toBe(host("net"));
  });
});

describe("bad bundles: exit 125, one line naming the problem, nothing left", () => {
  function expectOneLineError(r: Result, ...words: string[]): void {
    if (r.code !== 125 || r.stderr.trim().split("\n").length !== 1)
      throw new Error(`expected 125 and one line, got ${r.code}:\n${r.stderr}`);
    expect(r.stderr.startsWith("mini: ")).toBe(true);
    for (const w of words) expect(r.stderr).toContain(w);
    expect(r.stdout).toBe("");
  }

  const withConfig = (edit: (c: Json) => void): string => {
    const c = config(["sh", "-c", "echo SHOULD-NOT-RUN"]);
    edit(c);
    return bundle(c);
  };

  test("malformed JSON", async () => {
    const dir = bundle('{ "ociVersion": "1.2.0", "root": ');
    expectOneLineError(await runBundle(dir), `${dir}/config.json`, "invalid JSON");
  });

  test("no config.json", async () => {
    const dir = bundle(undefined);
    expectOneLineError(await runBundle(dir), dir, "config.json");
  });

  test("a bundle directory that doesn't exist", async () => {
    expectOneLineError(await runBundle(`${base}/no-such-bundle`), `${base}/no-such-bundle`);
  });

  test("process.args empty or missing", async () => {
    expectOneLineError(
      await runBundle(
        withConfig((c) => {
          c.process.args = [];
        }),
      ),
      "process.args",
    );
    expectOneLineError(
      await runBundle(
        withConfig((c) => {
          delete c.process.args;
        }),
      ),
      "process.args",
    );
  });

  test("no process, no root, no process.cwd: the missing field is named", async () => {
    expectOneLineError(
      await runBundle(
        withConfig((c) => {
          delete c.process;
        }),
      ),
      "process",
    );
    expectOneLineError(
      await runBundle(
        withConfig((c) => {
          delete c.root;
        }),
      ),
      "root",
    );
    expectOneLineError(
      await runBundle(
        withConfig((c) => {
          delete c.process.cwd;
        }),
      ),
      "process.cwd",
    );
  });

  test("a field of the wrong type: the message names its path", async () => {
    const cases: [(c: Json) => void, string][] = [
      [
        (c) => {
          c.process.user.uid = "0";
        },
        "process.user.uid",
      ],
      [
        (c) => {
          c.process.user.gid = -1;
        },
        "process.user.gid",
      ],
      [
        (c) => {
          c.process.args = ["sh", 1];
        },
        "process.args[1]",
      ],
      [
        (c) => {
          c.process.env = "A=1";
        },
        "process.env",
      ],
      [
        (c) => {
          c.process.cwd = "relative/dir";
        },
        "process.cwd",
      ],
      [
        (c) => {
          c.process.terminal = "no";
        },
        "process.terminal",
      ],
      [
        (c) => {
          c.hostname = 7;
        },
        "hostname",
      ],
      [
        (c) => {
          c.root.path = ["rootfs"];
        },
        "root.path",
      ],
      [
        (c) => {
          c.mounts[1].destination = 7;
        },
        "mounts[1].destination",
      ],
      [
        (c) => {
          c.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: "1024", hard: 1024 }];
        },
        "process.rlimits[0].soft",
      ],
      [
        (c) => {
          c.linux.namespaces = { type: "pid" };
        },
        "linux.namespaces",
      ],
    ];
    for (const [edit, path] of cases) expectOneLineError(await runBundle(withConfig(edit)), `${path}:`);
  });

  test("an unknown namespace type", async () => {
    const dir = withConfig((c) => {
      c.linux.namespaces.push({ type: "bogus" });
    });
    expectOneLineError(await runBundle(dir), "linux.namespaces[5].type", "bogus");
  });

  test("an unknown rlimit type, and soft above hard", async () => {
    expectOneLineError(
      await runBundle(
        withConfig((c) => {
          c.process.rlimits = [{ type: "RLIMIT_BOGUS", soft: 1, hard: 1 }];
        }),
      ),
      "process.rlimits[0].type",
      "RLIMIT_BOGUS",
    );
    expectOneLineError(
      await runBundle(
        withConfig((c) => {
          c.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 2048, hard: 1024 }];
        }),
      ),
      "RLIMIT_NOFILE",
      "soft",
    );
  });

  test.skipIf(hasSysResource())("an rlimit above the hard limit (no CAP_SYS_RESOURCE here)", async () => {
    const dir = withConfig((c) => {
      c.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 1048576, hard: 1048576 }];
    });
    const r = await runBundle(dir);
    expectOneLineError(r, "RLIMIT_NOFILE", "hard limit", "CAP_SYS_RESOURCE");
  });

  test("capabilities: an unknown name is warned about and ignored; one the host can't grant is an error", async () => {
    const c = config(["sh", "-c", "grep CapEff /proc/self/status"]);
    c.process.capabilities = {
      bounding: ["CAP_KILL", "CAP_FUTURE_THING"],
      effective: ["CAP_KILL"],
      permitted: ["CAP_KILL"],
    };
    const r = await runBundle(bundle(c));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('unknown capability "CAP_FUTURE_THING" ignored');
    expect(r.stdout).toMatch(/CapEff:\s+0+20$/m); // CAP_KILL is bit 5
    if (!hasSysResource()) {
      const d = config(["true"]);
      d.process.capabilities = {
        bounding: ["CAP_SYS_RESOURCE"],
        effective: ["CAP_SYS_RESOURCE"],
        permitted: ["CAP_SYS_RESOURCE"],
      };
      const e = await runBundle(bundle(d));
      expect(e.code).toBe(125);
      expect(e.stderr).toContain("CAP_SYS_RESOURCE can't be granted");
    }
  });

  test("large configs: 200 000 arguments fail with a clear line; 5 000 mounts work", async () => {
    const many = config(["sh", "-c", "echo $#", ...Array(200_000).fill("xxxxxxxxxx")]);
    const r = await runBundle(bundle(many));
    expect(r.code).toBe(126);
    expect(r.stderr.trim()).toBe("mini: exec sh: E2BIG (the arguments and environment are more than the kernel takes)");
    const mounts = config(["sh", "-c", "grep -c ' /mnt/m' /proc/self/mountinfo"]);
    for (let i = 0; i < 5000; i++)
      mounts.mounts.push({ destination: `/mnt/m${i}`, type: "tmpfs", source: "tmpfs", options: ["size=64k"] });
    try {
      const m = await runBundle(bundle(mounts));
      expect(m.stderr).toBe("");
      expect(m.stdout).toBe("5000\n");
    } finally {
      rmSync(join(base, "rootfs/mnt"), { recursive: true, force: true }); // the mount points the run made
    }
  });

  test("integers out of their type's range: 1e300 or 2^32+5 as a uid never run as uid 0 or 5", async () => {
    for (const uid of [1e300, 4294967301]) {
      const c = config(["id", "-u"]);
      c.process.user.uid = uid;
      const r = await runBundle(bundle(c));
      expect(r.code).toBe(125);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/process\.user\.uid: .* is out of range for uint32/);
    }
  });

  test("sysctls: only namespaced ones, only in the container's own namespace; the host's values never change", async () => {
    const host = (k: string) => readFileSync(`/proc/sys/${k.replace(/\./g, "/")}`, "utf8");
    const keys = ["fs.lease-break-time", "kernel.core_pattern", "fs.mqueue.queues_max", "net.ipv4.ping_group_range"];
    const was = Object.fromEntries(keys.map((k) => [k, host(k)]));
    const withSysctl = (sysctl: Record<string, string>, namespaces?: Json[]) => {
      const c = config(["sh", "-c", "cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward"]);
      c.linux.sysctl = sysctl;
      if (namespaces) c.linux.namespaces = namespaces;
      return bundle(c);
    };
    const noNetNoIpc = [{ type: "pid" }, { type: "uts" }, { type: "mount" }];
    for (const [sysctl, namespaces, why] of [
      [{ "fs.lease-break-time": "46" }, undefined, "fs.lease-break-time is not namespaced"],
      [{ "kernel.core_pattern": "|/tmp/x" }, undefined, "kernel.core_pattern is not namespaced"],
      [{ "fs.mqueue.queues_max": "100" }, noNetNoIpc, "fs.mqueue.queues_max needs an ipc namespace"],
      [{ "net.ipv4.ping_group_range": "0 0" }, noNetNoIpc, "net.ipv4.ping_group_range needs a network namespace"],
      [{ "kernel.hostname": "x" }, undefined, "kernel.hostname is not allowed"],
    ] as const) {
      const r = await runBundle(withSysctl(sysctl, namespaces as Json[] | undefined));
      expect(r.code).toBe(125);
      expect(r.stderr).toContain(why);
      expect(r.stderr.trim().split("\n").length).toBe(1);
    }
    for (const k of keys) expect(host(k)).toBe(was[k]);
    // In its own ipc and network namespaces a container may set them: seen inside, not on the host.
    const shmmax = host("kernel.shmmax");
    const ok = await runBundle(withSysctl({ "kernel.shmmax": "1234567", "net.ipv4.ip_forward": "1" }));
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe("1234567\n1\n");
    expect(host("kernel.shmmax")).toBe(shmmax);
  });

  test("a missing rootfs directory", async () => {
    const dir = withConfig((c) => {
      c.root.path = "no-rootfs-here";
    });
    expectOneLineError(await runBundle(dir), `${dir}/no-rootfs-here`, "no such directory");
  });

  test("--bundle combined with a ROOTFS operand (or a COMMAND)", async () => {
    const dir = bundle(config(["true"]));
    expectOneLineError(await mini(["run", "--bundle", dir, `${base}/rootfs`, "true"]), "--bundle");
    expectOneLineError(await mini(["run", "--bundle", dir, "echo"]), "--bundle");
  });
});

test("nothing is left behind", async () => {
  expect(await leftBehind(before)).toEqual(NOTHING);
});
