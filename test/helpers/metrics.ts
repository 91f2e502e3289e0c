import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { expect } from "vitest";

/** One metric family as the exposition-format parser read it. */
export type Family = ReturnType<typeof parsePrometheusTextFormat>[number];

/** The label names our metrics may carry (issue 19: role, status, outcome; and operation). */
const LABELS = new Set(["role", "status", "outcome", "operation"]);

/**
 * Parses exposition-format text with a real parser (which throws on a line it cannot read)
 * and checks our naming rules on every family: the `ai_producer_` prefix, `_total` on
 * counters and only there, a base unit on histograms, HELP text, known label names, and no
 * family twice. Resolves to the families by name.
 */
export function parseMetrics(text: string): Map<string, Family> {
  const families = parsePrometheusTextFormat(text);
  const byName = new Map<string, Family>();
  for (const family of families) {
    expect(byName.has(family.name), `${family.name} appears once`).toBe(false);
    byName.set(family.name, family);
    expect(family.name).toMatch(/^ai_producer_[a-z0-9_]+$/);
    expect(family.help.length, `${family.name} has HELP text`).toBeGreaterThan(10);
    expect(family.type, `${family.name} has a TYPE`).not.toBe("UNTYPED");
    if (family.type === "COUNTER") expect(family.name).toMatch(/_total$/);
    else expect(family.name).not.toMatch(/_total$/);
    if (family.type === "HISTOGRAM") expect(family.name).toMatch(/_seconds$/);
    if (/spend|held|cap|ceiling/.test(family.name)) expect(family.name).toMatch(/_usd(_total)?$/);
    for (const sample of family.metrics) {
      for (const label of Object.keys(sample.labels ?? {})) {
        expect(LABELS.has(label), `${family.name} label ${label}`).toBe(true);
      }
    }
  }
  // The text itself, line by line: a comment is HELP or TYPE, every other line a sample.
  for (const line of text.split("\n")) {
    if (line === "") continue;
    expect(line).toMatch(/^(# (HELP|TYPE) ai_producer_\w+ .+|ai_producer_\w+(\{.*\})? \S+)$/);
  }
  return byName;
}

/** The value of the sample of `name` with exactly `labels`; undefined when there is none. */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const family = families.get(name);
  const sample = family?.metrics.find((m) => {
    const own = m.labels ?? {};
    return (
      Object.keys(own).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => own[k] === v)
    );
  });
  return sample?.value === undefined ? undefined : Number(sample.value);
}

/** The total of every sample of a counter or gauge `name` (over all its labels). */
export function sampleSum(families: Map<string, Family>, name: string): number {
  return (families.get(name)?.metrics ?? []).reduce((n, m) => n + Number(m.value ?? 0), 0);
}

/**
 * The `_count` samples of histogram `name`, read from the text itself: the parser keeps only
 * one bucket set of a histogram with labels (and no count), so it cannot answer this.
 */
export function histogramCounts(text: string, name: string): { labels: string; count: number }[] {
  const counts: { labels: string; count: number }[] = [];
  for (const line of text.split("\n")) {
    const match = new RegExp(`^${name}_count(\\{.*\\})? (\\S+)$`).exec(line);
    if (!match) continue;
    const labels = match[1] ?? "";
    const count = Number(match[2]);
    // Each label set's +Inf bucket holds every observation: the same number as its count.
    const inf = labels === "" ? '{le="+Inf"}' : labels.replace(/^\{/, '{le="+Inf",');
    expect(text, `${name} ${labels} has its +Inf bucket`).toContain(
      `${name}_bucket${inf} ${count}\n`,
    );
    counts.push({ labels, count });
  }
  return counts;
}
