// applyProcessSecurity changes the calling process for good, so each case runs it in a fresh
// `bun` child that prints what the kernel reports, then (optionally) execs `cat /proc/self/status`
// to show what survives execve.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Process } from "../../src/config/types.ts";
import { capsToMask, DEFAULT_CAPS } from "../../src/config/capabilities.ts";
import { run as runCommand } from "../helpers/mini.ts";

const SECURITY = resolve(import.meta.dir, "../../src/runtime/security.ts");
const CALLS = resolve(import.meta.dir, "../../src/sys/calls.ts");
const isRoot = process.getuid?.() === 0;

const SCRIPT = `
import { readFileSync, writeSync } from "node:fs";
import { applyProcessSecurity } from ${JSON.stringify(SECURITY)};
import { execve, getrlimit, umask } from ${JSON.stringify(CALLS)};
const proc = JSON.parse(process.argv[2]);
const exec = process.argv[3] === "exec";
try {
  applyProcessSecurity(proc);
} catch (e) {
  writeSync(2, (e instanceof Error ? e.message : String(e)) + "\\n");
  process.exit(125);
}
const nofile = getrlimit(7);
const mask = umask(0); umask(mask);
const out = {
  status: readFileSync("/proc/self/status", "utf8"),
  thread: readFileSync("/proc/thread-self/status", "utf8"),
  nofile: [String(nofile.soft), String(nofile.hard)],
  umask: mask,
};
writeSync(1, JSON.stringify(out) + "\\n");
if (exec) execve("/bin/cat", ["cat", "/proc/self/status"], []);
`;

type Fields = Record<string, string>;
const fields = (status: string): Fields =>
  Object.fromEntries(
    status
      .split("\n")
      .filter((l) => l.includes(":"))
      .map((l) => {
        const i = l.indexOf(":");
        return [l.slice(0, i), l.slice(i + 1).trim()];
      }),
  );
const capHex = (m: bigint) => m.toString(16).padStart(16, "0");

let dir: string, script: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "mini-security-"));
  script = join(dir, "apply.ts");
  writeFileSync(script, SCRIPT);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(p: Process, exec = false) {
  const { code, stdout, stderr } = await runCommand([process.execPath, script, JSON.stringify(p), exec ? "exec" : ""], {
    inheritEnv: true,
  });
  const [first = "", ...rest] = stdout.split("\n");
  const before = first
    ? (JSON.parse(first) as { status: string; thread: string; nofile: string[]; umask: number })
    : undefined;
  return { code, stderr, before, after: exec && rest.length ? fields(rest.join("\n")) : undefined };
}

const base = (over: Partial<Process>): Process => ({ user: { uid: 0, gid: 0 }, cwd: "/", ...over });
const noRaw = DEFAULT_CAPS.filter((c) => c !== "CAP_NET_RAW");
const noRawMask = capHex(capsToMask(noRaw));

describe.skipIf(!isRoot)("applyProcessSecurity in a child", () => {
  test("user 1000:1000 with groups, default caps minus NET_RAW, no_new_privs, nofile 1024:2048", async () => {
    const r = await run(
      base({
        user: { uid: 1000, gid: 1000, additionalGids: [1000, 10, 29], umask: 0o027 },
        capabilities: { bounding: noRaw, effective: noRaw, permitted: noRaw },
        noNewPrivileges: true,
        rlimits: [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 2048 }],
      }),
      true,
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const s = fields(r.before!.status);
    expect(s.Uid).toBe("1000\t1000\t1000\t1000");
    expect(s.Gid).toBe("1000\t1000\t1000\t1000");
    expect(s.Groups).toBe("10 29 1000");
    expect(s.CapBnd).toBe(noRawMask);
    // keepcaps kept permitted across setresuid; capset restored effective.
    expect(s.CapPrm).toBe(noRawMask);
    expect(s.CapEff).toBe(noRawMask);
    expect(s.CapInh).toBe(capHex(0n));
    expect(s.CapAmb).toBe(capHex(0n));
    expect(s.NoNewPrivs).toBe("1");
    expect(r.before!.nofile).toEqual(["1024", "2048"]);
    expect(r.before!.umask).toBe(0o027);
    // JS runs on the thread-group leader, so /proc/self (leader) and /proc/thread-self agree.
    expect(fields(r.before!.thread).CapEff).toBe(noRawMask);
    // execve by uid 1000 of a file without file caps clears permitted and effective (docker: CapEff=0).
    const a = r.after!;
    expect(a.Uid).toBe("1000\t1000\t1000\t1000");
    expect(a.Groups).toBe("10 29 1000");
    expect(a.CapBnd).toBe(noRawMask);
    expect(a.CapPrm).toBe(capHex(0n));
    expect(a.CapEff).toBe(capHex(0n));
    expect(a.NoNewPrivs).toBe("1");
  });

  test("root keeps the set across execve; bounding limits it", async () => {
    const r = await run(base({ capabilities: { bounding: noRaw, effective: noRaw, permitted: noRaw } }), true);
    expect(r.code).toBe(0);
    expect(r.after!.CapEff).toBe(noRawMask);
    expect(r.after!.CapPrm).toBe(noRawMask);
    expect(r.after!.CapBnd).toBe(noRawMask);
    expect(r.after!.Groups).toBe("");
    expect(r.after!.NoNewPrivs).toBe("0");
  });

  test("ambient capabilities reach a non-root program through execve", async () => {
    const bind = ["CAP_NET_BIND_SERVICE"];
    const r = await run(
      base({
        user: { uid: 1000, gid: 1000 },
        capabilities: {
          bounding: DEFAULT_CAPS as string[],
          effective: bind,
          permitted: bind,
          inheritable: bind,
          ambient: bind,
        },
      }),
      true,
    );
    expect(r.stderr).toBe("");
    const m = capHex(1n << 10n);
    expect(r.after!.CapAmb).toBe(m);
    expect(r.after!.CapEff).toBe(m);
    expect(r.after!.CapPrm).toBe(m);
  });

  test("without a capabilities object a non-root user ends with none", async () => {
    const r = await run(base({ user: { uid: 1000, gid: 1000 } }));
    expect(r.code).toBe(0);
    const s = fields(r.before!.status);
    expect(s.CapPrm).toBe(capHex(0n));
    expect(s.CapEff).toBe(capHex(0n));
  });

  test("a hard rlimit above the current one fails with a clear message", async () => {
    const r = await run(base({ rlimits: [{ type: "RLIMIT_NOFILE", soft: 1048576, hard: 1048576 }] }));
    expect(r.code).not.toBe(0);
    const hard = (await Bun.file("/proc/self/limits").text())
      .split("\n")
      .find((l) => l.startsWith("Max open files"))!
      .split(/\s{2,}/)[2];
    if (Number(hard) >= 1048576) return; // a host with CAP_SYS_RESOURCE can raise it
    expect(r.stderr.trim()).toBe(
      `setrlimit RLIMIT_NOFILE 1048576:1048576: EPERM (hard limit is ${hard}; raising it needs CAP_SYS_RESOURCE)`,
    );
  });

  test("an ambient capability that is not inheritable is warned about by name and not raised (runc's)", async () => {
    const bind = ["CAP_NET_BIND_SERVICE"];
    const r = await run(
      base({ capabilities: { bounding: bind, effective: bind, permitted: bind, ambient: bind } }),
      true,
    );
    expect(r.code).toBe(0);
    expect(r.stderr.trim()).toMatch(/^mini: warning: can't raise ambient capability CAP_NET_BIND_SERVICE: .*EPERM/);
    expect(fields(r.before!.status).CapAmb).toBe(capHex(0n));
  });

  test("soft above hard and unknown types are user errors", async () => {
    let r = await run(base({ rlimits: [{ type: "RLIMIT_NOFILE", soft: 2048, hard: 1024 }] }));
    expect(r.stderr.trim()).toBe("setrlimit RLIMIT_NOFILE 2048:1024: soft limit is above the hard limit");
    r = await run(base({ rlimits: [{ type: "RLIMIT_BOGUS", soft: 1, hard: 1 }] }));
    expect(r.stderr.trim()).toBe("unknown rlimit type: RLIMIT_BOGUS");
  });
});
