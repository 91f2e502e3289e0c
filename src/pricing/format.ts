/**
 * The JSON shape of a price table, shared by the bundled `pricing.json`, the project-local
 * override and `pricing update --source` files in our own format. Reading collects every
 * problem with its key path, so one look at the message is enough to fix a hand-edited file.
 */

import { isCalendarDay } from "../clock.js";

/** The only unit a table may be written in; a per-token file would be off by a million. */
export const PRICE_UNIT = "USD per million tokens";

/** Dollar rates per million tokens for one model. */
export interface Rates {
  input: number;
  output: number;
  /** 5-minute prompt-cache writes (what the SDK's `cacheCreationInputTokens` are billed at). */
  cacheWrite: number;
  cacheRead: number;
  /**
   * 1-hour prompt-cache writes. Absent in a file = twice the input rate, the ratio Anthropic
   * publishes for every model (see {@link cacheWrite1hRate}).
   */
  cacheWrite1h?: number;
}

/** The 1-hour cache-write rate of `rates`: its own, else twice the input rate. */
export function cacheWrite1hRate(rates: Rates): number {
  return rates.cacheWrite1h ?? rates.input * 2;
}

/** Rates that apply instead once one request's prompt passes `abovePromptTokens`. */
export interface LongPromptRates extends Rates {
  /** Prompt size (input + cache write + cache read tokens) above which these rates apply. */
  abovePromptTokens: number;
}

/** One model's entry in a price table. */
export interface ModelPrice extends Rates {
  /** Other names of the same model: dated ids, short names, family aliases like `sonnet`. */
  aliases: string[];
  longPrompt?: LongPromptRates;
}

/** What a price-table file holds, before it is merged with anything. */
export interface PriceDocument {
  /** `YYYY-MM-DD` the prices were last checked, when the file says. */
  checked?: string;
  /** Where the prices came from (a URL, a file, the Claude CLI), when the file says. */
  source?: string;
  models: Record<string, ModelPrice>;
}

type Json = Record<string, unknown>;

const TOP_KEYS = new Set(["checked", "unit", "source", "models"]);
const MODEL_KEYS = new Set([
  "input",
  "output",
  "cache_write",
  "cache_write_1h",
  "cache_read",
  "aliases",
  "long_prompt",
]);
const LONG_KEYS = new Set([
  "above_prompt_tokens",
  "input",
  "output",
  "cache_write",
  "cache_write_1h",
  "cache_read",
]);

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function unknownKeys(object: Json, allowed: Set<string>, path: string, problems: string[]): void {
  for (const key of Object.keys(object)) {
    if (!allowed.has(key)) problems.push(`${path}: unknown key "${key}"`);
  }
}

function price(object: Json, key: string, path: string, problems: string[]): number {
  const value = object[key];
  if (typeof value === "number" && Number.isFinite(value) && value > 0) return value;
  problems.push(
    value === undefined
      ? `${path}.${key}: missing`
      : `${path}.${key}: expected a positive number, got ${JSON.stringify(value)}`,
  );
  return Number.NaN;
}

function rates(object: Json, path: string, problems: string[]): Rates {
  return {
    input: price(object, "input", path, problems),
    output: price(object, "output", path, problems),
    cacheWrite: price(object, "cache_write", path, problems),
    cacheRead: price(object, "cache_read", path, problems),
    ...(object.cache_write_1h !== undefined && {
      cacheWrite1h: price(object, "cache_write_1h", path, problems),
    }),
  };
}

function longPrompt(value: unknown, path: string, problems: string[]): LongPromptRates | undefined {
  if (!isObject(value)) {
    problems.push(`${path}: expected an object`);
    return undefined;
  }
  unknownKeys(value, LONG_KEYS, path, problems);
  const above = value.above_prompt_tokens;
  if (!(typeof above === "number" && Number.isSafeInteger(above) && above > 0)) {
    problems.push(`${path}.above_prompt_tokens: expected a positive whole number`);
  }
  return { abovePromptTokens: Number(above), ...rates(value, path, problems) };
}

function modelPrice(value: unknown, path: string, problems: string[]): ModelPrice {
  if (!isObject(value)) {
    problems.push(`${path}: expected an object of prices`);
    return { input: 0, output: 0, cacheWrite: 0, cacheRead: 0, aliases: [] };
  }
  unknownKeys(value, MODEL_KEYS, path, problems);
  let aliases: string[] = [];
  if (value.aliases !== undefined) {
    if (Array.isArray(value.aliases) && value.aliases.every((a) => typeof a === "string" && a)) {
      aliases = value.aliases as string[];
    } else problems.push(`${path}.aliases: expected a list of model names`);
  }
  const entry: ModelPrice = { ...rates(value, path, problems), aliases };
  if (value.long_prompt !== undefined) {
    const long = longPrompt(value.long_prompt, `${path}.long_prompt`, problems);
    if (long) entry.longPrompt = long;
  }
  return entry;
}

/** Every name must lead to one model only, or lookups would depend on file order. */
function duplicateNames(models: Record<string, ModelPrice>, problems: string[]): void {
  const owner = new Map<string, string>();
  for (const [id, entry] of Object.entries(models)) {
    for (const name of [id, ...entry.aliases]) {
      const key = name.toLowerCase();
      const first = owner.get(key);
      if (first !== undefined && first !== id) {
        problems.push(`"${name}" names both ${first} and ${id}`);
      } else owner.set(key, id);
    }
  }
}

/**
 * Reads a parsed price-table JSON value. Returns the document, or every problem found (each
 * prefixed with its key path, e.g. `models.claude-x.input: expected a positive number, got -1`).
 */
export function readPriceDocument(
  value: unknown,
): { ok: true; document: PriceDocument } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  if (!isObject(value)) return { ok: false, problems: ["expected a JSON object"] };
  unknownKeys(value, TOP_KEYS, "(top level)", problems);
  if (value.checked !== undefined && !isCalendarDay(value.checked)) {
    problems.push(`checked: expected a YYYY-MM-DD date, got ${JSON.stringify(value.checked)}`);
  }
  if (value.unit !== undefined && value.unit !== PRICE_UNIT) {
    problems.push(`unit: expected "${PRICE_UNIT}", got ${JSON.stringify(value.unit)}`);
  }
  if (value.source !== undefined && typeof value.source !== "string") {
    problems.push("source: expected text");
  }
  const models: Record<string, ModelPrice> = {};
  if (!isObject(value.models)) problems.push("models: expected an object keyed by model id");
  else {
    for (const [id, entry] of Object.entries(value.models)) {
      models[id] = modelPrice(entry, `models.${id}`, problems);
    }
    duplicateNames(models, problems);
  }
  if (problems.length > 0) return { ok: false, problems };
  const document: PriceDocument = { models };
  if (typeof value.checked === "string") document.checked = value.checked;
  if (typeof value.source === "string") document.source = value.source;
  return { ok: true, document };
}

function rateJson(r: Rates) {
  return {
    input: r.input,
    output: r.output,
    cache_write: r.cacheWrite,
    ...(r.cacheWrite1h !== undefined && { cache_write_1h: r.cacheWrite1h }),
    cache_read: r.cacheRead,
  };
}

/** The file form of a document: snake_case keys, the unit spelled out, 2-space JSON. */
export function renderPriceDocument(document: PriceDocument): string {
  const models: Record<string, unknown> = {};
  for (const [id, entry] of Object.entries(document.models)) {
    models[id] = {
      ...rateJson(entry),
      aliases: entry.aliases,
      ...(entry.longPrompt && {
        long_prompt: {
          above_prompt_tokens: entry.longPrompt.abovePromptTokens,
          ...rateJson(entry.longPrompt),
        },
      }),
    };
  }
  const file = {
    ...(document.checked && { checked: document.checked }),
    unit: PRICE_UNIT,
    ...(document.source && { source: document.source }),
    models,
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}
