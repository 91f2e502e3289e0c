import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../src/clock.js";
import { ProducerError } from "../src/errors.js";
import { readPriceDocument } from "../src/pricing/format.js";
import { modelsMissingFrom, readPriceList, validatePriceList } from "../src/pricing/incoming.js";
import {
  bundledPriceTable,
  computeCost,
  isStale,
  loadPriceTable,
  priceFor,
  tableAgeDays,
} from "../src/pricing/table.js";
import { updatePricing } from "../src/pricing/update.js";
import { tempDir } from "./helpers/temp.js";

/** The usage the Claude CLI was measured with (SDK-NOTES: $0.00459 on claude-sonnet-4-5). */
const ANCHOR = {
  inputTokens: 1000,
  outputTokens: 50,
  cacheCreationTokens: 200,
  cacheReadTokens: 300,
};

/**
 * ANCHOR priced by hand from the CLI's per-million rates, e.g. sonnet 4.5 at $3 / $15 / $3.75 /
 * $0.30: 1000*3 + 50*15 + 200*3.75 + 300*0.3 = 4590 micro-dollars.
 */
const HAND_PRICED: Record<string, number> = {
  "claude-3-5-haiku": 0.001224, // 0.8 / 4 / 1 / 0.08
  "claude-haiku-4-5": 0.00153, // 1 / 5 / 1.25 / 0.1
  "claude-haiku-5-5": 0.000153, // 0.1 / 0.5 / 0.125 / 0.01
  "claude-3-5-sonnet": 0.00459,
  "claude-3-7-sonnet": 0.00459,
  "claude-sonnet-4-0": 0.00459,
  "claude-sonnet-4-5": 0.00459,
  "claude-sonnet-4-6": 0.00459,
  "claude-sonnet-5": 0.00306, // 2 / 10 / 2.5 / 0.2
  "claude-sonnet-5-5": 0.00303, // 2 / 10 / 2.5 / 0.1
  "claude-opus-4-0": 0.02295, // 15 / 75 / 18.75 / 1.5
  "claude-opus-4-1": 0.02295,
  "claude-opus-4-5": 0.00765, // 5 / 25 / 6.25 / 0.5
  "claude-opus-4-6": 0.00765,
  "claude-opus-4-7": 0.00765,
  "claude-opus-4-8": 0.00765,
  "claude-opus-5": 0.00765,
  "claude-opus-5-5": 0.00606, // 4 / 20 / 5 / 0.2
  "claude-fable-5": 0.0153, // 10 / 50 / 12.5 / 1
  "claude-fable-5-1": 0.015075, // 10 / 50 / 12.5 / 0.25
  "claude-fable-5-2": 0.01206, // 8 / 40 / 10 / 0.2
  "claude-mythos-5": 0.0153,
  "claude-mythos-5-1": 0.015075,
  "claude-mythos-5-2": 0.01206,
};

function writeJson(dir: string, name: string, value: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof value === "string" ? value : JSON.stringify(value));
  return file;
}

describe("bundled price table", () => {
  it("prices every bundled model as computed by hand", () => {
    const table = bundledPriceTable();
    expect(Object.keys(table.models).sort()).toEqual(Object.keys(HAND_PRICED).sort());
    for (const [model, expected] of Object.entries(HAND_PRICED)) {
      const cost = computeCost(model, ANCHOR, table);
      expect(cost, model).toMatchObject({ unknownModel: false, pricedAs: model });
      expect(cost.costUsd, model).toBeCloseTo(expected, 12);
    }
  });

  it("matches the Claude CLI's own figure for claude-sonnet-4-5: $0.00459", () => {
    expect(computeCost("claude-sonnet-4-5", ANCHOR).costUsd).toBeCloseTo(0.00459, 12);
    expect(priceFor(bundledPriceTable(), "claude-sonnet-4-5")).toMatchObject({
      input: 3,
      output: 15,
      cacheWrite: 3.75,
      cacheRead: 0.3,
    });
  });

  it("passes its own update validation, so a copy of it is a valid override", () => {
    const table = bundledPriceTable();
    const list = readPriceList(JSON.parse(readFileSync("src/pricing/pricing.json", "utf8")), "x");
    expect(validatePriceList(list)).toEqual([]);
    expect(modelsMissingFrom(list, table)).toEqual([]);
    expect(table.checked).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});

describe("priceFor", () => {
  const table = bundledPriceTable();

  it("finds dated ids, provider spellings and [1m] by the longest safe prefix", () => {
    for (const [model, id] of [
      ["claude-opus-4-6-20260205", "claude-opus-4-6"],
      ["claude-sonnet-4-5@20250929", "claude-sonnet-4-5"],
      ["us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"],
      ["claude-opus-4-6[1m]", "claude-opus-4-6"],
      ["claude-3-7-sonnet-latest", "claude-3-7-sonnet"],
      ["CLAUDE-OPUS-4-1-20250805", "claude-opus-4-1"],
    ] as const) {
      expect(priceFor(table, model), model).toMatchObject({ id, unknown: false });
    }
    expect(priceFor(table, "claude-opus-4-6-20260205").matchedBy).toBe("prefix");
  });

  it("finds aliases: dated first-party ids, short names, family names", () => {
    expect(priceFor(table, "claude-sonnet-4-20250514")).toMatchObject({
      id: "claude-sonnet-4-0",
      matchedBy: "alias",
    });
    expect(priceFor(table, "claude-opus-4")).toMatchObject({ id: "claude-opus-4-0" });
    expect(priceFor(table, "sonnet")).toMatchObject({
      id: "claude-sonnet-5-5",
      matchedBy: "alias",
    });
    expect(priceFor(table, "haiku")).toMatchObject({ id: "claude-haiku-5-5" });
  });

  it("never prices a different version by prefix", () => {
    for (const model of ["claude-sonnet-4-7", "claude-opus-4-10", "claude-sonnet-5-7-20270101"]) {
      expect(priceFor(table, model), model).toMatchObject({ id: null, unknown: true });
    }
  });
});

describe("computeCost", () => {
  it("prices an unknown model at the most expensive known rates, flags it, warns once", () => {
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    const cost = computeCost("gpt-9", ANCHOR, bundledPriceTable(), warn);
    // The dearest rates in the table are opus 4 / 4.1's: $15 / $75 / $18.75 / $1.50.
    expect(cost).toMatchObject({ unknownModel: true, pricedAs: null });
    expect(cost.costUsd).toBeCloseTo(0.02295, 12);
    computeCost("gpt-9", ANCHOR, bundledPriceTable(), warn);
    computeCost("claude-sonnet-4-5", ANCHOR, bundledPriceTable(), warn);
    expect(warnings).toEqual([
      'unknown model "gpt-9": priced at the most expensive known rates ($15 input, $75 output per million tokens) so spend is not under-counted; run `producer pricing update` or add it to the price override',
    ]);
    const other: string[] = [];
    computeCost("gpt-9", ANCHOR, bundledPriceTable(), (m) => other.push(m));
    expect(other).toHaveLength(1);
  });

  it("applies long-prompt rates only above the threshold, and counts missing fields as 0", () => {
    const at = computeCost("claude-haiku-5-5", { inputTokens: 100_000 });
    expect(at.costUsd).toBeCloseTo((100_000 * 0.1) / 1e6, 12);
    const above = computeCost("claude-haiku-5-5", { inputTokens: 90_000, cacheReadTokens: 10_001 });
    expect(above.costUsd).toBeCloseTo((90_000 * 0.5 + 10_001 * 0.05) / 1e6, 12);
  });

  it("refuses a negative token count rather than under-count", () => {
    expect(() => computeCost("claude-sonnet-4-5", { inputTokens: -5 })).toThrow(
      "token count inputTokens must be a number >= 0, got -5",
    );
  });
});

describe("loadPriceTable with a project override", () => {
  const clock = new ManualClock(Date.parse("2026-12-01T12:00:00Z"));

  it("is the bundled table when the override file does not exist", () => {
    const dir = tempDir();
    const table = loadPriceTable({ overrideFile: join(dir, "none.json"), clock });
    expect(table).toEqual(bundledPriceTable());
    expect(table.overrideFile).toBeNull();
  });

  it("lets the override win model by model, and take its date and its names", () => {
    const dir = tempDir();
    const overrideFile = writeJson(dir, "pricing.json", {
      checked: "2026-11-30",
      unit: "USD per million tokens",
      models: {
        "claude-sonnet-4-5": { input: 2, output: 10, cache_write: 2.5, cache_read: 0.2 },
        "claude-house": {
          input: 1,
          output: 2,
          cache_write: 1.5,
          cache_read: 0.5,
          aliases: ["sonnet"],
        },
      },
    });
    const table = loadPriceTable({ overrideFile, clock });
    expect(table).toMatchObject({ checked: "2026-11-30", overrideFile });
    expect(computeCost("claude-sonnet-4-5", ANCHOR, table).costUsd).toBeCloseTo(0.00306, 12);
    // The dated id still reaches the overridden entry through its prefix.
    expect(computeCost("claude-sonnet-4-5-20250929", ANCHOR, table).costUsd).toBeCloseTo(
      0.00306,
      12,
    );
    expect(computeCost("claude-opus-4-1", ANCHOR, table).costUsd).toBeCloseTo(0.02295, 12);
    expect(priceFor(table, "claude-house")).toMatchObject({ id: "claude-house", input: 1 });
    expect(priceFor(table, "sonnet").id).toBe("claude-house");
    expect(table.models["claude-sonnet-5-5"]?.aliases).not.toContain("sonnet");
  });

  it("keeps the bundled date when the override gives none", () => {
    const dir = tempDir();
    const overrideFile = writeJson(dir, "pricing.json", { models: {} });
    expect(loadPriceTable({ overrideFile, clock }).checked).toBe(bundledPriceTable().checked);
  });

  it("names the file and every problem of a malformed override", () => {
    const dir = tempDir();
    const bad = writeJson(dir, "bad.json", {
      unit: "USD per token",
      models: { "claude-x": { input: -1, output: 5, cache_write: 1, cache_read: 0.1, extra: 1 } },
    });
    expect(() => loadPriceTable({ overrideFile: bad, clock })).toThrow(
      new ProducerError(
        `price override ${bad} is malformed: unit: expected "USD per million tokens", got "USD per token"; models.claude-x: unknown key "extra"; models.claude-x.input: expected a positive number, got -1`,
      ),
    );
    const notJson = writeJson(dir, "notjson.json", "{ checked: today");
    expect(() => loadPriceTable({ overrideFile: notJson, clock })).toThrow(
      `price override ${notJson} is not valid JSON: `,
    );
    const future = writeJson(dir, "future.json", { checked: "2027-06-01", models: {} });
    expect(() => loadPriceTable({ overrideFile: future, clock })).toThrow(
      `price override ${future} is malformed: checked date 2027-06-01 is in the future (today is 2026-12-01)`,
    );
  });
});

describe("staleness", () => {
  it("is fresh at 90 days and stale at 91", () => {
    const table = { checked: "2026-01-01" };
    const clock = new ManualClock(Date.parse("2026-04-01T23:59:59Z"));
    expect(tableAgeDays(table, clock)).toBe(90);
    expect(isStale(table, clock)).toBe(false);
    clock.advance(1000);
    expect(tableAgeDays(table, clock)).toBe(91);
    expect(isStale(table, clock)).toBe(true);
    expect(isStale(table, clock, 120)).toBe(false);
  });
});

describe("updatePricing from a file in our own format", () => {
  it("keeps the file's checked date and folds dated ids onto bundled models", async () => {
    const dir = tempDir();
    const bundled = JSON.parse(readFileSync("src/pricing/pricing.json", "utf8"));
    bundled.checked = "2026-10-01";
    const opus = bundled.models["claude-opus-4-1"];
    delete bundled.models["claude-opus-4-1"];
    bundled.models["claude-opus-4-1-20250805"] = { ...opus, input: 14, aliases: [] };
    const source = writeJson(dir, "ours.json", bundled);
    const overrideFile = join(dir, "state", "pricing.json");
    const result = await updatePricing({ source: { kind: "file", path: source }, overrideFile });
    expect(result).toMatchObject({ format: "producer", checked: "2026-10-01", written: true });
    expect(result.diff.changed.map((c) => [c.model, c.before.input, c.after.input])).toEqual([
      ["claude-opus-4-1", 15, 14],
    ]);
    const written = readPriceDocument(JSON.parse(readFileSync(overrideFile, "utf8")));
    expect(written.ok && written.document.models["claude-opus-4-1"]?.aliases).toEqual([
      "claude-opus-4-1-20250805",
    ]);
  });
});
