import { printOut } from "../common/stdout.ts";
// Output helpers shared by the listing commands.

/** "3 minutes ago", docker's style. */
export function ago(iso?: string): string {
  if (!iso) return "N/A";
  const s = (Date.now() - Date.parse(iso)) / 1000;
  if (!Number.isFinite(s)) return "N/A";
  return `${duration(s)} ago`;
}

/** "Less than a second", "5 seconds", "2 hours". */
export function duration(s: number): string {
  if (s < 1) return "Less than a second";
  const [n, u] =
    s < 60
      ? [s, "second"]
      : s < 3600
        ? [s / 60, "minute"]
        : s < 86400
          ? [s / 3600, "hour"]
          : s < 86400 * 30
            ? [s / 86400, "day"]
            : s < 86400 * 365
              ? [s / 86400 / 30, "month"]
              : [s / 86400 / 365, "year"];
  const k = Math.floor(n);
  return `${k} ${u}${k === 1 ? "" : "s"}`;
}

/** Columns padded to the widest cell, three spaces apart (docker's table). */
export function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  let out = "";
  for (const r of rows) out += `${r.map((x, c) => (c < r.length - 1 ? x.padEnd(widths[c]! + 3) : x)).join("")}\n`;
  printOut(out);
}
