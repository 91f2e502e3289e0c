/**
 * A fetched price list, before it may become the project's override: read from the LiteLLM
 * format or our own, checked for sanity, and folded onto the bundled table's model ids.
 */
import { ProducerError } from "../errors.js";
import { type LongPromptRates, type ModelPrice, type Rates, readPriceDocument } from "./format.js";
import { findModel, isVersionSafePrefix, normaliseModelName, type PriceTable } from "./table.js";

/** One model as the list names it. */
export interface IncomingEntry {
  /** The list's key for it (a LiteLLM key, or our model id). */
  name: string;
  /** Further names the list gives it (our format's aliases). */
  aliases: string[];
  /** Per million tokens; NaN where the list gave something that is not a number. */
  rates: Rates;
  longPrompt?: LongPromptRates;
}

/** What a price list held. */
export interface IncomingList {
  format: "litellm" | "producer";
  /** The list's own checked date (our format only). */
  checked?: string;
  entries: IncomingEntry[];
  /** Claude chat entries left out because the list has no cache prices for them. */
  skipped: string[];
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** LiteLLM gives dollars per token; we keep per million, rounded off the float noise. */
function perMillion(value: unknown): number {
  return typeof value === "number" ? Number((value * 1_000_000).toPrecision(12)) : Number.NaN;
}

const LITELLM_FIELDS = {
  input: "input_cost_per_token",
  output: "output_cost_per_token",
  cacheWrite: "cache_creation_input_token_cost",
  cacheRead: "cache_read_input_token_cost",
} as const;

function litellmRates(entry: Json, suffix = ""): Rates | null {
  const fields = Object.values(LITELLM_FIELDS).map((f) => entry[`${f}${suffix}`]);
  if (fields.some((v) => v === undefined || v === null)) return null;
  const [input, output, cacheWrite, cacheRead] = fields.map(perMillion) as [
    number,
    number,
    number,
    number,
  ];
  return { input, output, cacheWrite, cacheRead };
}

/** LiteLLM spells long-context prices `input_cost_per_token_above_200k_tokens` and so on. */
function litellmLongPrompt(entry: Json): LongPromptRates | undefined {
  const thresholds = Object.keys(entry)
    .map((k) => /^input_cost_per_token_above_(\d+)k_tokens$/.exec(k)?.[1])
    .filter((k): k is string => k !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  for (const thousands of thresholds) {
    const rates = litellmRates(entry, `_above_${thousands}k_tokens`);
    if (rates) return { abovePromptTokens: thousands * 1000, ...rates };
  }
  return undefined;
}

function readLitellm(list: Json): IncomingList {
  const entries: IncomingEntry[] = [];
  const skipped: string[] = [];
  for (const [key, value] of Object.entries(list)) {
    if (!isObject(value) || value.litellm_provider !== "anthropic" || value.mode !== "chat") {
      continue;
    }
    if (!key.startsWith("claude-")) continue;
    const rates = litellmRates(value);
    if (!rates) {
      skipped.push(key);
      continue;
    }
    const entry: IncomingEntry = { name: key, aliases: [], rates };
    const long = litellmLongPrompt(value);
    if (long) entry.longPrompt = long;
    entries.push(entry);
  }
  return { format: "litellm", entries, skipped };
}

/**
 * Reads a parsed price list: the LiteLLM `model_prices_and_context_window.json` format (kept:
 * `litellm_provider: "anthropic"`, `mode: "chat"`, key starting `claude-`) or our own table
 * format. Throws a ProducerError naming `source` when it is neither, or holds no Claude model.
 */
export function readPriceList(value: unknown, source: string): IncomingList {
  if (!isObject(value)) {
    throw new ProducerError(`price list from ${source} is not a JSON object`);
  }
  const litellm = Object.values(value).some(
    (v) => isObject(v) && typeof v.litellm_provider === "string",
  );
  let list: IncomingList;
  if (litellm) list = readLitellm(value);
  else if (isObject(value.models)) {
    const read = readPriceDocument(value);
    if (!read.ok) {
      throw new ProducerError(
        `price list from ${source} is malformed: ${read.problems.join("; ")}`,
      );
    }
    list = {
      format: "producer",
      entries: Object.entries(read.document.models).map(([name, m]) => {
        const { aliases, longPrompt, ...rates } = m;
        return { name, aliases, rates: { ...rates }, ...(longPrompt && { longPrompt }) };
      }),
      skipped: [],
    };
    if (read.document.checked) list.checked = read.document.checked;
  } else {
    throw new ProducerError(
      `price list from ${source} is neither a LiteLLM price list nor a producer price table`,
    );
  }
  if (list.entries.length === 0) {
    throw new ProducerError(`price list from ${source} has no Claude chat models with prices`);
  }
  return list;
}

function dollars(n: number): string {
  return Number.isNaN(n) ? "(not a number)" : `$${n}`;
}

const LABELS: [Exclude<keyof Rates, "cacheWrite1h">, string][] = [
  ["input", "input"],
  ["output", "output"],
  ["cacheWrite", "cache write"],
  ["cacheRead", "cache read"],
];

/** Sane bounds for per-million prices: a unit mix-up or a typo lands far outside them. */
function rateProblems(who: string, r: Rates): string[] {
  const problems = LABELS.filter(([key]) => !(Number.isFinite(r[key]) && r[key] > 0)).map(
    ([key, label]) => `${who}: ${label} ${dollars(r[key])} is not a positive price`,
  );
  if (problems.length > 0) return problems;
  if (r.input < 0.01 || r.input > 200) {
    problems.push(`${who}: input ${dollars(r.input)} per million is outside $0.01 to $200`);
  }
  if (r.output < r.input) {
    problems.push(`${who}: output ${dollars(r.output)} is below input ${dollars(r.input)}`);
  }
  if (r.output > 1000)
    problems.push(`${who}: output ${dollars(r.output)} per million is above $1000`);
  if (r.cacheRead >= r.input) {
    problems.push(
      `${who}: cache read ${dollars(r.cacheRead)} is not below input ${dollars(r.input)}`,
    );
  }
  if (r.cacheWrite < r.input * 0.5) {
    problems.push(
      `${who}: cache write ${dollars(r.cacheWrite)} is below half of input ${dollars(r.input)}`,
    );
  }
  return problems;
}

/**
 * Every reason `list` must not replace the prices in force, each naming its model: prices out
 * of bounds, or a missing opus, sonnet or haiku family. Empty when the list is fit to use.
 */
export function validatePriceList(list: IncomingList): string[] {
  const problems: string[] = [];
  for (const entry of list.entries) {
    problems.push(...rateProblems(entry.name, entry.rates));
    if (entry.longPrompt) {
      problems.push(...rateProblems(`${entry.name} long prompt`, entry.longPrompt));
    }
  }
  const names = list.entries.flatMap((e) => [e.name, ...e.aliases].map(normaliseModelName));
  for (const family of ["opus", "sonnet", "haiku"]) {
    if (!names.some((n) => n.includes(family))) problems.push(`no ${family} model`);
  }
  return problems;
}

/**
 * The bundled models `list` does not cover (by id, alias or dated id). They keep their
 * bundled prices, since an override replaces only the models it names: worth a warning, not
 * a refusal (a list that lags behind the bundled catalog must still be usable).
 */
export function modelsMissingFrom(list: IncomingList, bundled: PriceTable): string[] {
  const names = list.entries.flatMap((e) => [e.name, ...e.aliases].map(normaliseModelName));
  return Object.entries(bundled.models)
    .filter(([id, entry]) => {
      const own = [id, ...entry.aliases].map((n) => n.toLowerCase());
      return !names.some((n) => own.some((o) => n === o || isVersionSafePrefix(o, n)));
    })
    .map(([id]) => id);
}

const RANK = { id: 0, alias: 1, prefix: 2, none: 3 } as const;

/** A dated or `-latest` key belongs with its undated name: `claude-x-20250101` -> `claude-x`. */
function undated(name: string): string {
  return name.replace(/(?:-latest|[-@]\d{8})$/, "");
}

/**
 * Folds the list onto model ids: an entry that names a bundled model (by id, alias or dated id)
 * becomes that model, keeping its aliases; other entries group under their undated name. Where
 * several entries land on one model, the one naming it most exactly sets the price.
 */
export function groupPriceList(
  list: IncomingList,
  bundled: PriceTable,
): Record<string, ModelPrice> {
  const groups = new Map<string, { rank: number; entry: IncomingEntry; names: Set<string> }>();
  for (const entry of list.entries) {
    const names = [entry.name, ...entry.aliases];
    let target = list.format === "producer" ? entry.name : undated(entry.name);
    let rank: number = RANK.none;
    for (const name of names) {
      const found = findModel(bundled, name);
      if (found && RANK[found.matchedBy] < rank) {
        target = found.id;
        rank = RANK[found.matchedBy];
      }
    }
    if (rank === RANK.none && names.some((n) => n === target)) rank = RANK.id;
    const group = groups.get(target);
    if (!group) groups.set(target, { rank, entry, names: new Set(names) });
    else {
      for (const n of names) group.names.add(n);
      if (rank < group.rank) Object.assign(group, { rank, entry });
    }
  }
  const order = [
    ...Object.keys(bundled.models).filter((id) => groups.has(id)),
    ...[...groups.keys()].filter((id) => !(id in bundled.models)).sort(),
  ];
  const models: Record<string, ModelPrice> = {};
  for (const id of order) {
    const { entry, names } = groups.get(id)!;
    const aliases = new Set(bundled.models[id]?.aliases ?? []);
    for (const n of names) if (n !== id) aliases.add(n);
    models[id] = { ...entry.rates, aliases: [...aliases] };
    if (entry.longPrompt) models[id].longPrompt = { ...entry.longPrompt };
  }
  return models;
}
