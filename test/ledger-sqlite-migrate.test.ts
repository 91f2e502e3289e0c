import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { AUDIT_GENESIS_PREV_HASH, LedgerClient, ManualClock } from "../src/index.js";
import { digestColumns, digestOf, rowHash } from "../src/ledger/audit/canonical.js";
import { PAGE_SIZE } from "../src/ledger/sqlite/database.js";
import { MIGRATIONS } from "../src/ledger/sqlite/migrations/index.js";
import { tempDir } from "./helpers/temp.js";

const T0 = "2026-05-01T09:00:00.000Z";

/**
 * A ledger as version 2 of the schema wrote it (hashes as hex text, a prev_hash column, an
 * attempt row opened at claim time), built with that schema's own SQL.
 */
function versionTwoLedger(file: string) {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.exec(
    "CREATE TABLE migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
  );
  for (const m of MIGRATIONS.filter((m) => m.version <= 2)) {
    db.exec(m.sql);
    db.prepare("INSERT INTO migrations VALUES (?, ?, ?)").run(m.version, m.name, T0);
  }
  const hashes: string[] = [];
  const audit = (action: string, type: string, id: string, details: Record<string, unknown>) => {
    const table = type === "task" ? "tasks" : "decisions";
    const values = db
      .prepare(`SELECT ${digestColumns(type as "task")} FROM ${table} WHERE id = ?`)
      .raw()
      .get(id) as unknown[];
    const row = {
      seq: hashes.length + 1,
      ts: T0,
      actor: "cli",
      action,
      entityType: type,
      entityId: id,
      details: JSON.stringify({ ...details, digest: digestOf(type as "task", values) }),
    };
    const prev = hashes.at(-1) ?? AUDIT_GENESIS_PREV_HASH;
    const hash = rowHash(prev, row);
    db.prepare(
      "INSERT INTO audit_log (seq, ts, actor, action, entity_type, entity_id, details, prev_hash, row_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ).run(row.seq, row.ts, row.actor, row.action, type, id, row.details, prev, hash);
    hashes.push(hash);
  };
  const file_ = (id: string) => {
    db.prepare(
      "INSERT INTO tasks (id, agent_owner, title, created_by, created_at, updated_at) VALUES (?, 'code', ?, 'cli', ?, ?)",
    ).run(id, `task ${id}`, T0, T0);
    audit("task.created", "task", id, { title: `task ${id}` });
  };
  const claim = (id: string, token: string) => {
    db.prepare(
      "UPDATE tasks SET status = 'in_progress', claim_token = ?, claimed_by = 'h:1', lease_expires_at = '2026-05-01T10:00:00.000Z', attempts = 1, started_at = ? WHERE id = ?",
    ).run(token, T0, id);
    db.prepare(
      "INSERT INTO task_attempts (task_id, attempt, claim_token, started_at) VALUES (?, 1, ?, ?)",
    ).run(id, token, T0);
    audit("task.claimed", "task", id, { attempt: 1 });
  };
  // A: still running. B: done, with a decision.
  file_("01A");
  file_("01B");
  claim("01A", "token-a");
  claim("01B", "token-b");
  db.prepare(
    "UPDATE tasks SET status = 'done', claim_token = NULL, claimed_by = NULL, lease_expires_at = NULL, finished_at = ? WHERE id = '01B'",
  ).run(T0);
  db.prepare(
    "UPDATE task_attempts SET finished_at = ?, outcome = 'done', cost_usd = 0.5 WHERE claim_token = 'token-b'",
  ).run(T0);
  audit("task.done", "task", "01B", { attempt: 1 });
  db.prepare(
    "INSERT INTO decisions (id, task_id, agent_owner, kind, decision_text, created_at) VALUES ('01D', '01B', 'code', 'decision', 'tabs', ?)",
  ).run(T0);
  audit("decision.recorded", "decision", "01D", {});
  db.close();
  return hashes;
}

describe("migrating a SQLite ledger to the current schema", () => {
  it("keeps the chain, each task's history and its attempts, and goes on writing", async () => {
    const file = join(tempDir(), "ledger.db");
    const hashes = versionTwoLedger(file);
    const ledger = await LedgerClient.open({
      dbPath: file,
      roles: ["code"],
      clock: new ManualClock(Date.parse("2026-05-01T09:30:00.000Z")),
    });
    try {
      expect(await ledger.verifyAuditChain()).toMatchObject({ ok: true, rowsChecked: 6 });
      expect(await ledger.auditHead()).toEqual({ headHash: hashes.at(-1), rowCount: 6 });
      const rows = (await ledger.recentAudit(10)).reverse();
      expect(rows.map((r) => r.rowHash)).toEqual(hashes);
      expect(rows.map((r) => r.prevHash)).toEqual([
        AUDIT_GENESIS_PREV_HASH,
        ...hashes.slice(0, -1),
      ]);
      expect((await ledger.recentAudit(10, "01B")).map((r) => r.action)).toEqual([
        "task.done",
        "task.claimed",
        "task.created",
      ]);
      expect((await ledger.recentAudit(10, "01D")).map((r) => r.action)).toEqual([
        "decision.recorded",
      ]);
      expect(await ledger.listAttempts("01A")).toEqual([
        expect.objectContaining({ attempt: 1, outcome: "running", finishedAt: null }),
      ]);
      expect(await ledger.listAttempts("01B")).toEqual([
        expect.objectContaining({ attempt: 1, outcome: "done", costUsd: 0.5 }),
      ]);
      // The running claim ends through the new code, and the chain goes on from the old head.
      await ledger.complete("01A", "token-a", { costUsd: 0.25 });
      expect(await ledger.listAttempts("01A")).toEqual([
        expect.objectContaining({ attempt: 1, outcome: "done", costUsd: 0.25 }),
      ]);
      expect((await ledger.recentAudit(1, "01A"))[0]!.prevHash).toBe(hashes.at(-1));
      expect(await ledger.verifyAuditChain()).toMatchObject({ ok: true, rowsChecked: 7 });
    } finally {
      await ledger.close();
    }
    const db = new Database(file, { readonly: true });
    const indexes = (
      db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index'").all() as {
        name: string;
      }[]
    ).map((r) => r.name);
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all();
    // An existing file keeps the page size it was made with.
    const pageSize = db.pragma("page_size", { simple: true });
    db.close();
    expect(pageSize).toBe(4096);
    // Attempts live on their task's row now.
    expect(tables).not.toContain("task_attempts");
    expect(indexes).not.toContain("tasks_claimable");
    expect(indexes).not.toContain("tasks_leases");
    expect(indexes).not.toContain("tasks_by_creator");
    expect(indexes).toContain("tasks_by_status");
  });

  it("turns the needs-human notifications of a version-4 ledger into open attention items", async () => {
    const file = join(tempDir(), "ledger.db");
    const db = new Database(file);
    db.exec(
      "CREATE TABLE migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    );
    for (const m of MIGRATIONS.filter((m) => m.version <= 4)) {
      db.exec(m.sql);
      db.prepare("INSERT INTO migrations VALUES (?, ?, ?)").run(m.version, m.name, T0);
    }
    const insert = db.prepare(
      "INSERT INTO notifications (id, created_at, kind, title, message, needs_human, sequence_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    insert.run("01HUMAN0000000000000000001", T0, "idle", "Agents are idle", "m", 1, "p-idle");
    insert.run("01ROUTINE00000000000000002", T0, "report", "Report", "m", 0, null);
    db.close();
    const clock = new ManualClock(Date.parse("2026-05-01T09:30:00.000Z"));
    const ledger = await LedgerClient.open({ dbPath: file, roles: ["code"], clock });
    try {
      expect(await ledger.listAttention()).toEqual([
        expect.objectContaining({ id: "01HUMAN0000000000000000001", resolvedAt: null }),
      ]);
      const resolved = await ledger.resolveAttention({ ids: ["0001"] }, { actor: "cli" });
      expect(resolved.map((r) => r.id)).toEqual(["01HUMAN0000000000000000001"]);
      await ledger.producerStarted({ once: true, pollMs: 1000 });
      expect(await ledger.listProducers()).toHaveLength(1);
    } finally {
      await ledger.close();
    }
  });

  it("makes a new ledger with 2 KiB pages", async () => {
    const file = join(tempDir(), "ledger.db");
    const ledger = await LedgerClient.open({ dbPath: file, roles: ["code"] });
    await ledger.insertTask({ agentOwner: "code", title: "t" });
    await ledger.close();
    const db = new Database(file, { readonly: true });
    const pageSize = db.pragma("page_size", { simple: true });
    db.close();
    expect(pageSize).toBe(PAGE_SIZE);
    expect(PAGE_SIZE).toBe(2048);
  });
});
