// Whole-machine CPU use from /proc/stat (Linux), to show when a benchmark saturated the cores.
import { readFileSync } from "node:fs";

/** A snapshot of the machine's CPU counters, or null off Linux. */
export function cpuSnapshot() {
  try {
    const fields = readFileSync("/proc/stat", "utf8")
      .split("\n")[0]
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const idle = fields[3] + (fields[4] ?? 0);
    const total = fields.reduce((a, b) => a + b, 0);
    return { idle, total };
  } catch {
    return null;
  }
}

/** Fraction (0..1) of all cores busy between two snapshots, or null. */
export function busyBetween(a, b) {
  if (!a || !b || b.total === a.total) return null;
  return 1 - (b.idle - a.idle) / (b.total - a.total);
}
