import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BudgetTracker, LedgerClient, loadConfig } from "../src/index.js";
import { tempProject } from "./helpers/cli.js";

const WORKER = join(import.meta.dirname, "fixtures", "budget-worker.mjs");

function worker(configPath: string, role: string): Promise<{ settled: number; spent: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, configPath, role], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("close", (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`worker exited ${code}: ${err}`)),
    );
  });
}

describe("budget across processes", () => {
  it("6 processes spending every cent they are allowed never pass the role cap or the ceiling", async () => {
    const dir = tempProject(
      "max_concurrent_dispatches: 6\nbudget:\n  project_ceiling_usd: 7\n",
      [],
    );
    const yaml = join(dir, "producer.yaml");
    const { appendFileSync } = await import("node:fs");
    appendFileSync(
      yaml,
      "  code:\n    daily_cap_usd: 5\n    dispatch_reservation_usd: 0.05\n    max_concurrent: 6\n" +
        "  qa:\n    daily_cap_usd: 5\n    dispatch_reservation_usd: 0.05\n    max_concurrent: 6\n",
    );
    const config = await loadConfig(yaml);
    const ledger = await LedgerClient.open({ dbPath: config.ledgerDb, roles: ["code", "qa"] });
    await ledger.insertTasks(
      Array.from({ length: 400 }, (_, i) => ({
        agentOwner: i % 2 ? "code" : "qa",
        title: `t${i}`,
      })),
    );
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => worker(yaml, i % 2 ? "code" : "qa")),
    );
    const budget = new BudgetTracker(ledger, config, { warn: () => {} });
    const snapshot = await budget.snapshot();
    const byRole = Object.fromEntries(snapshot.roles.map((r) => [r.role, r]));
    // Every call spent its whole allowance, so any over-reservation would show as overspend.
    expect(byRole.code!.spentUsd).toBeLessThanOrEqual(5 + 1e-9);
    expect(byRole.qa!.spentUsd).toBeLessThanOrEqual(5 + 1e-9);
    expect(snapshot.project.spentUsd).toBeLessThanOrEqual(7 + 1e-9);
    expect(snapshot.project.spentUsd).toBeGreaterThan(6.9);
    expect(snapshot.project.reservedUsd).toBe(0);
    // What the workers say they spent, what the tasks record and what the budget holds agree.
    const workerSpend = results.reduce((sum, r) => sum + r.spent, 0);
    const done = await ledger.listTasks({ status: "done" });
    const taskSpend = done.reduce((sum, t) => sum + t.costUsd, 0);
    expect(taskSpend).toBeCloseTo(snapshot.project.spentUsd, 9);
    expect(workerSpend).toBeCloseTo(snapshot.project.spentUsd, 9);
    expect(done.length).toBe(results.reduce((sum, r) => sum + r.settled, 0));
    expect((await ledger.verifyAuditChain()).ok).toBe(true);
    await ledger.close();
  });
});
