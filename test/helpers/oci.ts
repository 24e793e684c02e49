// Driving dist/mini as an engine drives runc: a private --root, bundles whose config.json is what
// `mini spec` or `runc spec` writes (changed by the test), and the sockets an engine listens on
// (--console-socket, --pidfd-socket, a seccomp agent), played by small python3 programs.
//
//   const o = new OciEnv();            // in beforeAll; o.cleanup() in afterAll
//   const b = await o.bundle((c) => { c.process.args = ["true"]; }, "runc");
//   const r = await o.run(["run", "--bundle", b, "c1"]);
//   const sock = await o.listen("console");   // sock.path, await sock.result()
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { mini, type Result, run } from "./mini.ts";
import { makeRootfs } from "./rootfs.ts";

/** What each listener does with what arrives (python3; prints one JSON line, then exits). */
const LISTENERS = {
  /** A pty master: reads what the container writes until it closes (or 5 s), with the name sent. */
  console: `
out = b""; end = time.time() + 5
while time.time() < end:
    r, _, _ = select.select([fds[0]], [], [], 0.2)
    if not r: continue
    try: d = os.read(fds[0], 4096)
    except OSError: break
    if not d: break
    out += d
print(json.dumps({"name": msg.decode(errors="replace"), "out": out.decode(errors="replace")}), flush=True)`,
  /** A pidfd: the pid it refers to (its fdinfo's "Pid:"). */
  pidfd: `
info = open(f"/proc/self/fdinfo/{fds[0]}").read()
pid = int([l for l in info.splitlines() if l.startswith("Pid:")][0].split()[1])
print(json.dumps({"name": msg.decode(errors="replace"), "pid": pid}), flush=True)`,
  /** A seccomp agent: the container process state, and what the fd is; closing it fails the calls with ENOSYS. */
  seccomp: `
print(json.dumps({"state": json.loads(msg.decode()), "fd": os.readlink(f"/proc/self/fd/{fds[0]}")}), flush=True)`,
};

export interface Listener {
  path: string;
  /** The JSON line of each connection, in order (waits for `count` of them). */
  results(count?: number): Promise<any[]>;
  stop(): void;
}

export class OciEnv {
  readonly work = mkdtempSync(`${tmpdir()}/mini-oci12-`);
  readonly root = `${this.work}/state`;
  readonly rootfs = makeRootfs();
  private n = 0;
  private procs: { kill(): void }[] = [];

  /** mini --root ROOT ARGS, stdout/stderr through files (a created container keeps the stdio it got). */
  run(args: string[], opts: { global?: string[]; fds?: number[]; env?: Record<string, string> } = {}): Promise<Result> {
    return mini(["--root", this.root, ...(opts.global ?? []), ...args], {
      fds: opts.fds,
      env: opts.env,
      captureDir: this.work,
    });
  }

  /** `mini spec` or `runc spec` output, rootfs this env's, changed by `edit`; its directory. */
  async bundle(
    edit: (c: any) => void = () => {},
    from: "mini" | "runc" = "mini",
    rootfs = this.rootfs,
  ): Promise<string> {
    const dir = `${this.work}/b${this.n++}`;
    mkdirSync(dir);
    let c: any;
    if (from === "runc") {
      const r = await run(["runc", "spec"], { cwd: dir });
      if (r.code !== 0) throw new Error(`runc spec: ${r.stderr}`);
      c = JSON.parse(await Bun.file(`${dir}/config.json`).text());
    } else c = JSON.parse((await mini(["spec"])).stdout);
    c.root = { path: rootfs, readonly: false };
    c.process.terminal = false;
    c.process.args = ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"];
    edit(c);
    writeFileSync(`${dir}/config.json`, JSON.stringify(c));
    return dir;
  }

  /** The container's state JSON. */
  async state(id: string): Promise<any> {
    return JSON.parse((await this.run(["state", id])).stdout);
  }

  /** A unix socket an engine would listen on, receiving one fd per connection. */
  async listen(kind: keyof typeof LISTENERS, connections = 1): Promise<Listener> {
    const path = `${this.work}/${kind}-${this.n++}.sock`;
    const code = `
import socket, os, select, time, json, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(${JSON.stringify(path)}); s.listen(8)
print("listening", flush=True)
for _ in range(${connections}):
    c, _ = s.accept()
    msg, fds, _, _ = socket.recv_fds(c, 65536, 4)
${LISTENERS[kind]
  .split("\n")
  .map((l) => `    ${l}`)
  .join("\n")}
    for f in fds: os.close(f)
    c.close()
`;
    const proc = Bun.spawn(["python3", "-c", code], { stdout: "pipe", stderr: "inherit" });
    this.procs.push(proc);
    const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
    const dec = new TextDecoder();
    let buf = "";
    while (!buf.includes("listening\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the listener did not start");
      buf += dec.decode(value);
    }
    buf = buf.slice(buf.indexOf("listening\n") + 10);
    return {
      path,
      results: async (count = 1) => {
        const timer = setTimeout(() => proc.kill(), 20_000);
        try {
          while (buf.split("\n").filter(Boolean).length < count) {
            const { value, done } = await reader.read();
            if (done) break;
            buf += dec.decode(value);
          }
        } finally {
          clearTimeout(timer);
        }
        return buf
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l));
      },
      stop: () => proc.kill(),
    };
  }

  /** Deletes every container left under the root, stops the listeners, removes the work dir. */
  async cleanup(): Promise<void> {
    for (const p of this.procs) p.kill();
    for (const id of existsSync(this.root) ? readdirSync(this.root) : []) await this.run(["delete", "--force", id]);
    rmSync(this.work, { recursive: true, force: true });
  }
}
