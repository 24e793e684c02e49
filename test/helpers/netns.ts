// Throwaway network namespaces for firewall tests and benchmarks: named `mt<pid><tag>` so two runs
// never collide, each one removed by `cleanup()` with every process started here (by PID). Nothing
// is done in the host's own namespace except creating and deleting these names.
import { existsSync } from "node:fs";

export const netnsSupported = (): boolean =>
  process.getuid?.() === 0 &&
  Bun.spawnSync(["ip", "-V"]).exitCode === 0 &&
  Bun.spawnSync(["unshare", "-n", "nft", "list", "ruleset"]).exitCode === 0;

export class Lab {
  readonly prefix: string;
  private readonly namespaces: string[] = [];
  private readonly pids: number[] = [];

  constructor(tag = "") {
    this.prefix = `mt${process.pid}${tag}`;
  }

  /** A new named netns with lo up; returns its name. */
  add(tag: string): string {
    const name = `${this.prefix}${tag}`;
    run(["ip", "netns", "add", name]);
    this.namespaces.push(name);
    this.exec(name, ["ip", "link", "set", "lo", "up"]);
    return name;
  }

  /** Runs `cmd` in `ns`; throws with its stderr if it fails. */
  exec(ns: string, cmd: string[], input?: string): string {
    return run(["ip", "netns", "exec", ns, ...cmd], input);
  }

  /** Runs `cmd` in `ns` without throwing. */
  try(ns: string, cmd: string[], input?: string) {
    const r = Bun.spawnSync(["ip", "netns", "exec", ns, ...cmd], {
      stdin: input === undefined ? "ignore" : Buffer.from(input),
      stdout: "pipe",
      stderr: "pipe",
    });
    return { ok: r.exitCode === 0, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  }

  /** Starts a long-running `cmd` in `ns` and waits for it to print "ready". */
  async start(ns: string, cmd: string[]): Promise<number> {
    const child = Bun.spawn(["ip", "netns", "exec", ns, ...cmd], { stdout: "pipe", stderr: "inherit" });
    this.pids.push(child.pid); // ip netns exec execs the command: this is its PID
    const reader = child.stdout.getReader();
    let out = "";
    const deadline = Date.now() + 10_000;
    while (!out.includes("ready")) {
      if (Date.now() > deadline) throw new Error(`${cmd.join(" ")}: not ready after 10 s`);
      const { value, done } = await reader.read();
      if (done) throw new Error(`${cmd.join(" ")}: exited before ready (${out})`);
      out += Buffer.from(value).toString();
    }
    reader.releaseLock();
    return child.pid;
  }

  /** Runs `cmd` in `ns` and returns its stdout (trimmed), without blocking the event loop. */
  async output(ns: string, cmd: string[]): Promise<string> {
    const child = Bun.spawn(["ip", "netns", "exec", ns, ...cmd], { stdout: "pipe", stderr: "pipe" });
    this.pids.push(child.pid);
    const [out] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    this.pids.splice(this.pids.indexOf(child.pid), 1);
    return out.trim();
  }

  /** A veth pair: `a` in `nsA`, `b` in `nsB`, both up. */
  veth(nsA: string, a: string, nsB: string, b: string): void {
    this.exec(nsA, ["ip", "link", "add", a, "type", "veth", "peer", "name", b, "netns", nsB]);
    this.exec(nsA, ["ip", "link", "set", a, "up"]);
    this.exec(nsB, ["ip", "link", "set", b, "up"]);
  }

  /** Kills what was started here (by PID) and deletes the namespaces. Safe to call twice. */
  cleanup(): void {
    for (const pid of this.pids.splice(0)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
    for (const ns of this.namespaces.splice(0)) {
      if (existsSync(`/run/netns/${ns}`)) Bun.spawnSync(["ip", "netns", "del", ns]);
    }
  }
}

function run(cmd: string[], input?: string): string {
  const r = Bun.spawnSync(cmd, {
    stdin: input === undefined ? "ignore" : Buffer.from(input),
    stdout: "pipe",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

/** The host's ruleset without counters (they change on their own). */
export const hostRuleset = (): string => run(["nft", "-s", "list", "ruleset"]);
