// docker's default seccomp profile on every docker-style container: the escapes it closes
// (the host keyring, user+mount+cgroup namespaces to lift cgroup limits, io_uring, AF_VSOCK,
// perf_event_open, personality flags), seccomp=unconfined to opt out, exec getting it too, and
// OCI bundles left with exactly what their config says.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { leftBehind, NOTHING, type Snapshot, snapshot } from "../helpers/leaks.ts";
import { ensureBuilt, mini } from "../helpers/mini.ts";
import { installProbe, parseProbe } from "../helpers/probe.ts";
import { cleanupRootfses, makeRootfs } from "../helpers/rootfs.ts";

let rootfs: string;
let before: Snapshot;
const CLOSED = [
  "add_key",
  "keyctl",
  "request_key",
  "io_uring_setup",
  "vsock",
  "perf_event_open",
  "personality",
  "unshare_userns",
];

beforeAll(() => {
  ensureBuilt();
  rootfs = makeRootfs();
  installProbe(rootfs);
  before = snapshot();
});
afterAll(cleanupRootfses);

describe("default seccomp profile", () => {
  test("a default container has a filter and the escapes are closed; ordinary calls work", async () => {
    const r = await mini([
      "run",
      rootfs,
      "sh",
      "-c",
      `grep ^Seccomp: /proc/self/status; /probe getpid inet ${CLOSED.join(" ")}`,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Seccomp:\s+2$/m);
    const got = parseProbe(r.stdout.replace(/^Seccomp.*\n/m, ""));
    expect(got.getpid).toBe("0");
    expect(got.inet).toBe("0");
    for (const name of CLOSED) expect(`${name}=${got[name]}`).toBe(`${name}=EPERM`);
  });

  test("seccomp=unconfined opts out: no filter, the calls reach the kernel", async () => {
    const r = await mini([
      "run",
      "--security-opt",
      "seccomp=unconfined",
      rootfs,
      "sh",
      "-c",
      "grep ^Seccomp: /proc/self/status; /probe unshare_userns keyctl",
    ]);
    expect(r.stdout).toMatch(/^Seccomp:\s+0$/m);
    const got = parseProbe(r.stdout.replace(/^Seccomp.*\n/m, ""));
    expect(got.unshare_userns).toBe("0");
    expect(got.keyctl).toBe("0");
  });

  test("with CAP_SYS_ADMIN the namespace calls are allowed again (docker's capability rules)", async () => {
    const r = await mini(["run", "--cap-add", "SYS_ADMIN", rootfs, "/probe", "unshare_userns", "keyctl"]);
    const got = parseProbe(r.stdout);
    expect(got.unshare_userns).toBe("0");
    expect(got.keyctl).toBe("EPERM");
  });

  test("exec gets the container's filter", async () => {
    const name = `sc-${process.pid}`;
    expect((await mini(["run", "-d", "--name", name, rootfs, "sleep", "30"])).code).toBe(0);
    try {
      const r = await mini(["exec", name, "/probe", "unshare_userns", "getpid"]);
      expect(parseProbe(r.stdout)).toEqual({ unshare_userns: "EPERM", getpid: "0" });
    } finally {
      await mini(["rm", "-f", name]);
    }
  });

  test("an OCI bundle without linux.seccomp runs without a filter", async () => {
    const bundle = join(rootfs, "..", `bundle-${process.pid}`);
    mkdirSync(bundle, { recursive: true });
    const spec = JSON.parse((await mini(["spec"])).stdout);
    spec.root = { path: rootfs };
    spec.process.terminal = false;
    spec.process.args = ["sh", "-c", "grep ^Seccomp: /proc/self/status"];
    writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
    const r = await mini(["run", "--bundle", bundle]);
    expect(r.stdout).toMatch(/^Seccomp:\s+0$/m);
  });

  test("nothing is left behind", async () => {
    expect(await leftBehind(before)).toEqual(NOTHING);
  });
});
