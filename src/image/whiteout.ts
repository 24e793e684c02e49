// OCI/AUFS whiteouts in layer tars and their overlayfs form.
//
//   DIR/.wh.NAME       NAME was deleted        → a character device 0:0 named NAME
//   DIR/.wh..wh..opq   DIR hides lower layers  → xattr trusted.overlay.opaque="y" on DIR
//   DIR/.wh..wh.*      other AUFS metadata (.wh..wh.plnk, .wh..wh.aufs) → ignored
export const WHITEOUT_PREFIX = ".wh.";
export const WHITEOUT_META_PREFIX = ".wh..wh.";
export const WHITEOUT_OPAQUE = ".wh..wh..opq";

/** The xattr overlayfs reads to treat a directory as opaque (needs CAP_SYS_ADMIN to set). */
export const OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque";
/** The overlayfs whiteout: a character device with this major:minor. */
export const OVERLAY_WHITEOUT_DEV = { major: 0, minor: 0 } as const;

export type Whiteout =
  | { kind: "none" }
  /** `target` is the name (in the same directory) the whiteout hides. */
  | { kind: "whiteout"; target: string }
  | { kind: "opaque" }
  | { kind: "ignore" };

/** Classifies the last path component of a layer entry. */
export function classifyWhiteout(base: string): Whiteout {
  if (!base.startsWith(WHITEOUT_PREFIX)) return { kind: "none" };
  if (base === WHITEOUT_OPAQUE) return { kind: "opaque" };
  if (base.startsWith(WHITEOUT_META_PREFIX)) return { kind: "ignore" };
  return { kind: "whiteout", target: base.slice(WHITEOUT_PREFIX.length) };
}
