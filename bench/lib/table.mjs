// Formatting of the figures table printed at the end of a run.

/** A number in a width-friendly form for its unit. */
export function fmt(value, unit) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  if (unit === "x" || unit === "fraction") return value.toFixed(2);
  if (unit === "%" || unit === "% of a core") return value.toFixed(2);
  if (unit === "count") return String(Math.round(value));
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString("en-US");
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Renders rows (arrays of strings) as an aligned plain-text table under `header`. */
export function renderTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells
      .map((c, i) => String(c).padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
