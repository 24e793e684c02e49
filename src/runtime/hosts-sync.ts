// Name resolution on user networks without a daemon: every member's /etc/hosts holds, for each of
// its user networks, a block with the other members' addresses under their names, aliases and
// short ids, and mini rewrites the blocks of every member whenever one joins, leaves or comes back
// with a new address (README, "Name resolution"). The file is bind-mounted into the container,
// which holds its inode: it is rewritten in place (write, then truncate), never replaced.
//
//   # mini network front (kept current by mini)
//   172.18.0.3	web web.local 3f2a9c0d1b4e
//   # end of mini network front
//
// Writers: one network's members are rewritten under that network's lease lock (ipam.withMembers),
// so two containers joining at once never leave a stale block; a container on several networks
// has its file locked (flock) around each read-modify-write.
import { closeSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs";
import { type Member, withMembers } from "../network/ipam.ts";
import { tryFlock } from "../sys/calls.ts";

const begin = (network: string) => `# mini network ${network} (kept current by mini)`;
const end = (network: string) => `# end of mini network ${network}`;

/** The names a member answers to: its name, its aliases, its short id (what docker's DNS answers). */
export const namesOf = (m: Pick<Member, "name" | "aliases" | "containerId">): string[] => [
  ...new Set([m.name, ...m.aliases, m.containerId.slice(0, 12)]),
];

/** `text` with the block of `network` replaced by `lines` (removed when there are none; appended when new). */
export function replaceBlock(text: string, network: string, lines: string[]): string {
  const all = text.split("\n");
  if (all.at(-1) === "") all.pop();
  const from = all.indexOf(begin(network));
  const to = from < 0 ? -1 : all.indexOf(end(network), from);
  const kept = from < 0 ? all : [...all.slice(0, from), ...all.slice(to < 0 ? all.length : to + 1)];
  const block = lines.length ? [begin(network), ...lines, end(network)] : [];
  return `${[...kept, ...block].join("\n")}\n`;
}

/** The block's lines for `self`: every other member, by name. */
export function peerLines(members: Member[], self: string): string[] {
  return members
    .filter((m) => m.containerId !== self)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((m) => `${m.ip}\t${namesOf(m).join(" ")}`);
}

const LOCK_WAIT_MS = 2000;

/**
 * Rewrites `path` in place with `change(old text)`, holding flock on it: the same inode (the
 * container's bind mount sees it), the new text written over the old, then the rest cut off.
 * A missing file (the container is gone) is skipped.
 */
export async function editInPlace(path: string, change: (text: string) => string): Promise<void> {
  let fd: number;
  try {
    fd = openSync(path, "r+");
  } catch {
    return;
  }
  try {
    const t0 = performance.now();
    while (!tryFlock(fd, path) && performance.now() - t0 < LOCK_WAIT_MS) await Bun.sleep(2);
    const buf = Buffer.alloc(256 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const next = Buffer.from(change(buf.toString("utf8", 0, n)));
    writeSync(fd, next, 0, next.length, 0);
    ftruncateSync(fd, next.length);
  } finally {
    closeSync(fd); // releases the flock
  }
}

/**
 * Brings every member's block of `network` up to date (`leaving`: a member whose own block is to
 * be removed, e.g. on disconnect). Runs under the network's lease lock.
 */
export async function syncHosts(network: string, leaving?: { containerId: string; hostsFile?: string }): Promise<void> {
  await withMembers(network, async (members) => {
    for (const m of members)
      if (m.hostsFile)
        await editInPlace(m.hostsFile, (t) => replaceBlock(t, network, peerLines(members, m.containerId)));
    if (leaving?.hostsFile) await editInPlace(leaving.hostsFile, (t) => replaceBlock(t, network, []));
  });
}
