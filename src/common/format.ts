// Sizes as people read them.

/** 1.5MiB (docker stats' units); `sep` goes between number and unit ("32 MiB" in messages). */
export function formatBytes(n: number, sep = ""): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i ? n.toFixed(2).replace(/\.?0+$/, "") : n}${sep}${units[i]}`;
}
