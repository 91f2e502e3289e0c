import type { LongPromptRates, ModelPrice, Rates } from "./format.js";
import type { PriceTable } from "./table.js";

/** A model's prices, without its names. */
export interface PricePoint extends Rates {
  longPrompt?: LongPromptRates;
}

/** What a price update changes, model by model, in the prices in force. */
export interface PriceDiff {
  added: { model: string; price: PricePoint }[];
  removed: { model: string; price: PricePoint }[];
  changed: { model: string; before: PricePoint; after: PricePoint }[];
}

function point(entry: ModelPrice): PricePoint {
  const { aliases: _aliases, ...prices } = entry;
  return structuredClone(prices);
}

const RATE_KEYS = ["input", "output", "cacheWrite", "cacheRead"] as const;

function sameRates(a: Rates, b: Rates): boolean {
  return RATE_KEYS.every((k) => a[k] === b[k]);
}

function samePoint(a: PricePoint, b: PricePoint): boolean {
  if (!sameRates(a, b)) return false;
  if (!a.longPrompt || !b.longPrompt) return !a.longPrompt && !b.longPrompt;
  return (
    a.longPrompt.abovePromptTokens === b.longPrompt.abovePromptTokens &&
    sameRates(a.longPrompt, b.longPrompt)
  );
}

/** Models added, removed and re-priced between two tables (aliases and dates are ignored). */
export function diffPriceTables(before: PriceTable, after: PriceTable): PriceDiff {
  const diff: PriceDiff = { added: [], removed: [], changed: [] };
  for (const [model, entry] of Object.entries(after.models)) {
    const old = before.models[model];
    if (!old) diff.added.push({ model, price: point(entry) });
    else if (!samePoint(point(old), point(entry))) {
      diff.changed.push({ model, before: point(old), after: point(entry) });
    }
  }
  for (const [model, entry] of Object.entries(before.models)) {
    if (!(model in after.models)) diff.removed.push({ model, price: point(entry) });
  }
  return diff;
}

/** `$3.00`, `$0.30`, `$0.125`: cents always shown, finer fractions only when there are some. */
export function formatDollars(n: number): string {
  const cents = n * 100;
  return Math.abs(cents - Math.round(cents)) < 1e-9 ? `$${n.toFixed(2)}` : `$${n}`;
}

const LABELS: [Exclude<keyof Rates, "cacheWrite1h">, string][] = [
  ["input", "input"],
  ["output", "output"],
  ["cacheWrite", "cache write"],
  ["cacheRead", "cache read"],
];

function describeRates(r: Rates): string {
  return LABELS.map(([k, label]) => `${label} ${formatDollars(r[k])}`).join(", ");
}

function describePoint(p: PricePoint): string {
  const long = p.longPrompt
    ? `; above ${p.longPrompt.abovePromptTokens} prompt tokens: ${describeRates(p.longPrompt)}`
    : "";
  return `${describeRates(p)}${long}`;
}

function describeChange(before: PricePoint, after: PricePoint): string {
  const parts = LABELS.filter(([k]) => before[k] !== after[k]).map(
    ([k, label]) => `${label} ${formatDollars(before[k])} → ${formatDollars(after[k])}`,
  );
  const a = before.longPrompt;
  const b = after.longPrompt;
  if (a && !b) parts.push("long-prompt rates removed");
  else if (!a && b) parts.push(`long-prompt rates added (${describePoint({ ...b })})`);
  else if (a && b) {
    if (a.abovePromptTokens !== b.abovePromptTokens) {
      parts.push(`long-prompt threshold ${a.abovePromptTokens} → ${b.abovePromptTokens}`);
    }
    for (const [k, label] of LABELS) {
      if (a[k] !== b[k]) {
        parts.push(`long-prompt ${label} ${formatDollars(a[k])} → ${formatDollars(b[k])}`);
      }
    }
  }
  return parts.join(", ");
}

/**
 * The diff as lines a person reads: `+ model: ...` added, `- model: ...` removed,
 * `~ model: input $3.00 → $2.50` changed, then a count, or just `no changes`.
 */
export function formatPriceDiff(diff: PriceDiff): string[] {
  const lines = [
    ...diff.added.map((a) => `+ ${a.model}: ${describePoint(a.price)}`),
    ...diff.removed.map((r) => `- ${r.model}: ${describePoint(r.price)}`),
    ...diff.changed.map((c) => `~ ${c.model}: ${describeChange(c.before, c.after)}`),
  ];
  if (lines.length === 0) return ["no changes"];
  lines.push(
    `${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} changed`,
  );
  return lines;
}
