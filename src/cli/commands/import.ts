// mini import [-c INSTRUCTION]... [-m MSG] ROOTFS.tar|DIR|- [NAME[:TAG]]: a root filesystem
// becomes a one-layer image (docker import)
import type { CommandDef } from "citty";
import { list, type OptDefs, type OptValues } from "../argv.ts";
import { UserError } from "../../common/errors.ts";
import { importRootfs } from "../../image/import-rootfs.ts";
import { statSync } from "node:fs";
import { printOut } from "../../common/stdout.ts";
import { isTerminal } from "../../common/terminal.ts";

const args = {
  change: {
    type: "string",
    alias: "c",
    repeat: true,
    description:
      "Dockerfile instruction for the config: CMD, ENTRYPOINT, ENV, LABEL, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL (repeatable)",
    valueHint: "instruction",
  },
  message: { type: "string", alias: "m", description: "Comment for the image's history", valueHint: "text" },
  source: { type: "positional", description: "A tar (plain, gzip or zstd), a directory, or - for stdin" },
  name: { type: "positional", required: false, description: "NAME[:TAG] for the image" },
} as const satisfies OptDefs;

export default {
  meta: { name: "import", description: "Import a root filesystem tarball as an image" },
  args,
} satisfies CommandDef<OptDefs>;

export async function run(values: OptValues, operands: string[]): Promise<number> {
  if (operands.length < 1 || operands.length > 2)
    throw new UserError("usage: mini import [-c INSTRUCTION]... ROOTFS.tar|DIR|- [NAME[:TAG]]");
  const [source, name] = operands;
  const opts = {
    name,
    changes: list(values.change),
    message: typeof values.message === "string" ? values.message : undefined,
  };
  let tarProc: ReturnType<typeof Bun.spawn> | undefined;
  let stream: ReadableStream<Uint8Array>;
  if (source === "-") {
    if (isTerminal(0)) throw new UserError("mini import: stdin is a terminal: give a tar file or redirect stdin");
    stream = Bun.stdin.stream();
  } else {
    let st: import("node:fs").Stats;
    try {
      st = statSync(source);
    } catch {
      throw new UserError(`mini import: ${source}: no such file or directory`);
    }
    if (st.isDirectory()) {
      // A directory is archived on the fly (numeric owners, as a rootfs needs).
      tarProc = Bun.spawn(["tar", "-C", source, "--numeric-owner", "-cf", "-", "."], {
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
      stream = tarProc.stdout as ReadableStream<Uint8Array>;
    } else stream = Bun.file(source).stream();
  }
  try {
    const img = await importRootfs(stream, opts);
    if (tarProc && (await tarProc.exited) !== 0)
      throw new UserError(
        `tar of ${source} failed: ${(await new Response(tarProc.stderr as ReadableStream).text()).trim()}`,
      );
    printOut(`${img.id}\n`);
  } finally {
    if (tarProc && tarProc.exitCode === null) {
      tarProc.kill();
      await tarProc.exited;
    }
  }
  return 0;
}
