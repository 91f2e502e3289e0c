// Tamper-evidence under fuzzing: random edits, deletions, swaps and insertions of audit rows,
// and random edits of audited task fields, are each caught, naming the first bad row.
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LedgerClient } from "../src/index.js";
import { runCli, tempProject } from "./helpers/cli.js";
import { tempDir } from "./helpers/temp.js";

/** A ledger with a varied history, built once and copied for each case. */
async function template(): Promise<{ path: string; rows: number; taskIds: string[] }> {
  const dir = tempDir("fuzz-");
  const path = join(dir, "ledger.db");
  const ledger = await LedgerClient.open({ dbPath: path, roles: ["design", "code", "qa"] });
  const ids: string[] = [];
  for (let i = 0; i < 8; i++) {
    const t = await ledger.insertTask({
      agentOwner: ["design", "code", "qa"][i % 3]!,
      title: `task ${i}`,
      payload: { i },
    });
    ids.push(t.id);
    const c = await ledger.claimNext(t.agentOwner);
    if (c && i % 2 === 0)
      await ledger.complete(c.id, c.claimToken!, { costUsd: 0.01 * i, result: `done ${i}` });
    else if (c) await ledger.fail(c.id, c.claimToken!, { error: `boom ${i}` });
  }
  await ledger.recordDecision({ taskId: ids[0], agentOwner: "design", decisionText: "a decision" });
  await ledger.registerAsset({ taskId: ids[0], agentOwner: "design", path: "docs/a.md" });
  const { rowCount } = await ledger.auditHead();
  await ledger.close();
  return { path, rows: rowCount, taskIds: ids };
}

type Tamper =
  | {
      kind: "edit";
      seq: number;
      column: "actor" | "action" | "details" | "ts" | "row_hash";
    }
  | { kind: "delete"; seq: number }
  | { kind: "swap"; seq: number }
  | { kind: "insert"; seq: number }
  | {
      kind: "task";
      index: number;
      column: "title" | "status" | "cost_usd" | "agent_owner" | "payload" | "priority";
    };

function apply(path: string, t: Tamper, taskIds: string[]): void {
  const db = new Database(path);
  try {
    db.transaction(() => {
      switch (t.kind) {
        case "edit": {
          const v = db
            .prepare(`SELECT ${t.column} AS v FROM audit_log WHERE seq = ?`)
            .get(t.seq) as { v: string };
          db.prepare(`UPDATE audit_log SET ${t.column} = ? WHERE seq = ?`).run(`${v.v}x`, t.seq);
          break;
        }
        case "delete":
          db.prepare("DELETE FROM audit_log WHERE seq = ?").run(t.seq);
          break;
        case "swap":
          db.prepare("UPDATE audit_log SET seq = -1 WHERE seq = ?").run(t.seq);
          db.prepare("UPDATE audit_log SET seq = ? WHERE seq = ?").run(t.seq, t.seq + 1);
          db.prepare("UPDATE audit_log SET seq = ? WHERE seq = -1").run(t.seq + 1);
          break;
        case "insert": {
          // Shift the tail up by one and forge a row with a well-formed (32-byte) hash.
          db.prepare("UPDATE audit_log SET seq = -seq WHERE seq >= ?").run(t.seq);
          db.prepare("UPDATE audit_log SET seq = -seq + 1 WHERE seq < 0").run();
          db.prepare(
            "INSERT INTO audit_log (seq, ts, actor, action, entity_type, entity_id, details, row_hash) VALUES (?, '2026-01-01T00:00:00.000Z', 'mallory', 'task.done', 'task', NULL, '{}', ?)",
          ).run(t.seq, Buffer.alloc(32, 0xee));
          break;
        }
        case "task": {
          const id = taskIds[t.index]!;
          const values: Record<string, unknown> = {
            title: "forged",
            status: "done",
            cost_usd: 99,
            agent_owner: "qa",
            payload: '{"forged":1}',
            priority: 1,
          };
          const current = db.prepare(`SELECT ${t.column} AS v FROM tasks WHERE id = ?`).get(id) as {
            v: unknown;
          };
          const value =
            current.v === values[t.column]
              ? t.column === "priority"
                ? 9
                : `${String(values[t.column])}2`
              : values[t.column];
          db.prepare(`UPDATE tasks SET ${t.column} = ? WHERE id = ?`).run(value, id);
          break;
        }
      }
    })();
  } finally {
    db.close();
  }
}

describe("audit tamper-evidence (fuzz)", () => {
  it("catches every random tampering and names the first bad row", async () => {
    const base = await template();
    const work = tempDir("fuzz-case-");
    const last = base.rows;
    const arb: fc.Arbitrary<Tamper> = fc.oneof(
      fc.record({
        kind: fc.constant("edit" as const),
        seq: fc.integer({ min: 1, max: last }),
        column: fc.constantFrom("actor", "action", "details", "ts", "row_hash"),
      }),
      fc.record({
        kind: fc.constant("delete" as const),
        seq: fc.integer({ min: 1, max: last - 1 }),
      }),
      fc.record({ kind: fc.constant("swap" as const), seq: fc.integer({ min: 1, max: last - 1 }) }),
      fc.record({ kind: fc.constant("insert" as const), seq: fc.integer({ min: 2, max: last }) }),
      fc.record({
        kind: fc.constant("task" as const),
        index: fc.integer({ min: 0, max: base.taskIds.length - 1 }),
        column: fc.constantFrom(
          "title",
          "status",
          "cost_usd",
          "agent_owner",
          "payload",
          "priority",
        ),
      }),
    );
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(arb, async (tamper) => {
        const path = join(work, `case-${cases++}.db`);
        copyFileSync(base.path, path);
        apply(path, tamper, base.taskIds);
        const ledger = await LedgerClient.open({ dbPath: path, create: false });
        try {
          const result = await ledger.verifyAuditChain();
          expect(result.ok).toBe(false);
          if (tamper.kind === "task") {
            expect(result.problem!.entityId).toBe(base.taskIds[tamper.index]);
          } else {
            // An edit, a swap or an insertion shows at its own row; a deletion at the next.
            expect(result.problem!.seq).toBe(
              tamper.kind === "delete" ? tamper.seq + 1 : tamper.seq,
            );
          }
        } finally {
          await ledger.close();
        }
      }),
      { numRuns: 150, seed: 4242 },
    );
    console.log(`audit fuzz: ${cases} tampered ledgers, every one caught at the first bad row`);
  }, 120_000);

  it("through the CLI: a cut tail is caught with the head hash a report printed", async () => {
    const dir = tempProject();
    const path = join(dir, "agent-state", "ledger.db");
    const base = await template();
    copyFileSync(base.path, path);
    const before = await LedgerClient.open({ dbPath: path, create: false });
    const { headHash } = await before.auditHead();
    await before.close();
    apply(path, { kind: "delete", seq: base.rows }, base.taskIds);
    // The remaining chain is internally consistent except for the row the deletion orphaned.
    const withHead = await runCli(["audit", "verify", "--head", headHash], { cwd: dir });
    expect(withHead.code).toBe(1);
    expect(withHead.stdout).toContain("audit chain BROKEN");
  });
});
