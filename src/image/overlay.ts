// An image as a container's root filesystem: its layers (top first) as overlay lower dirs, and
// its files readable before anything is mounted (the user database, for -u).
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { UserError } from "../common/errors.ts";
import { containerPaths, storePaths } from "../common/paths.ts";
import { layeredReader } from "./layered-read.ts";
import type { ImageRecord } from "./store.ts";

/** The container's overlay: the image's layers (top first) under a fresh upper dir in the container's dir. */
export function imageOverlay(image: ImageRecord, id: string): { lower: string[]; dir: string } {
  const dir = containerPaths.dir(id);
  mkdirSync(`${dir}/rootfs`, { recursive: true, mode: 0o755 });
  writeFileSync(containerPaths.image(id), image.id); // rmi refuses an image a container uses
  const lower = [...image.layers].reverse().map((d) => storePaths.layer(d));
  for (const l of lower)
    if (!existsSync(l)) throw new UserError(`image ${image.id.slice(7, 19)} is missing layer ${l}: pull it again`);
  return { lower, dir };
}

/** Reads the image's files (its /etc/passwd, /etc/group) from its layers. */
export function imageReader(image: ImageRecord): (path: string) => string | undefined {
  return layeredReader([...image.layers].reverse().map((d) => storePaths.layer(d)));
}
