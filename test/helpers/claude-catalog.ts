// Reads what the bundled `claude` executable knows about models: its price tiers and its lists
// of deprecated and retired models. They sit in the binary as JavaScript object literals; this
// finds them by fixed anchors, turns each literal into JSON (nothing is evaluated) and parses
// it. A newer CLI that changes the format makes `readClaudeCatalog` throw, never pass quietly.
import { closeSync, openSync, readSync } from "node:fs";
import { join } from "node:path";

/** The bundled CLI of the pinned SDK (the optional platform package). */
export const CLAUDE_BINARY = join(
  import.meta.dirname,
  "..",
  "..",
  "node_modules",
  "@anthropic-ai",
  "claude-agent-sdk-linux-x64",
  "claude",
);

/** One price tier of the CLI's catalog, dollars per million tokens. */
export interface CatalogTier {
  input: number;
  output: number;
  cache_write_5m: number;
  cache_write_1h: number;
  cache_read: number;
  long_prompt?: Omit<CatalogTier, "long_prompt"> & { above_prompt_tokens: number };
}

export interface ClaudeCatalog {
  /** Model id -> its price tier. */
  prices: Record<string, CatalogTier>;
  /** Model ids (and dated ids) the CLI calls deprecated or retired, with the retirement day. */
  retiring: { ids: string[]; status: string; date: string }[];
  /** Model id -> first-party retirement date ("November 30, 2026"), where the CLI has one. */
  retirementDates: Record<string, string | null>;
}

const ANCHORS = {
  catalog: '"//":"Hand-maintained baked-in model catalog',
  retirementDates: "retirementDates:{firstParty:",
  retiring: 'status:"deprecated",date:"',
} as const;

/** Reads the catalog of the bundled CLI (about 0.5 s: the literals lie near the binary's end). */
export function readClaudeCatalog(binary = CLAUDE_BINARY): ClaudeCatalog {
  const found = findAnchors(binary);
  const catalog = parseLiteralAt(binary, found.catalog - 1) as {
    pricing_tiers: Record<string, CatalogTier>;
    models: { id: string; pricing: string }[];
  };
  const prices: Record<string, CatalogTier> = {};
  for (const model of catalog.models) {
    const tier = catalog.pricing_tiers[model.pricing];
    if (!tier) throw new Error(`catalog model ${model.id} names an unknown tier ${model.pricing}`);
    prices[model.id] = tier;
  }
  const mapStart = lastBefore(binary, found.retirementDates, '={"claude-') + 1;
  const dates = parseLiteralAt(binary, mapStart) as Record<
    string,
    { retirementDates: { firstParty: string | null } }
  >;
  const listStart = lastBefore(binary, found.retiring, '=[{family:"') + 1;
  const retiring = parseLiteralAt(binary, listStart) as ClaudeCatalog["retiring"];
  return {
    prices,
    retiring,
    retirementDates: Object.fromEntries(
      Object.entries(dates).map(([id, v]) => [id, v.retirementDates.firstParty]),
    ),
  };
}

function findAnchors(binary: string): Record<keyof typeof ANCHORS, number> {
  const fd = openSync(binary, "r");
  const chunk = Buffer.alloc(16 * 1024 * 1024);
  const overlap = 4096;
  const found: Partial<Record<keyof typeof ANCHORS, number>> = {};
  try {
    let position = 0;
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, position);
      if (read === 0) break;
      const view = chunk.subarray(0, read);
      for (const [name, anchor] of Object.entries(ANCHORS) as [keyof typeof ANCHORS, string][]) {
        if (found[name] !== undefined) continue;
        const at = view.indexOf(anchor, 0, "latin1");
        if (at !== -1) found[name] = position + at;
      }
      if (Object.keys(found).length === Object.keys(ANCHORS).length) break;
      if (read < chunk.length) break;
      position += read - overlap;
    }
  } finally {
    closeSync(fd);
  }
  for (const name of Object.keys(ANCHORS) as (keyof typeof ANCHORS)[]) {
    if (found[name] === undefined) {
      throw new Error(`the bundled claude no longer contains ${JSON.stringify(ANCHORS[name])}`);
    }
  }
  return found as Record<keyof typeof ANCHORS, number>;
}

function readWindow(binary: string, start: number, length: number): string {
  const fd = openSync(binary, "r");
  try {
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, start);
    return buffer.subarray(0, read).toString("latin1");
  } finally {
    closeSync(fd);
  }
}

/** Offset of the last `marker` that starts within 64 KiB before `offset`. */
function lastBefore(binary: string, offset: number, marker: string): number {
  const from = Math.max(0, offset - 65_536);
  const at = readWindow(binary, from, offset - from).lastIndexOf(marker);
  if (at === -1) throw new Error(`no ${marker} before offset ${offset} in the bundled claude`);
  return from + at;
}

/** Parses the object or array literal that starts at `start`. */
function parseLiteralAt(binary: string, start: number): unknown {
  const text = readWindow(binary, start, 1024 * 1024);
  if (text[0] !== "{" && text[0] !== "[") throw new Error(`no literal at offset ${start}`);
  return JSON.parse(literalToJson(text));
}

/**
 * The JSON of the first complete literal in `text`: bare keys quoted, `!0`/`!1` read as
 * true/false. Anything else that is not JSON (a variable, a call) throws.
 */
function literalToJson(text: string): string {
  let out = "";
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === "!" && (text[i + 1] === "0" || text[i + 1] === "1")) {
      out += text[i + 1] === "0" ? "true" : "false";
      i += 2;
    } else if (/[-0-9.]/.test(c)) {
      // Minified numbers: `1e5`, `.5`.
      const number = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(text.slice(i))![0];
      out += JSON.stringify(Number(number));
      i += number.length;
    } else if (/[A-Za-z_$]/.test(c)) {
      const word = /^[\w$]+/.exec(text.slice(i))![0];
      if (text[i + word.length] === ":") out += JSON.stringify(word);
      else if (word === "null" || word === "true" || word === "false") out += word;
      else throw new Error(`the literal refers to ${word}, which is not data`);
      i += word.length;
    } else {
      if (c === "{" || c === "[") depth++;
      if (c === "}" || c === "]") depth--;
      out += c;
      i++;
      if (depth === 0) return out;
    }
  }
  throw new Error("the literal does not end within the window read");
}
