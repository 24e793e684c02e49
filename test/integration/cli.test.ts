// The command line as a user meets it: --version, help, unknown commands, `mini spec`, --log-level,
// and what happens without root.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt, MINI, mini, type Result, run } from "../helpers/mini.ts";
import { leftBehind, NOTHING, snapshot, type Snapshot } from "../helpers/leaks.ts";
import { busyboxRootfs, cleanupRootfses, makeRootfs } from "../helpers/rootfs.ts";
import { runArgs } from "../../src/cli/commands/run.ts";
import pkg from "../../package.json" with { type: "json" };

let rootfs: string;
let before: Snapshot;
const tempDirs: string[] = [];

/** A temporary directory under $TMPDIR, removed in afterAll (never across a mount). */
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

const lines = (s: string) => s.trim().split("\n").filter(Boolean);
const ANSI = /\x1b\[/;

/** Exit 125 and exactly one line on stderr, which contains every one of `words`. */
function expectOneLineError(r: Result, ...words: string[]): void {
  expect(r.code).toBe(125);
  expect(lines(r.stderr).length).toBe(1);
  expect(r.stderr.startsWith("mini: ")).toBe(true);
  for (const w of words) expect(r.stderr).toContain(w);
}

beforeAll(() => {
  ensureBuilt();
  rootfs = makeRootfs();
  before = snapshot();
});

afterAll(() => {
  cleanupRootfses();
  for (const dir of tempDirs) spawnSync("rm", ["-rf", "--one-file-system", dir], { stdio: "ignore" });
});

describe("version and help", () => {
  test("--version and -v print the version and exit 0", async () => {
    for (const flag of ["--version", "-v"]) {
      const r = await mini([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(
        new RegExp(`^mini version ${pkg.version.replace(/\./g, "\\.")}\ncommit: \\S+\nspec: 1\\.2\\.1\n$`),
      );
      expect(r.stderr).toBe("");
    }
  });

  test("--help lists the global options and the commands, without colour codes in a pipe", async () => {
    const r = await mini(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).not.toMatch(ANSI);
    expect(r.stdout).toContain("USAGE");
    for (const [flag, desc] of [
      ["--log-level", "Log detail on stderr"],
      ["--version", "Print the version"],
    ]) {
      const line = r.stdout.split("\n").find((l) => l.includes(flag));
      expect(line).toBeDefined();
      expect(line).toContain(desc);
    }
    expect(r.stdout).toMatch(/^\s*run\s+Run a command in a new container/m);
    expect(r.stdout).toMatch(/^\s*spec\s+Print a default OCI config\.json/m);
  });

  test("`mini help` and plain `mini` print the same help", async () => {
    const ref = await mini(["--help"]);
    for (const args of [["help"], []]) {
      const r = await mini(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(ref.stdout);
    }
  });

  test("run --help lists every run option with its description", async () => {
    const r = await mini(["run", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).not.toMatch(ANSI);
    expect(r.stdout).toContain("mini run");
    const out = r.stdout.split("\n");
    const options = Object.entries(runArgs).filter(([, d]) => d.type !== "positional");
    // The table itself must not have shrunk: docker's core options are all there.
    for (const core of [
      "interactive",
      "tty",
      "env",
      "volume",
      "workdir",
      "user",
      "memory",
      "cpus",
      "pids-limit",
      "bundle",
      "log-level",
      "init",
      "rm",
    ]) {
      expect(options.map(([n]) => n)).toContain(core);
    }
    for (const [name, def] of options) {
      const line = out.find((l) => new RegExp(`--${name}(?![\\w-])`).test(l));
      if (!line) throw new Error(`run --help does not list --${name}`);
      expect(def.description?.length ?? 0).toBeGreaterThan(0);
      expect(line).toContain(def.description!);
      const alias = (def as { alias?: string }).alias;
      if (alias) expect(line).toContain(`-${alias},`);
    }
  });

  test("--help after a run option still prints help, and runs nothing", async () => {
    const r = await mini(["run", "-e", "A=1", "--help", rootfs, "sh", "-c", "echo ran"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--bundle");
    expect(r.stdout).not.toContain("ran\n");
  });
});

describe("errors", () => {
  test("an unknown command: 125 and one line", async () => {
    const r = await mini(["frobnicate"]);
    expectOneLineError(r, "frobnicate");
    expect(r.stdout).toBe("");
  });

  test("an unknown global flag: 125 and one line", async () => {
    expectOneLineError(await mini(["--frob", "run", rootfs, "true"]), "--frob");
  });

  test("--log-level with a bad value: 125 and one line naming it, before or after the verb", async () => {
    for (const args of [
      ["run", "--log-level", "loud", rootfs, "true"],
      ["--log-level", "loud", "run", rootfs, "true"],
      ["--log-level=loud", "--version"],
    ]) {
      const r = await mini(args);
      expectOneLineError(r, "loud", "--log-level");
      expect(r.stdout).toBe("");
    }
  });

  test("--log-level without a value: 125", async () => {
    expectOneLineError(await mini(["--log-level"]), "--log-level");
  });
});

describe("mini spec", () => {
  test("prints a valid config.json that `mini run --bundle` accepts", async () => {
    const r = await mini(["spec"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const config = JSON.parse(r.stdout);
    expect(typeof config.ociVersion).toBe("string");
    expect(config.root.path).toBe("rootfs");
    expect(Array.isArray(config.process.args)).toBe(true);
    expect(config.process.cwd).toBe("/");
    expect(Array.isArray(config.linux.namespaces)).toBe(true);

    const bundle = tempDir("mini-bundle-");
    const cp = spawnSync("cp", ["-a", `${busyboxRootfs()}/.`, `${bundle}/rootfs`]);
    expect(cp.status).toBe(0);
    config.process.args = ["sh", "-c", "echo from-spec; hostname; ulimit -n"];
    config.process.terminal = false;
    writeFileSync(`${bundle}/config.json`, JSON.stringify(config, null, 2));
    const run = await mini(["run", "--bundle", bundle]);
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("from-spec\nmini\n1024\n");
    expect(run.code).toBe(0);
    // The default spec's root is read-only: the image stays as it was.
    config.process.args = ["sh", "-c", "touch /x 2>/dev/null || echo read-only"];
    writeFileSync(`${bundle}/config.json`, JSON.stringify(config));
    const w = await mini(["run", "--bundle", bundle]);
    expect(w.stdout).toBe("read-only\n");
    expect(existsSync(`${bundle}/rootfs/x`)).toBe(false);
  });

  test("--bundle DIR writes DIR/config.json, then refuses to overwrite it", async () => {
    const dir = tempDir("mini-spec-");
    const printed = (await mini(["spec"])).stdout;
    const r = await mini(["spec", "--bundle", dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(readFileSync(`${dir}/config.json`, "utf8")).toBe(printed);

    writeFileSync(`${dir}/config.json`, "mine\n");
    const again = await mini(["spec", "-b", dir]);
    expectOneLineError(again, "config.json", "already exists");
    expect(readFileSync(`${dir}/config.json`, "utf8")).toBe("mine\n");
  });

  test("--bundle to a missing directory: 125, one line, nothing created", async () => {
    const dir = join(tempDir("mini-spec-"), "missing");
    const r = await mini(["spec", "--bundle", dir]);
    expectOneLineError(r, dir);
    expect(existsSync(dir)).toBe(false);
  });
});

describe("--log-level debug", () => {
  // A step line ends with its duration: "… (0.12 ms)".
  const timed = /\(\d+\.\d+ ms\)$/;

  async function debugRun(args: string[]): Promise<{ r: Result; log: string[] }> {
    const r = await mini(args);
    return { r, log: lines(r.stderr) };
  }

  function expectSetupSteps(log: string[]): void {
    const find = (re: RegExp, what: string) => {
      const line = log.find((l) => re.test(l));
      if (!line) throw new Error(`no ${what} line in the debug log:\n${log.join("\n")}`);
      return line;
    };
    // Namespace flags, then the clone of the child stage, timed.
    expect(find(/namespaces: .*0x[0-9a-f]+/, "namespace flags")).toMatch(/unshare 0x[0-9a-f]+/);
    expect(find(/spawn child stage pid \d+/, "clone")).toMatch(timed);
    expect(find(/\bmount proc on \/proc\b/, "mount")).toMatch(timed);
    expect(find(/\bpivot_root\b/, "pivot_root")).toMatch(timed);
    expect(find(/\bwrite \/sys\/fs\/cgroup\/\S+/, "cgroup write")).toMatch(timed);
    expect(find(/look up echo|exec/, "exec/lookup")).toMatch(timed);
    expect(find(/container exited with 0/, "exit")).toMatch(timed);
    // Every line is a debug line: nothing else leaked into stderr.
    for (const l of log) expect(l).toMatch(/debug/);
  }

  test("run --log-level debug logs every setup step with its duration; stdout has only the command's output", async () => {
    const { r, log } = await debugRun(["run", "--log-level", "debug", rootfs, "echo", "clean"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("clean\n");
    expectSetupSteps(log);
  });

  test("the global --log-level debug before `run` works the same", async () => {
    const { r, log } = await debugRun(["--log-level", "debug", "run", rootfs, "echo", "clean"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("clean\n");
    expectSetupSteps(log);
  });

  test("the default level is quiet", async () => {
    const r = await mini(["run", rootfs, "echo", "quiet"]);
    expect(r.stdout).toBe("quiet\n");
    expect(r.stderr).toBe("");
  });

  test("--log-level silent hides even mini's own error line, the exit code stays", async () => {
    const r = await mini(["run", "--log-level", "silent", "/no/such/rootfs", "true"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe("");
  });
});

describe("without root", () => {
  test("a non-root user gets 125, one clear line, and nothing is created", async () => {
    expect(existsSync("/usr/bin/setpriv") || existsSync("/bin/setpriv")).toBe(true);
    const s0 = snapshot();
    const probe = tempDir("mini-nonroot-");
    mkdirSync(`${probe}/w`, { mode: 0o777 });
    const r = await run([
      "setpriv",
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      MINI,
      "run",
      rootfs,
      "sh",
      "-c",
      `touch ${probe}/w/ran`,
    ]);
    expectOneLineError(r, "root");
    expect(r.stdout).toBe("");
    expect(existsSync(`${probe}/w/ran`)).toBe(false);
    expect(await leftBehind(s0)).toEqual(NOTHING);
    // Other verbs that need no privilege still work for them.
    const v = await run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", MINI, "--version"]);
    expect(v.code).toBe(0);
  });
});

test("nothing is left behind", async () => {
  expect(await leftBehind(before)).toEqual(NOTHING);
});
