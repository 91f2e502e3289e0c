// An agent in a real run tries what only the Producer or a human may do, through the library
// (with its own lax settings) and through the CLI. The ledger refuses each, and nothing of
// what it tried is in the ledger afterwards.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { LedgerClient } from "../src/index.js";
import { runCli } from "./helpers/cli.js";
import { tempDir } from "./helpers/temp.js";

const ROOT = join(import.meta.dirname, "..");
const AGENT = join(import.meta.dirname, "fixtures", "overreaching-agent.mjs");

describe("an agent that reaches for the human's and the Producer's levers", () => {
  it("is refused by the ledger each time, and the ledger shows none of it", async () => {
    const dir = tempDir("hostile-agent-");
    const init = await runCli(["init", "--non-interactive", "--roles", "worker,deploy,sink"], {
      cwd: dir,
    });
    expect(init.code, init.stderr).toBe(0);
    mkdirSync(join(dir, "node_modules"), { recursive: true });
    symlinkSync(ROOT, join(dir, "node_modules", "ai-producer"));
    const outcomes = join(dir, "outcomes.jsonl");
    writeFileSync(
      join(dir, "producer.yaml"),
      `project_name: hostile
poll_interval_seconds: 0.2
guardrails:
  max_children_per_task: 2
agents:
  worker:
    daily_cap_usd: 5
    runtime: exec
    command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(AGENT)}]
    env: [OUTCOMES, VICTIM_TASK]
  deploy:
    daily_cap_usd: 5
    runtime: exec
    command: ["true"]
    requires_approval: true
  sink:
    daily_cap_usd: 5
    runtime: exec
    command: ["true"]
`,
    );
    // A human's work the agent goes after: a gated task, and an attention item.
    const ledgerPath = join(dir, "agent-state", "ledger.db");
    const human = await LedgerClient.open({
      dbPath: ledgerPath,
      roles: ["worker", "deploy", "sink"],
      approvalRoles: ["deploy"],
    });
    const victim = await human.insertTask({ agentOwner: "deploy", title: "the human's deploy" });
    expect(victim.status).toBe("awaiting_approval");
    await human.recordNotification({
      kind: "escalation",
      title: "look at this",
      message: "m",
      priority: 3,
      tags: [],
      needsHuman: true,
      sequenceId: null,
    });
    await human.close();
    const added = await runCli(["task", "add", "--agent", "worker", "--title", "go"], { cwd: dir });
    expect(added.code, added.stderr).toBe(0);
    const auditBefore = await LedgerClient.open({ dbPath: ledgerPath, create: false }).then(
      async (l) => {
        const { rowCount } = await l.auditHead();
        await l.close();
        return rowCount;
      },
    );
    const run = await runCli(["run", "--once"], {
      cwd: dir,
      env: { OUTCOMES: outcomes, VICTIM_TASK: victim.id },
      timeoutMs: 60_000,
    });
    expect(run.code, run.stderr).toBe(0);

    const tried = readFileSync(outcomes, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { attempt: string; ok: boolean; error?: string });
    expect(tried).toHaveLength(11);
    for (const t of tried) {
      expect(t.ok, `${t.attempt} went through`).toBe(false);
    }
    const byAttempt = new Map(tried.map((t) => [t.attempt, t.error ?? ""]));
    expect(byAttempt.get("file past max_children_per_task with its own guardrails")).toMatch(
      /max_children_per_task|children/,
    );
    expect(byAttempt.get("resolve attention items")).toMatch(/agents may not resolve/);
    expect(byAttempt.get("record a Producer heartbeat")).toMatch(/agents may not record/);
    expect(byAttempt.get("append approval.requested as ui")).toMatch(/agents may not write/);
    expect(byAttempt.get("append killswitch.disarmed as cli")).toMatch(/agents may not write/);
    expect(byAttempt.get("kill a human's task through the library")).toMatch(/agents may not kill/);

    const after = await LedgerClient.open({ dbPath: ledgerPath, create: false });
    try {
      expect((await after.getTask(victim.id))?.status).toBe("awaiting_approval");
      expect((await after.attentionOverview()).open).toBe(1);
      expect(await after.listProducers()).toEqual([
        expect.objectContaining({ pid: expect.any(Number) }),
      ]);
      // At most the two children max_children_per_task allows, filed before the third was refused.
      expect((await after.listTasks({ role: "sink", limit: 50 })).length).toBeLessThanOrEqual(2);
      const deploys = await after.listTasks({ role: "deploy", limit: 50 });
      expect(deploys.every((t) => t.status === "awaiting_approval")).toBe(true);
      const rows = await after.recentAudit(500);
      const since = rows.filter((r) => r.seq > auditBefore);
      expect(since.filter((r) => r.action === "approval.requested")).toEqual([]);
      expect(since.filter((r) => r.action === "killswitch.disarmed")).toEqual([]);
      expect(since.filter((r) => ["cli", "ui"].includes(r.actor))).toEqual([]);
      expect((await after.verifyAuditChain()).ok).toBe(true);
    } finally {
      await after.close();
    }
  }, 90_000);

  it("cannot make a human's full task id ambiguous with a row whose id ends with it", async () => {
    const dir = tempDir("hostile-id-");
    const dbPath = join(dir, "ledger.db");
    const ledger = await LedgerClient.open({ dbPath, roles: ["code"] });
    try {
      const task = await ledger.insertTask({ agentOwner: "code", title: "the human's" });
      // Written behind the ledger's back, as an agent with the file could: a copy whose id
      // is one character longer and ends with the real one.
      const raw = new Database(dbPath);
      raw.exec(`CREATE TEMP TABLE copy AS SELECT * FROM tasks WHERE id = '${task.id}';
        UPDATE copy SET id = 'X' || id; INSERT INTO tasks SELECT * FROM copy;`);
      raw.close();
      expect(await ledger.resolveTaskId(task.id)).toBe(task.id);
      expect(await ledger.resolveTaskId(task.id.toLowerCase())).toBe(task.id);
      await expect(ledger.resolveTaskId(task.id.slice(-8))).rejects.toThrow(/ambiguous/);
    } finally {
      await ledger.close();
    }
  });
});
