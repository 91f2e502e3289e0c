// Small statistics helpers: every figure the bench prints is summarised with these.

/** Sorted copy of the finite numbers in `values`. */
function sorted(values) {
  return values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
}

/** The p-th percentile (0..100), linear interpolation between closest ranks; NaN when empty. */
export function percentile(values, p) {
  const s = sorted(values);
  if (s.length === 0) return Number.NaN;
  if (s.length === 1) return s[0];
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo] + (s[hi] - s[lo]) * (rank - lo);
}

export const median = (values) => percentile(values, 50);
export const min = (values) => sorted(values)[0] ?? Number.NaN;
export const max = (values) => sorted(values).at(-1) ?? Number.NaN;
export const sum = (values) => values.reduce((a, b) => a + b, 0);
export const mean = (values) => (values.length ? sum(values) / values.length : Number.NaN);

/** median/min/max of per-run values, plus the runs themselves (for results.json). */
export function summarize(runs) {
  return { median: median(runs), min: min(runs), max: max(runs), runs: [...runs] };
}
