import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import type { RequestListener } from "node:http";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { utcToday } from "../src/clock.js";
import { LedgerClient } from "../src/index.js";
import { bundledPriceTable, computeCost, loadPriceTable } from "../src/pricing/table.js";
import { runCli, tempProject } from "./helpers/cli.js";
import { closedPort, serveForTest } from "./helpers/http-server.js";

/** A project with its ledger, where `pricing update` records what it writes. */
async function pricedProject(yamlExtra = ""): Promise<string> {
  const dir = tempProject(yamlExtra);
  const ledger = await LedgerClient.open({ dbPath: join(dir, "agent-state", "ledger.db") });
  await ledger.close();
  return dir;
}

/** What is in agent-state besides the ledger's own files and the CLI's config cache. */
function stateFiles(dir: string): string[] {
  return readdirSync(join(dir, "agent-state")).filter(
    (f) => !f.startsWith("ledger.db") && f !== "config-cache.json",
  );
}

const FIXTURE = join(import.meta.dirname, "fixtures", "litellm-prices.json");
const GOOD = readFileSync(FIXTURE, "utf8");
const ANCHOR = {
  inputTokens: 1000,
  outputTokens: 50,
  cacheCreationTokens: 200,
  cacheReadTokens: 300,
};

/** The diff the fixture makes against the bundled table. */
const FIXTURE_DIFF = [
  "+ claude-3-haiku: input $0.25, output $1.25, cache write $0.30, cache read $0.03",
  "+ claude-opus-6: input $6.00, output $30.00, cache write $7.50, cache read $0.60",
  "~ claude-sonnet-4-5: input $3.00 → $2.50, output $15.00 → $12.50, cache write $3.75 → $3.125, cache read $0.30 → $0.25",
  "2 added, 0 removed, 1 changed",
];

/** A price server on 127.0.0.1 for this test only, closed when the test finishes. */
async function serve(handler: RequestListener): Promise<string> {
  return `${await serveForTest(handler)}/prices.json`;
}

function serveJson(body: string, status = 200): Promise<string> {
  return serve((_req, res) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(body);
  });
}

function overridePath(dir: string): string {
  return join(dir, "agent-state", "pricing.json");
}

describe("producer pricing update", () => {
  it("fetches a LiteLLM list, shows the diff and writes the override that prices calls", async () => {
    const url = await serveJson(GOOD);
    const dir = await pricedProject();
    const result = await runCli(["pricing", "update", "--source", url], { cwd: dir });
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout.split("\n")).toEqual([
      `price list ${url} (LiteLLM format): 26 Claude models`,
      "skipped 1 without cache prices: claude-2.1",
      ...FIXTURE_DIFF,
      `wrote ${overridePath(dir)}`,
      "",
    ]);

    const written = JSON.parse(readFileSync(overridePath(dir), "utf8"));
    expect(written).toMatchObject({
      checked: utcToday(),
      unit: "USD per million tokens",
      source: url,
    });
    expect(Object.keys(written.models)).toHaveLength(26);
    expect(written.models["claude-sonnet-4-5"]).toEqual({
      input: 2.5,
      output: 12.5,
      cache_write: 3.125,
      cache_read: 0.25,
      aliases: ["claude-sonnet-4-5-20250929"],
    });
    expect(written.models["claude-opus-6"].aliases).toEqual(["claude-opus-6-20261201"]);
    expect(written.models["claude-3-5-haiku"].aliases).toEqual([
      "claude-3-5-haiku-20241022",
      "claude-3-5-haiku-latest",
    ]);
    expect(written.models["claude-haiku-5-5"].long_prompt).toEqual({
      above_prompt_tokens: 100_000,
      input: 0.5,
      output: 2.5,
      cache_write: 0.625,
      cache_read: 0.05,
    });
    // Other providers' entries (gpt-4o, Bedrock, Vertex) stay out.
    expect(Object.keys(written.models).filter((m) => !m.startsWith("claude-"))).toEqual([]);
    expect(stateFiles(dir)).toEqual(["pricing.json"]);

    // The override now decides what a call costs: 2500 + 625 + 625 + 75 micro-dollars.
    const table = loadPriceTable({ overrideFile: overridePath(dir) });
    expect(computeCost("claude-sonnet-4-5", ANCHOR).costUsd).toBeCloseTo(0.00459, 12);
    expect(computeCost("claude-sonnet-4-5", ANCHOR, table).costUsd).toBeCloseTo(0.003825, 12);
    expect(computeCost("claude-opus-6-20261201", ANCHOR, table)).toMatchObject({
      unknownModel: false,
      pricedAs: "claude-opus-6",
    });

    const again = await runCli(["pricing", "update", "--source", url], { cwd: dir });
    expect(again.code).toBe(0);
    expect(again.stdout.split("\n").slice(2)).toEqual([
      "no changes",
      `wrote ${overridePath(dir)}`,
      "",
    ]);
  });

  it("reads the default source from producer.yaml and reports JSON with --json", async () => {
    const url = await serveJson(GOOD);
    const dir = await pricedProject(`pricing:\n  update_source: ${url}\n`);
    const result = await runCli(["pricing", "update", "--json"], { cwd: dir });
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      source: url,
      format: "litellm",
      checked: utcToday(),
      models: 26,
      skipped: ["claude-2.1"],
      overrideFile: overridePath(dir),
      written: true,
      replacedBrokenOverride: null,
    });
    expect(report.diff.added.map((a: { model: string }) => a.model)).toEqual([
      "claude-3-haiku",
      "claude-opus-6",
    ]);
    expect(report.diff.changed[0]).toMatchObject({
      model: "claude-sonnet-4-5",
      before: { input: 3 },
      after: { input: 2.5 },
    });
    expect(existsSync(overridePath(dir))).toBe(true);
  });

  it("writes nothing with --dry-run", async () => {
    const url = await serveJson(GOOD);
    const dir = await pricedProject();
    const result = await runCli(["pricing", "update", "--source", url, "--dry-run"], { cwd: dir });
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout.split("\n").slice(2)).toEqual([
      ...FIXTURE_DIFF,
      `dry run: nothing written (would write ${overridePath(dir)})`,
      "",
    ]);
    expect(stateFiles(dir)).toEqual([]);
  });

  it("reads --source FILE relative to the current folder", async () => {
    const dir = await pricedProject();
    writeFileSync(join(dir, "prices.json"), GOOD);
    const result = await runCli(["pricing", "update", "--source", "prices.json"], { cwd: dir });
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout.split("\n")[0]).toBe(
      `price list ${join(dir, "prices.json")} (LiteLLM format): 26 Claude models`,
    );
    expect(JSON.parse(readFileSync(overridePath(dir), "utf8")).source).toBe(
      join(dir, "prices.json"),
    );
    const missing = await runCli(["pricing", "update", "--source", "nope.json"], { cwd: dir });
    expect(missing).toMatchObject({
      code: 1,
      stdout: "",
      stderr: `producer: could not read price list ${join(dir, "nope.json")}: no such file\n`,
    });
  });

  /** Each failure is one line, exit 1, and leaves the existing override byte for byte. */
  async function expectFailure(source: string, stderr: string): Promise<void> {
    const dir = await pricedProject();
    const before = '{ "models": {} }\n';
    writeFileSync(overridePath(dir), before);
    const result = await runCli(["pricing", "update", "--source", source], { cwd: dir });
    expect(result).toMatchObject({ code: 1, stdout: "", stderr: `producer: ${stderr}\n` });
    expect(readFileSync(overridePath(dir), "utf8")).toBe(before);
    expect(stateFiles(dir)).toEqual(["pricing.json"]);
  }

  it("refuses a malformed list", async () => {
    const url = await serveJson('{ "claude-sonnet-4-5": { "input_cost_per_token": 3e-6, ');
    await expectFailure(url, `price list from ${url} is not valid JSON`);
    const other = await serveJson('{ "models": "none", "colour": "blue" }');
    await expectFailure(
      other,
      `price list from ${other} is neither a LiteLLM price list nor a producer price table`,
    );
  });

  it("refuses a list that fails validation, naming each problem", async () => {
    const list = JSON.parse(GOOD) as Record<string, Record<string, unknown>>;
    list["claude-sonnet-4-6"]!.input_cost_per_token = -3e-6;
    list["claude-opus-4-6"]!.cache_read_input_token_cost = 6e-6;
    for (const key of Object.keys(list)) if (key.includes("haiku")) delete list[key];
    const url = await serveJson(JSON.stringify(list));
    await expectFailure(
      url,
      `price list from ${url} failed validation: claude-sonnet-4-6: input $-3 is not a positive price; claude-opus-4-6: cache read $6 is not below input $5; no haiku model`,
    );
  });

  it("warns about bundled models the list lacks, which keep their bundled prices", async () => {
    const list = JSON.parse(GOOD) as Record<string, Record<string, unknown>>;
    for (const key of Object.keys(list)) if (key.includes("claude-3-5-haiku")) delete list[key];
    const url = await serveJson(JSON.stringify(list));
    const dir = await pricedProject();
    const result = await runCli(["pricing", "update", "--source", url], { cwd: dir });
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toContain(
      "warning: 1 bundled model is not in the list and keeps its bundled prices: claude-3-5-haiku\n",
    );
    const table = loadPriceTable({ overrideFile: join(dir, "agent-state", "pricing.json") });
    expect(table.models["claude-3-5-haiku"]).toEqual(
      bundledPriceTable().models["claude-3-5-haiku"],
    );
  });

  it("reports HTTP errors and an unreachable server in one line", async () => {
    const url = await serve((_req, res) => {
      res.writeHead(500);
      res.end("oops");
    });
    await expectFailure(
      url,
      `could not fetch price list from ${url}: HTTP 500 Internal Server Error`,
    );
    const dead = `http://127.0.0.1:${await closedPort()}/prices.json`;
    const port = new URL(dead).port;
    await expectFailure(
      dead,
      `could not fetch price list from ${dead}: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
  });

  it("treats a bad --source or flag as a usage error (exit 2)", async () => {
    const dir = await pricedProject();
    const ftp = await runCli(["pricing", "update", "--source", "ftp://example.com/p.json"], {
      cwd: dir,
    });
    expect(ftp).toMatchObject({
      code: 2,
      stderr:
        'producer: --source must be an http(s) URL or a file path, not "ftp://example.com/p.json"\n',
    });
    const bogus = await runCli(["pricing", "update", "--bogus"], { cwd: dir });
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain("unknown option '--bogus'");
    expect(stateFiles(dir)).toEqual([]);
  });

  it("repairs a broken override instead of refusing to run", async () => {
    const url = await serveJson(GOOD);
    const dir = await pricedProject();
    writeFileSync(overridePath(dir), "not json");
    const result = await runCli(["pricing", "update", "--source", url], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout.split("\n")[2]).toMatch(
      `replacing a broken override: price override ${overridePath(dir)} is not valid JSON: `,
    );
    expect(Object.keys(loadPriceTable({ overrideFile: overridePath(dir) }).models)).toHaveLength(
      26,
    );
    expect(bundledPriceTable().models["claude-opus-6"]).toBeUndefined();
  });
});
