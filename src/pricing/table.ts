import { readFileSync } from "node:fs";
import { type Clock, systemClock, utcToday } from "../clock.js";
import { asError, oneLineMessage, ProducerError } from "../errors.js";
import type { TokenUsage } from "../ledger/types.js";
import { codePath } from "../package-files.js";
import {
  cacheWrite1hRate,
  type LongPromptRates,
  type ModelPrice,
  type PriceDocument,
  type Rates,
  readPriceDocument,
} from "./format.js";

export type { LongPromptRates, ModelPrice, Rates } from "./format.js";

/** A table older than this many days is flagged at `producer run` start. */
export const STALE_AFTER_DAYS = 90;

/** The prices in force: the bundled table with the project's override applied. */
export interface PriceTable {
  /** `YYYY-MM-DD` the prices were checked: the override's date when it gives one. */
  checked: string;
  /** Where the newest prices came from. */
  source: string | null;
  /** Keyed by model id; every id and alias leads to exactly one entry. */
  models: Record<string, ModelPrice>;
  /** The override file that was applied, or null when the bundled table stands alone. */
  overrideFile: string | null;
}

/** How a model name was found in a table. */
export interface PriceMatch extends Rates {
  /** The table's id for the model; null when the model is unknown. */
  id: string | null;
  matchedBy: "id" | "alias" | "prefix" | "unknown";
  /** True when no entry matched and the most expensive known rates were used instead. */
  unknown: boolean;
  longPrompt?: LongPromptRates;
}

/** What a call cost, and whether its model had to be guessed. */
export interface CostResult {
  costUsd: number;
  /** The model was not in the table: priced at the most expensive known rates. Warn about it. */
  unknownModel: boolean;
  /** The table id the tokens were priced as; null for an unknown model. */
  pricedAs: string | null;
}

const BUNDLED_FILE = codePath("pricing", "pricing.json");
let bundledCache: PriceTable | undefined;

/**
 * The table shipped with ai-producer (checked against the Claude CLI's own prices). Read once,
 * and handed out as a copy so no caller can change another's prices.
 */
export function bundledPriceTable(): PriceTable {
  if (!bundledCache) {
    let text: string;
    try {
      text = readFileSync(BUNDLED_FILE, "utf8");
    } catch (error) {
      // Only a broken install or build gets here: the build copies pricing.json beside its code.
      const why = asError(error).message;
      throw new ProducerError(`cannot read the bundled price table ${BUNDLED_FILE}: ${why}`, {
        cause: error,
      });
    }
    const document = parseTableFile(BUNDLED_FILE, "bundled price table", text);
    if (!document.checked) {
      throw new ProducerError(`bundled price table ${BUNDLED_FILE} has no checked date`);
    }
    bundledCache = {
      checked: document.checked,
      source: document.source ?? null,
      models: document.models,
      overrideFile: null,
    };
  }
  return structuredClone(bundledCache);
}

function parseTableFile(file: string, what: string, text: string): PriceDocument {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ProducerError(`${what} ${file} is not valid JSON: ${oneLineMessage(error)}`, {
      cause: error,
    });
  }
  const read = readPriceDocument(value);
  if (!read.ok)
    throw new ProducerError(`${what} ${file} is malformed: ${read.problems.join("; ")}`);
  return read.document;
}

/**
 * Reads a project's price override. A missing file is no override (null); a broken one is an
 * error naming the file, because silently falling back would hide the prices someone set.
 */
export function readPriceOverride(file: string, clock: Clock = systemClock): PriceDocument | null {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new ProducerError(`cannot read price override ${file}: ${asError(error).message}`, {
      cause: error,
    });
  }
  const document = parseTableFile(file, "price override", text);
  // A date in the future would silence the staleness warning forever; a day of slack
  // absorbs time zones.
  const today = utcToday(clock);
  if (document.checked && dayNumber(document.checked) > dayNumber(today) + 1) {
    throw new ProducerError(
      `price override ${file} is malformed: checked date ${document.checked} is in the future (today is ${today})`,
    );
  }
  return document;
}

/**
 * Lays `override` over `base` model by model: an overridden model takes the override's entry
 * whole, and a name the override claims is taken away from any other base model.
 */
export function mergePriceTables(
  base: PriceTable,
  override: PriceDocument,
  overrideFile: string | null,
): PriceTable {
  const claimed = new Set<string>();
  for (const [id, entry] of Object.entries(override.models)) {
    for (const name of [id, ...entry.aliases]) claimed.add(name.toLowerCase());
  }
  const models: Record<string, ModelPrice> = {};
  for (const [id, entry] of Object.entries(base.models)) {
    const replacement = override.models[id];
    models[id] = replacement
      ? structuredClone(replacement)
      : { ...entry, aliases: entry.aliases.filter((a) => !claimed.has(a.toLowerCase())) };
  }
  for (const [id, entry] of Object.entries(override.models)) {
    if (!(id in models)) models[id] = structuredClone(entry);
  }
  return {
    checked: override.checked ?? base.checked,
    source: override.source ?? base.source,
    models,
    overrideFile,
  };
}

/** Options of {@link loadPriceTable}. */
export interface LoadPriceTableOptions {
  /** The project's override (`config.pricing.overrideFile`); absent or missing = bundled only. */
  overrideFile?: string | null;
  /** Today's date, to refuse an override dated in the future. */
  clock?: Clock;
}

/** The prices in force for a project: bundled, with its override winning model by model. */
export function loadPriceTable(options: LoadPriceTableOptions = {}): PriceTable {
  const bundled = bundledPriceTable();
  if (!options.overrideFile) return bundled;
  const override = readPriceOverride(options.overrideFile, options.clock);
  return override ? mergePriceTables(bundled, override, options.overrideFile) : bundled;
}

/**
 * Lower-cases a model name and drops a cloud provider's prefix (`us.anthropic.`,
 * `anthropic/`), so Bedrock- and LiteLLM-style names find the same entry.
 */
export function normaliseModelName(model: string): string {
  return model
    .trim()
    .toLowerCase()
    .replace(/^(?:[a-z]{2,8}\.)?anthropic[./]/, "");
}

/**
 * True when `model` is `name` plus a suffix that does not change the model: a date
 * (`-20250929`, `@20250929`), `-latest`, `-v1:0`, `[1m]`. A version step is refused, so
 * `claude-sonnet-4-7` is not priced as `claude-sonnet-4`, nor `claude-opus-4-10` as
 * `claude-opus-4-1`.
 */
export function isVersionSafePrefix(name: string, model: string): boolean {
  if (model.length <= name.length || !model.startsWith(name)) return false;
  const rest = model.slice(name.length);
  if (/^[a-z0-9]/.test(rest)) return false;
  return !/^[-.]\d{1,3}(?!\d)/.test(rest);
}

/** The highest rate of each kind across the table, so an unknown model is never under-priced. */
export function mostExpensiveRates(table: PriceTable): Rates {
  const top: Rates = { input: 0, output: 0, cacheWrite: 0, cacheRead: 0 };
  for (const entry of Object.values(table.models)) {
    for (const rates of entry.longPrompt ? [entry, entry.longPrompt] : [entry]) {
      top.input = Math.max(top.input, rates.input);
      top.output = Math.max(top.output, rates.output);
      top.cacheWrite = Math.max(top.cacheWrite, rates.cacheWrite);
      top.cacheRead = Math.max(top.cacheRead, rates.cacheRead);
      top.cacheWrite1h = Math.max(top.cacheWrite1h ?? 0, cacheWrite1hRate(rates));
    }
  }
  return top;
}

/** A table entry found for a model name, and how. */
export interface ModelLookup {
  id: string;
  entry: ModelPrice;
  matchedBy: "id" | "alias" | "prefix";
}

/**
 * Finds `model` in the table: its exact id, else an alias, else the longest id or alias it
 * extends with a date-like suffix (`claude-sonnet-4-5-20250929`). Null when none fits.
 */
export function findModel(table: Pick<PriceTable, "models">, model: string): ModelLookup | null {
  const name = normaliseModelName(model);
  const entries = Object.entries(table.models);
  for (const [id, entry] of entries) {
    if (id.toLowerCase() === name) return { id, entry, matchedBy: "id" };
  }
  for (const [id, entry] of entries) {
    if (entry.aliases.some((a) => a.toLowerCase() === name)) {
      return { id, entry, matchedBy: "alias" };
    }
  }
  let best: (ModelLookup & { length: number }) | undefined;
  for (const [id, entry] of entries) {
    for (const candidate of [id, ...entry.aliases]) {
      const lower = candidate.toLowerCase();
      if (isVersionSafePrefix(lower, name) && (!best || lower.length > best.length)) {
        best = { id, entry, matchedBy: "prefix", length: lower.length };
      }
    }
  }
  return best ? { id: best.id, entry: best.entry, matchedBy: "prefix" } : null;
}

/**
 * The rates for `model` as {@link findModel} finds it; an unknown model gets the table's most
 * expensive rates with `unknown: true`, so spend is never under-counted and the caller can warn.
 */
export function priceFor(table: PriceTable, model: string): PriceMatch {
  const found = findModel(table, model);
  if (!found)
    return { id: null, matchedBy: "unknown", unknown: true, ...mostExpensiveRates(table) };
  const { input, output, cacheWrite, cacheRead, cacheWrite1h, longPrompt } = found.entry;
  const match: PriceMatch = {
    id: found.id,
    matchedBy: found.matchedBy,
    unknown: false,
    input,
    output,
    cacheWrite,
    cacheRead,
    ...(cacheWrite1h !== undefined && { cacheWrite1h }),
  };
  if (longPrompt) match.longPrompt = { ...longPrompt };
  return match;
}

/** Models already warned about, per warn callback: one warning per model, not per call. */
const warned = new WeakMap<(message: string) => void, Set<string>>();

function money(n: number): string {
  return `$${Number(n.toPrecision(10))}`;
}

/**
 * What `usage` cost on `model`, in dollars. An unknown model is priced at the table's most
 * expensive rates and flagged with `unknownModel`; pass `warn` to also be told once per model
 * (per `warn` function) in words fit for a log. Missing token counts count as zero.
 *
 * The long-prompt rates of a model apply when the prompt (input + cache write + cache read)
 * passes their threshold. The Claude CLI applies them per request; a usage total summed over
 * several requests may therefore be priced higher than billed, never lower.
 */
export function computeCost(
  model: string,
  usage: Partial<TokenUsage>,
  table: PriceTable = bundledPriceTable(),
  warn?: (message: string) => void,
): CostResult {
  const tokens = {
    inputTokens: usage.inputTokens ?? 0,
    outputTokens: usage.outputTokens ?? 0,
    cacheCreationTokens: usage.cacheCreationTokens ?? 0,
    cacheReadTokens: usage.cacheReadTokens ?? 0,
    cacheCreation1hTokens: usage.cacheCreation1hTokens ?? 0,
  };
  for (const [field, value] of Object.entries(tokens)) {
    if (!(Number.isFinite(value) && value >= 0)) {
      throw new ProducerError(`token count ${field} must be a number >= 0, got ${value}`);
    }
  }
  // The 1-hour writes are a part of all cache writes; never more than the whole.
  const writes1h = Math.min(tokens.cacheCreation1hTokens, tokens.cacheCreationTokens);
  const match = priceFor(table, model);
  const prompt = tokens.inputTokens + tokens.cacheCreationTokens + tokens.cacheReadTokens;
  const rates =
    match.longPrompt && prompt > match.longPrompt.abovePromptTokens ? match.longPrompt : match;
  // Summing token-dollars first and dividing once keeps the float error to one rounding.
  const micro =
    tokens.inputTokens * rates.input +
    tokens.outputTokens * rates.output +
    (tokens.cacheCreationTokens - writes1h) * rates.cacheWrite +
    writes1h * cacheWrite1hRate(rates) +
    tokens.cacheReadTokens * rates.cacheRead;
  if (match.unknown && warn) {
    const seen = warned.get(warn) ?? new Set<string>();
    warned.set(warn, seen);
    if (!seen.has(model)) {
      seen.add(model);
      warn(
        `unknown model "${model}": priced at the most expensive known rates (${money(match.input)} input, ${money(match.output)} output per million tokens) so spend is not under-counted; run \`producer pricing update\` or add it to the price override`,
      );
    }
  }
  return { costUsd: micro / 1_000_000, unknownModel: match.unknown, pricedAs: match.id };
}

function dayNumber(isoDay: string): number {
  return Math.floor(Date.parse(`${isoDay}T00:00:00Z`) / 86_400_000);
}

/** Whole UTC days from the table's `checked` date to today (by `clock`). */
export function tableAgeDays(
  table: Pick<PriceTable, "checked">,
  clock: Clock = systemClock,
): number {
  return dayNumber(utcToday(clock)) - dayNumber(table.checked);
}

/** True once the table is more than `days` old: 90 days is still fresh, 91 is stale. */
export function isStale(
  table: Pick<PriceTable, "checked">,
  clock: Clock = systemClock,
  days: number = STALE_AFTER_DAYS,
): boolean {
  return tableAgeDays(table, clock) > days;
}
