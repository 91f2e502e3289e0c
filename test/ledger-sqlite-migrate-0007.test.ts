import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { LedgerClient, ManualClock } from "../src/index.js";
import { MIGRATIONS } from "../src/ledger/sqlite/migrations/index.js";
import { tempDir } from "./helpers/temp.js";

const T0 = Date.parse("2026-05-01T09:00:00.000Z");
const ROLES = ["code", "qa"];

/** Tasks in every status 0006 knew, with parents, dependencies, attempts, records and audit. */
async function fillLedger(file: string): Promise<void> {
  const clock = new ManualClock(T0);
  const ledger = await LedgerClient.open({ dbPath: file, roles: ROLES, clock });
  try {
    for (let round = 0; round < 20; round++) {
      const [root, child, waiting] = await ledger.insertTasks([
        { agentOwner: "code", title: `root ${round}`, priority: 1 + (round % 9), ref: "root" },
        { agentOwner: "qa", title: `child ${round}`, parentTaskId: "root", ref: "child" },
        { agentOwner: "qa", title: `waits ${round}`, dependsOn: ["root", "child"] },
      ]);
      clock.advance(1000);
      const claimed = (await ledger.claimNext("code"))!;
      expect(claimed.id).toBe(root!.id);
      if (round % 4 === 0) await ledger.complete(root!.id, claimed.claimToken!, { costUsd: 0.01 });
      if (round % 4 === 1) await ledger.fail(root!.id, claimed.claimToken!, { error: "boom" });
      if (round % 4 === 2) await ledger.kill(root!.id, { reason: "moot" });
      if (round % 5 === 0) {
        await ledger.recordDecision({ taskId: child!.id, agentOwner: "qa", decisionText: "d" });
        await ledger.registerAsset({ taskId: waiting!.id, agentOwner: "qa", path: "a.md" });
      }
    }
  } finally {
    await ledger.close();
  }
}

/**
 * The same rows in a file made by migrations 0001-0006 only: a ledger as version 6 left it.
 * (Only 0007's CHECK differs from what fillLedger wrote through, so the rows fit as they are.)
 */
function asVersionSix(filled: string, file: string): void {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.exec(
    "CREATE TABLE migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
  );
  for (const m of MIGRATIONS.filter((m) => m.version <= 6)) {
    db.exec(m.sql);
    db.prepare("INSERT INTO migrations VALUES (?, ?, ?)").run(m.version, m.name, "2026-05-01");
  }
  db.exec(`ATTACH DATABASE '${filled}' AS filled`);
  const tables = db
    .prepare(
      "SELECT name FROM filled.sqlite_schema WHERE type = 'table' AND name NOT IN ('migrations', 'tasks') AND name NOT LIKE 'sqlite_%'",
    )
    .pluck()
    .all() as string[];
  const taskColumns = (db.prepare("PRAGMA filled.table_info(tasks)").all() as { name: string }[])
    .map((c) => c.name)
    .join(", ");
  db.transaction(() => {
    db.exec(
      `INSERT INTO main.tasks (rowid, ${taskColumns}) SELECT rowid, ${taskColumns} FROM filled.tasks`,
    );
    for (const t of tables) db.exec(`INSERT INTO main.${t} SELECT * FROM filled.${t}`);
  })();
  db.exec("DETACH DATABASE filled");
  db.close();
}

const schemaOf = (db: Database.Database) =>
  db
    .prepare(
      "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name <> 'migrations' ORDER BY type, name",
    )
    .all() as { type: string; name: string; tbl_name: string; sql: string | null }[];

const tasksOf = (db: Database.Database) =>
  db.prepare("SELECT rowid AS r, * FROM tasks ORDER BY rowid").all();

describe("migration 0007 on a version-6 SQLite ledger full of tasks", () => {
  it("keeps every row, rowid, index, trigger and key, and the chain verifies", async () => {
    const dir = tempDir();
    const filled = join(dir, "filled.db");
    const file = join(dir, "ledger.db");
    await fillLedger(filled);
    asVersionSix(filled, file);

    const before = new Database(file, { readonly: true });
    const schemaBefore = schemaOf(before);
    const rowsBefore = tasksOf(before);
    const counts = (db: Database.Database) =>
      ["task_deps", "decisions", "asset_registry", "audit_log"].map(
        (t) => db.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get() as number,
      );
    const countsBefore = counts(before);
    before.close();
    expect(rowsBefore).toHaveLength(60);

    const clock = new ManualClock(T0 + 3_600_000);
    // Opening migrates; nothing else is written before the file is compared.
    await (await LedgerClient.open({ dbPath: file, roles: ROLES, clock })).close();

    const after = new Database(file, { readonly: true });
    try {
      expect(
        after.prepare("SELECT version FROM migrations ORDER BY version").pluck().all(),
      ).toEqual(MIGRATIONS.map((m) => m.version));
      expect(tasksOf(after)).toEqual(rowsBefore);
      expect(counts(after)).toEqual(countsBefore);
      const schemaAfter = schemaOf(after);
      // Every index and trigger on tasks is back word for word, and nothing else changed,
      // but for what later migrations redefine (0009 widens tasks_by_finish).
      const redefinedLater = new Set(["tasks_by_finish"]);
      const onTasks = (s: typeof schemaBefore) =>
        s.filter((o) => o.tbl_name === "tasks" && o.type !== "table");
      const kept = (s: typeof schemaBefore) =>
        onTasks(s).filter((o) => !redefinedLater.has(o.name));
      expect(kept(schemaAfter)).toEqual(kept(schemaBefore));
      expect(schemaAfter.find((o) => o.name === "tasks_by_finish")?.sql).toBe(
        "CREATE INDEX tasks_by_finish ON tasks (finished_at, status, agent_owner, cost_usd) WHERE finished_at IS NOT NULL",
      );
      expect(
        onTasks(schemaAfter)
          .map((o) => o.name)
          .sort(),
      ).toEqual([
        "done_releases_dependents",
        "sqlite_autoindex_tasks_1",
        "tasks_by_finish",
        "tasks_by_id_tail",
        "tasks_by_parent",
        "tasks_by_status",
      ]);
      // Outside tasks, only what later migrations add (0008's index) is new.
      const laterMigrations = new Set(["reservations_settled"]);
      expect(
        schemaAfter.filter((o) => o.tbl_name !== "tasks" && !laterMigrations.has(o.name)),
      ).toEqual(schemaBefore.filter((o) => o.tbl_name !== "tasks"));
      expect(after.pragma("foreign_key_check")).toEqual([]);
      const keys = after.prepare("PRAGMA foreign_key_list(task_deps)").all() as { table: string }[];
      expect(keys.map((k) => k.table)).toEqual(["tasks", "tasks"]);
    } finally {
      after.close();
    }

    const ledger = await LedgerClient.open({ dbPath: file, roles: ROLES, clock });
    try {
      expect(await ledger.verifyAuditChain()).toMatchObject({ ok: true });
      // The rebuilt table takes the new status, and the old rules still run on it.
      const gated = await ledger.insertTask({
        agentOwner: "qa",
        title: "gated",
        requiresApproval: true,
      });
      expect(gated.status).toBe("awaiting_approval");
      // Claims still walk by priority, then filing order (the rowid).
      const pending = (
        rowsBefore as { id: string; status: string; agent_owner: string; priority: number }[]
      ).filter((t) => t.agent_owner === "qa" && t.status === "pending" && t.id !== gated.id);
      const ready = await ledger.listTasks({ role: "qa", status: "pending", limit: -1 });
      const next = await ledger.claimNext("qa");
      expect(pending.length).toBeGreaterThan(0);
      expect(ready.length).toBe(pending.length);
      // The trigger still opens the way for dependents: "waits" tasks become claimable once
      // their root and child are done.
      const child = (await ledger.listTasks({ role: "qa", limit: -1 })).find(
        (t) => t.title === "child 0",
      )!;
      expect(next?.id).toBe(child.id);
      await ledger.complete(next!.id, next!.claimToken!);
      const waits0 = (await ledger.listTasks({ role: "qa", limit: -1 })).find(
        (t) => t.title === "waits 0",
      )!;
      expect((await ledger.claimNext("qa"))?.id).toBe(waits0.id);
      expect(await ledger.verifyAuditChain()).toMatchObject({ ok: true });
    } finally {
      await ledger.close();
    }
  });
});
