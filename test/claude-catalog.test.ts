// Our defaults and prices, held against what the bundled `claude` itself knows about models.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/config/load.js";
import { cacheWrite1hRate } from "../src/pricing/format.js";
import { bundledPriceTable, computeCost, findModel } from "../src/pricing/table.js";
import { readClaudeCatalog } from "./helpers/claude-catalog.js";

const catalog = readClaudeCatalog();

describe("the bundled claude's model catalog", () => {
  it("does not mark our default model deprecated or retired, and knows its price", () => {
    const yaml = "agents:\n  code:\n    daily_cap_usd: 1\n";
    const model = parseConfig(yaml, "/tmp/p/producer.yaml", {}).agents.code!.model;
    const retiring = catalog.retiring.filter((r) => r.ids.includes(model));
    expect(retiring, `${model} is listed as ${JSON.stringify(retiring)}`).toEqual([]);
    expect(Object.keys(catalog.retirementDates)).not.toContain(model);
    expect(Object.keys(catalog.prices)).toContain(model);
    // The check can fail: the model we used to default to is on the list.
    expect(catalog.retiring.some((r) => r.ids.includes("claude-sonnet-4-5"))).toBe(true);
  });

  it("prices every model as our bundled table does, 1-hour cache writes included", () => {
    const table = bundledPriceTable();
    for (const [id, tier] of Object.entries(catalog.prices)) {
      const ours = findModel(table, id);
      expect(ours?.id, `${id} is missing from pricing.json`).toBe(id);
      const mine = ours!.entry;
      expect(
        {
          input: mine.input,
          output: mine.output,
          cacheWrite: mine.cacheWrite,
          cacheWrite1h: cacheWrite1hRate(mine),
          cacheRead: mine.cacheRead,
        },
        id,
      ).toEqual({
        input: tier.input,
        output: tier.output,
        cacheWrite: tier.cache_write_5m,
        cacheWrite1h: tier.cache_write_1h,
        cacheRead: tier.cache_read,
      });
      if (tier.long_prompt) {
        expect(mine.longPrompt, id).toMatchObject({
          abovePromptTokens: tier.long_prompt.above_prompt_tokens,
          input: tier.long_prompt.input,
          cacheWrite: tier.long_prompt.cache_write_5m,
        });
        expect(cacheWrite1hRate(mine.longPrompt!)).toBe(tier.long_prompt.cache_write_1h);
      }
    }
  });

  it("charges 1-hour cache writes at their own rate", () => {
    const usage = {
      inputTokens: 0,
      outputTokens: 0,
      cacheCreationTokens: 1_000_000,
      cacheReadTokens: 0,
      cacheCreation1hTokens: 400_000,
    };
    const tier = catalog.prices["claude-sonnet-5-5"]!;
    expect(computeCost("claude-sonnet-5-5", usage).costUsd).toBeCloseTo(
      0.6 * tier.cache_write_5m + 0.4 * tier.cache_write_1h,
      12,
    );
    // More 1-hour writes than writes in all is bad input: never more than the whole.
    expect(
      computeCost("claude-sonnet-5-5", { ...usage, cacheCreation1hTokens: 5_000_000 }).costUsd,
    ).toBeCloseTo(tier.cache_write_1h, 12);
  });
});
