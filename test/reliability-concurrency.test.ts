// Several Producers on one ledger, and a budget under concurrent spending.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LedgerClient, loadConfig, writeMorningReport } from "../src/index.js";
import { runCli } from "./helpers/cli.js";
import { PRODUCER_AGENT } from "./helpers/producer.js";
import { tempDir } from "./helpers/temp.js";

function project(yaml: string): { dir: string; dbPath: string; agentLog: string } {
  const dir = tempDir("reliab-");
  writeFileSync(join(dir, "producer.yaml"), yaml);
  mkdirSync(join(dir, "agents", "code"), { recursive: true });
  writeFileSync(join(dir, "agents", "code", "system_prompt.md"), "You are code.\n");
  return { dir, dbPath: join(dir, "agent-state", "ledger.db"), agentLog: join(dir, "agent.log") };
}

const command = JSON.stringify([process.execPath, PRODUCER_AGENT]);

describe("several Producers on one ledger", () => {
  it("4 producer run processes, 500 tasks: no task dispatched twice, the cap never passed", async () => {
    const p = project(
      `project_name: many\npoll_interval_seconds: 0.1\nmax_concurrent_dispatches: 2\nidle_threshold_polls: 100000\nagents:\n  code:\n    daily_cap_usd: 2.5\n    dispatch_reservation_usd: 0.01\n    max_concurrent: 2\n    runtime: exec\n    command: ${command}\n    env: [AGENT_LOG]\n`,
    );
    const ledger = await LedgerClient.open({ dbPath: p.dbPath, roles: ["code"] });
    await ledger.insertTasks(
      Array.from({ length: 500 }, (_, i) => ({
        agentOwner: "code",
        title: `t${i}`,
        payload: { cost: 0.01 },
      })),
    );
    const runs = await Promise.all(
      [0, 1, 2, 3].map(() =>
        runCli(["run", "--once"], {
          cwd: p.dir,
          env: { AGENT_LOG: p.agentLog },
          timeoutMs: 170_000,
        }),
      ),
    );
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    // The producers really shared the work (one that finds the cap held by the others'
    // calls waits for them; it is not told the cap is hit).
    const took = runs.filter((r) => /claimed:/.test(r.stdout)).length;
    expect(took).toBeGreaterThanOrEqual(2);
    const falseAlarms = runs.filter((r) => /\[CAP HIT\].*spent \$[0-1]\./.test(r.stdout));
    expect(falseAlarms.map((r) => r.stdout)).toEqual([]);
    const starts = readFileSync(p.agentLog, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { task: string; event: string })
      .filter((l) => l.event === "start")
      .map((l) => l.task);
    expect(new Set(starts).size).toBe(starts.length);
    const done = await ledger.countTasks({ status: "done" });
    expect(done).toBe(starts.length);
    const budget = await ledger.budgetForDay(new Date().toISOString().slice(0, 10));
    expect(budget[0]!.spentUsd).toBeLessThanOrEqual(2.5 + 1e-9);
    expect(budget[0]!.spentUsd).toBeGreaterThan(2.4);
    expect(budget[0]!.reservedUsd).toBe(0);
    expect(done + (await ledger.countTasks({ status: "pending" }))).toBe(500);
    expect((await ledger.verifyAuditChain()).ok).toBe(true);
    console.log(
      `several producers: 4 processes, ${starts.length} dispatches, each task once, spent $${budget[0]!.spentUsd.toFixed(2)} of $2.50`,
    );
    await ledger.close();
  }, 180_000);
});

describe("budget under concurrency", () => {
  it("8 calls at once with varying real costs pass the cap by no more than the recorded overshoot", async () => {
    const p = project(
      `project_name: spend\npoll_interval_seconds: 0.1\nmax_concurrent_dispatches: 8\nidle_threshold_polls: 100000\nbudget:\n  project_ceiling_usd: 50\nagents:\n  code:\n    daily_cap_usd: 1\n    dispatch_reservation_usd: 0.02\n    max_concurrent: 8\n    runtime: exec\n    command: ${command}\n    env: [AGENT_LOG]\n`,
    );
    const ledger = await LedgerClient.open({ dbPath: p.dbPath, roles: ["code"] });
    // Most calls spend part of their limit; a few overshoot it by 10-30%.
    const factors = Array.from({ length: 120 }, (_, i) =>
      i % 7 === 0 ? 1.1 + (i % 3) * 0.1 : 0.2 + (i % 5) * 0.15,
    );
    await ledger.insertTasks(
      factors.map((factor, i) => ({
        agentOwner: "code",
        title: `spend ${i}`,
        payload: { action: "spend", factor },
      })),
    );
    const run = await runCli(["run", "--once"], {
      cwd: p.dir,
      env: { AGENT_LOG: p.agentLog },
      timeoutMs: 120_000,
    });
    expect(run.code).toBe(0);
    const audit = await ledger.recentAudit(100_000);
    const settled = audit.filter(
      (a) => a.action === "budget.settled" || a.action === "budget.exceeded",
    );
    const overshoot = settled.reduce(
      (n, a) => n + (JSON.parse(a.details) as { overshoot_usd: number }).overshoot_usd,
      0,
    );
    const [row] = await ledger.budgetForDay(new Date().toISOString().slice(0, 10));
    expect(row!.spentUsd).toBeLessThanOrEqual(1 + overshoot + 1e-9);
    expect(row!.spentUsd).toBeGreaterThan(0.5);
    expect(row!.reservedUsd).toBe(0);
    // The books balance, and any pass of the cap is reported.
    const tasks = await ledger.listTasks();
    expect(tasks.reduce((n, t) => n + t.costUsd, 0)).toBeCloseTo(row!.spentUsd, 9);
    if (row!.spentUsd > 1) {
      expect(audit.some((a) => a.action === "budget.exceeded")).toBe(true);
      const config = await loadConfig(join(p.dir, "producer.yaml"));
      const report = readFileSync(await writeMorningReport(config, ledger), "utf8");
      expect(report).toContain("[CAP HIT]");
    }
    console.log(
      `budget under concurrency: ${settled.length} calls settled, spent $${row!.spentUsd.toFixed(4)} of a $1 cap, recorded overshoot $${overshoot.toFixed(4)}`,
    );
    await ledger.close();
  }, 150_000);
});
