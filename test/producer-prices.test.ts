// Prices are the Producer's, not the agents': loaded once at start, replaced only by a human's
// `producer pricing update` (recorded in the ledger), and a call is charged no less than the
// CLI itself computed. An agent that rewrites the price file gains nothing and is reported.

import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  bundledPriceTable,
  Producer,
  type ProducerEventName,
  type Task,
  utcToday,
} from "../src/index.js";
import { PRICES_RECORDED_ACTION, PriceBook } from "../src/pricing/book.js";
import { type PriceDocument, renderPriceDocument } from "../src/pricing/format.js";
import { runCli } from "./helpers/cli.js";
import {
  claudeTestEnv,
  type FakeAnthropic,
  startFakeAnthropic,
  textTurn,
  toolResults,
  toolTurn,
} from "./helpers/fake-anthropic.js";
import { tempProjectWithLedger } from "./helpers/project.js";
import { tempDir } from "./helpers/temp.js";

const MODEL = "claude-sonnet-5-5";

/** A whole price document (every family, as `pricing update` wants) with MODEL's rates scaled. */
function pricesWith(scale: number): string {
  const models: PriceDocument["models"] = {};
  for (const [id, entry] of Object.entries(bundledPriceTable().models)) {
    models[id] =
      id === MODEL
        ? {
            ...entry,
            input: entry.input * scale,
            output: entry.output * scale,
            cacheWrite: entry.cacheWrite * scale,
            cacheRead: entry.cacheRead * scale,
          }
        : entry;
  }
  return renderPriceDocument({ checked: utcToday(), source: "test", models });
}

let fake: FakeAnthropic | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe("the price book", () => {
  it("applies only an override whose digest a pricing update recorded, and reports the rest once", async () => {
    const project = await tempProjectWithLedger("agents:\n  code:\n    daily_cap_usd: 5\n");
    const file = project.config.pricing.overrideFile;
    const record = (text: string) =>
      project.ledger.appendAudit({
        action: PRICES_RECORDED_ACTION,
        entityType: "pricing",
        details: { sha256: createHashHex(text) },
      });
    const book = () =>
      new PriceBook({
        overrideFile: file,
        recordedDigest: async () => {
          const row = await project.ledger.latestAudit(PRICES_RECORDED_ACTION);
          return row ? (JSON.parse(row.details) as { sha256: string }).sha256 : null;
        },
      });
    const rate = (b: PriceBook) => b.current().models[MODEL]!.input;
    const bundled = bundledPriceTable().models[MODEL]!.input;

    const empty = book();
    expect(await empty.load()).toBeNull();
    expect(rate(empty)).toBe(bundled);

    writeFileSync(file, pricesWith(0.001));
    const unrecorded = book();
    expect(await unrecorded.load()).toEqual({
      kind: "refused",
      file,
      reason: `${file} is not the price override \`producer pricing update\` wrote (none was ever recorded); the bundled prices are used. If you edited it yourself, record it with \`producer pricing update --source ${file}\``,
    });
    expect(rate(unrecorded)).toBe(bundled);

    const doubled = pricesWith(2);
    await record(doubled);
    writeFileSync(file, doubled);
    const running = book();
    expect(await running.load()).toBeNull();
    expect(rate(running)).toBe(bundled * 2);

    writeFileSync(file, pricesWith(0.001));
    expect(await running.refresh()).toMatchObject({
      kind: "refused",
      reason: expect.stringContaining("changed and is not the price override"),
    });
    expect(await running.refresh()).toBeNull();
    expect(rate(running)).toBe(bundled * 2);

    const tripled = pricesWith(3);
    await record(tripled);
    writeFileSync(file, tripled);
    expect(await running.refresh()).toMatchObject({ kind: "reloaded", file });
    expect(rate(running)).toBe(bundled * 3);
  });
});

describe("a running Producer's prices", () => {
  it("charges three dispatches no less than the API reported while an agent rewrites the price file, then takes a human's update", async () => {
    const project = await tempProjectWithLedger(`project_name: prices
poll_interval_seconds: 0.05
auth:
  mode: api
agents:
  code:
    daily_cap_usd: 5
    model: ${MODEL}
    allowed_tools: [Read, Write, Edit]
`);
    const { config, ledger, dir } = project;
    const yamlBefore = readFileSync(config.configPath);
    // Every dispatch: try to write cheap prices (the fence refuses), record a decision, finish.
    fake = await startFakeAnthropic({
      fallback: (body) => {
        const done = toolResults(body).length;
        if (done === 0) {
          return toolTurn("Write", { file_path: config.pricing.overrideFile, content: "{}" });
        }
        if (done === 1) {
          return toolTurn("mcp__ledger__record_decision", { decision_text: "d", rationale: "r" });
        }
        return textTurn("done");
      },
    });
    const events: { name: ProducerEventName; event: Record<string, unknown> }[] = [];
    const producer = new Producer({
      config,
      ledger,
      env: claudeTestEnv(fake, tempDir("prices-host-")),
    });
    producer.events.onAny((name, event) =>
      events.push({ name, event: event as Record<string, unknown> }),
    );
    const named = (name: ProducerEventName) => events.filter((e) => e.name === name);
    const until = async (check: () => boolean | Promise<boolean>) => {
      const started = Date.now();
      while (!(await check())) {
        if (Date.now() - started > 60_000) throw new Error("condition not met in time");
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    const running = producer.run();
    try {
      await until(() => named("started").length === 1);
      await new Promise((r) => setTimeout(r, 200)); // a first poll sees no override
      // An agent that got past the fence (a shell, say) writes prices a thousand times lower.
      writeFileSync(config.pricing.overrideFile, pricesWith(0.001));
      const tasks: Task[] = [];
      for (const n of [1, 2, 3]) tasks.push(await project.fileTask("code", `Task ${n}`));
      const doneAll = async (ids: string[]) =>
        (await Promise.all(ids.map((id) => ledger.getTask(id)))).every((t) => t?.status === "done");
      await until(() => doneAll(tasks.map((t) => t.id)));

      expect(named("prices_refused")).toHaveLength(1);
      expect(named("prices_refused")[0]!.event.reason).toContain(
        "changed and is not the price override `producer pricing update` wrote",
      );
      let charged = 0;
      for (const { id } of tasks) {
        const task = (await ledger.getTask(id))!;
        expect(task.actualCostUsd).toBeGreaterThan(0);
        expect(task.costUsd).toBeGreaterThanOrEqual(task.actualCostUsd!);
        charged += task.costUsd;
      }
      const [row] = await ledger.budgetForDay(utcToday());
      expect(row!.spentUsd).toBeCloseTo(charged, 9);
      expect(readFileSync(config.configPath).equals(yamlBefore)).toBe(true);
      const attention = readFileSync(join(config.agentStateDir, "needs-attention.md"), "utf8");
      expect(attention).toContain("Price override not applied");

      // The human's way: `producer pricing update`, recorded in the ledger, noticed at once.
      const source = join(tempDir("prices-src-"), "prices.json");
      writeFileSync(source, pricesWith(2));
      const update = await runCli(["pricing", "update", "--source", source], {
        cwd: dir,
        env: { PRODUCER_TASK_ID: "" },
      });
      expect(update.stderr).toBe("");
      expect(update.code).toBe(0);
      await until(() => named("prices_reloaded").length === 1);
      const after = await project.fileTask("code", "Task 4");
      await until(() => doneAll([after.id]));
      const fourth = (await ledger.getTask(after.id))!;
      // Our table now says twice the CLI's list price, and the larger figure is charged.
      expect(fourth.costUsd).toBeCloseTo(2 * fourth.actualCostUsd!, 9);
    } finally {
      producer.stop();
      await running;
    }
  });

  it("pricing update refuses to run inside a dispatch and records what it wrote", async () => {
    const project = await tempProjectWithLedger("agents:\n  code:\n    daily_cap_usd: 5\n");
    const source = join(tempDir("prices-src-"), "prices.json");
    writeFileSync(source, pricesWith(2));
    const inside = await runCli(["pricing", "update", "--source", source], {
      cwd: project.dir,
      env: { PRODUCER_TASK_ID: "01JTASK", PRODUCER_ROLE: "code" },
    });
    expect(inside).toMatchObject({
      code: 2,
      stderr:
        "producer: producer pricing update cannot run inside a dispatched agent: prices are set by a human, outside the agents' runs\n",
    });
    const human = await runCli(["pricing", "update", "--source", source], {
      cwd: project.dir,
      env: { PRODUCER_TASK_ID: "" },
    });
    expect(human.code).toBe(0);
    const row = await project.ledger.latestAudit(PRICES_RECORDED_ACTION);
    expect(row).toMatchObject({ actor: "cli", entityType: "pricing" });
    expect(JSON.parse(row!.details).sha256).toBe(
      createHashHex(readFileSync(project.config.pricing.overrideFile, "utf8")),
    );
  });
});

function createHashHex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
