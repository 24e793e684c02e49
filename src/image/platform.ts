// OCI platforms: the host's, parsing `os/arch[/variant]`, and matching an index entry against a
// wanted platform. Architecture names follow OCI/Go (amd64, arm64, 386), not Node (x64, ia32).
import { UserError } from "../common/errors.ts";
import type { Platform } from "./types.ts";

const NODE_ARCH: Record<string, Platform> = {
  x64: { os: "linux", architecture: "amd64" },
  arm64: { os: "linux", architecture: "arm64", variant: "v8" },
  arm: { os: "linux", architecture: "arm", variant: "v7" },
  ia32: { os: "linux", architecture: "386" },
  ppc64: { os: "linux", architecture: "ppc64le" },
  s390x: { os: "linux", architecture: "s390x" },
  riscv64: { os: "linux", architecture: "riscv64" },
  loong64: { os: "linux", architecture: "loong64" },
  mips64el: { os: "linux", architecture: "mips64le" },
};

/** Common spellings that mean an OCI architecture (and maybe a variant). */
const ARCH_ALIASES: Record<string, { architecture: string; variant?: string }> = {
  x86_64: { architecture: "amd64" },
  "x86-64": { architecture: "amd64" },
  aarch64: { architecture: "arm64" },
  armhf: { architecture: "arm", variant: "v7" },
  armel: { architecture: "arm", variant: "v6" },
  i386: { architecture: "386" },
  i686: { architecture: "386" },
};

const COMPONENT = /^[A-Za-z0-9_.-]+$/;

/** The platform this process runs on, in OCI terms. */
export function hostPlatform(arch: string = process.arch): Platform {
  const p = NODE_ARCH[arch];
  if (!p) throw new UserError(`unsupported host architecture "${arch}"`);
  return { ...p };
}

/** A normalized variant with the defaults docker/containerd assume: arm64 → v8, arm → v7. */
function normalizedVariant(architecture: string, variant: string | undefined): string | undefined {
  if (variant === undefined && architecture === "arm64") return "v8";
  if (variant === undefined && architecture === "arm") return "v7";
  return variant;
}

/** Lowercases and maps aliases (x86_64 → amd64, aarch64 → arm64) without filling default variants. */
function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase() || undefined;
  const alias = ARCH_ALIASES[architecture];
  if (alias) {
    architecture = alias.architecture;
    variant ??= alias.variant;
  }
  if (variant !== undefined && /^[0-9]+$/.test(variant) && (architecture === "arm" || architecture === "arm64"))
    variant = `v${variant}`;
  const out: Platform = { os, architecture };
  if (variant !== undefined) out.variant = variant;
  return out;
}

/** Parses `os/arch[/variant]` (`linux/arm64/v8`); `arch` alone means linux/arch. */
export function parsePlatform(s: string): Platform {
  const parts = s.split("/");
  if (s === "" || parts.length > 3 || parts.some((x) => !COMPONENT.test(x))) {
    throw new UserError(`invalid platform "${s}": expected os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8`);
  }
  if (parts.length === 1) {
    if (parts[0].toLowerCase() === "linux") return { os: "linux", architecture: hostPlatform().architecture };
    return normalizePlatform({ os: "linux", architecture: parts[0] });
  }
  return normalizePlatform({ os: parts[0], architecture: parts[1], variant: parts[2] });
}

/** `linux/amd64`, `linux/arm64/v8`. */
export function formatPlatform(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}

/**
 * Does an image for `have` suit a request for `want`? OS and architecture must be equal; variants
 * are compared with defaults filled in (arm64 = v8, arm = v7), and a missing variant on either
 * side of any other architecture matches every variant.
 */
export function platformMatches(want: Platform, have: Platform): boolean {
  const w = normalizePlatform(want);
  const h = normalizePlatform(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return false;
  const wv = normalizedVariant(w.architecture, w.variant);
  const hv = normalizedVariant(h.architecture, h.variant);
  if (wv === undefined || hv === undefined) return true;
  return wv === hv;
}

/** Like platformMatches, but the variants must agree exactly (after defaults): used to prefer. */
export function platformMatchesExactly(want: Platform, have: Platform): boolean {
  const w = normalizePlatform(want);
  const h = normalizePlatform(have);
  return (
    w.os === h.os &&
    w.architecture === h.architecture &&
    normalizedVariant(w.architecture, w.variant) === normalizedVariant(h.architecture, h.variant)
  );
}
