// Reads a file of an image without mounting it: looks through the layers top-down, stopping at a
// whiteout (a 0:0 character device) or an opaque directory. Symlinks are resolved here, inside the
// image: the host never follows one (a layer is only entered through real directories, as
// overlayfs would: a non-directory in a layer hides what lower layers have below that name). Used
// for /etc/passwd and /etc/group before the container exists; only a regular file of bounded size
// is read.
import { closeSync, lstatSync, readlinkSync } from "node:fs";
import { openRoot, readInRoot } from "../common/container-file.ts";
import { UserError } from "../common/errors.ts";
import { getxattrText } from "../sys/fs-calls.ts";

type Found =
  | { kind: "file"; path: string; layer: string; rel: string }
  | { kind: "link"; target: string }
  | { kind: "dir" }
  | { kind: "gone" }
  | undefined;

/** The lstat of `layer/rel`'s leading directories: "dir" all of them, "hides" when one is something else. */
function prefixes(layer: string, parts: string[]): "dir" | "missing" | "hides" {
  for (let i = 1; i < parts.length; i++) {
    let st: import("node:fs").Stats;
    try {
      st = lstatSync(`${layer}/${parts.slice(0, i).join("/")}`);
    } catch {
      return "missing";
    }
    if (!st.isDirectory()) return "hides";
  }
  return "dir";
}

function lookup(layers: string[], rel: string): Found {
  for (const layer of layers) {
    const parts = rel.split("/").filter(Boolean);
    const way = prefixes(layer, parts);
    if (way === "hides") return { kind: "gone" };
    if (way === "missing") continue;
    // An opaque directory on the way hides everything below it in lower layers.
    let opaque = false;
    for (let i = 1; i < parts.length; i++) {
      const dir = `${layer}/${parts.slice(0, i).join("/")}`;
      if (getxattrText(dir, "trusted.overlay.opaque") === "y") opaque = true;
    }
    let st: import("node:fs").Stats;
    try {
      st = lstatSync(`${layer}/${rel}`);
    } catch {
      if (opaque) return { kind: "gone" };
      continue;
    }
    if (st.isCharacterDevice() && st.rdev === 0) return { kind: "gone" };
    if (st.isSymbolicLink()) return { kind: "link", target: readlinkSync(`${layer}/${rel}`) };
    if (st.isDirectory()) return { kind: "dir" };
    return { kind: "file", path: `${layer}/${rel}`, layer, rel };
  }
  return undefined;
}

/** A regular file of bounded size, opened inside its layer (O_NONBLOCK: a FIFO never blocks). */
function readLayerFile(layer: string, rel: string, path: string): string | undefined {
  const fd = openRoot(layer);
  try {
    return readInRoot(fd, rel, `the image's ${path}`);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`the image's ${path}: ${(e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

/** A reader over `layers` (top first): container path → text, or undefined. */
export function layeredReader(layers: string[]): (path: string) => string | undefined {
  return (path) => {
    let rel = path.replace(/^\/+/, "");
    for (let hops = 0; hops < 40; hops++) {
      // Resolve symlinks in the leading components too.
      const parts = rel.split("/").filter(Boolean);
      let resolved = "";
      let restarted = false;
      for (let i = 0; i < parts.length; i++) {
        const cur = resolved ? `${resolved}/${parts[i]}` : parts[i];
        const f = lookup(layers, cur);
        if (f?.kind === "link") {
          const base = f.target.startsWith("/") ? "" : resolved;
          const joined = [...(base ? base.split("/") : []), ...f.target.split("/"), ...parts.slice(i + 1)];
          const out: string[] = [];
          for (const p of joined) {
            if (!p || p === ".") continue;
            if (p === "..") out.pop();
            else out.push(p);
          }
          rel = out.join("/");
          restarted = true;
          break;
        }
        if (!f || f.kind === "gone") return undefined;
        if (i === parts.length - 1) return f.kind === "file" ? readLayerFile(f.layer, f.rel, path) : undefined;
        resolved = cur;
      }
      if (!restarted) return undefined;
    }
    return undefined;
  };
}
