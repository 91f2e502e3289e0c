import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AUDIT_GENESIS_PREV_HASH, type Ledger } from "../../src/index.js";
import type { OpenLedgerUnderTest } from "./harness.js";

async function verify(ledger: Ledger, expectedHead?: string) {
  return ledger.verifyAuditChain({ expectedHead });
}

/** The audit chain's contract: every state change chained, every edit behind its back caught. */
export function auditContract(open: OpenLedgerUnderTest): void {
  /** A ledger with some history: tasks filed, claimed, completed, a decision and an asset. */
  async function historyLedger() {
    const env = await open();
    const { ledger } = env;
    const spec = await ledger.insertTask({ agentOwner: "design", title: "spec" });
    await ledger.insertTask({ agentOwner: "code", title: "build", dependsOn: [spec.id] });
    const c = (await ledger.claimNext("design"))!;
    await ledger.recordDecision({ taskId: c.id, agentOwner: "design", decisionText: "Chose tabs" });
    await ledger.registerAsset({ taskId: c.id, agentOwner: "design", path: "docs/spec.md" });
    await ledger.complete(c.id, c.claimToken!, { costUsd: 0.5 });
    const b = (await ledger.claimNext("code"))!;
    await ledger.fail(b.id, b.claimToken!, { error: "boom" });
    return { ...env, specId: spec.id };
  }

  describe("audit chain", () => {
    it("starts at the genesis hash and chains every state change", async () => {
      const { ledger } = await historyLedger();
      const result = await verify(ledger);
      expect(result).toMatchObject({ ok: true, problem: null, rowsChecked: 8, rowCount: 8 });
      // Read through the ledger: each row's stored hash, and the hash it chains from.
      const rows = (await ledger.recentAudit(100)).reverse();
      expect(rows[0]!.prevHash).toBe(AUDIT_GENESIS_PREV_HASH);
      expect(rows.map((r) => r.action)).toEqual([
        "task.created",
        "task.created",
        "task.claimed",
        "decision.recorded",
        "asset.registered",
        "task.done",
        "task.claimed",
        "task.failed",
      ]);
      for (let i = 1; i < rows.length; i++) expect(rows[i]!.prevHash).toBe(rows[i - 1]!.rowHash);
      expect(result.headHash).toBe(rows.at(-1)!.rowHash);
    });

    it("catches an edited row and names it", async () => {
      const { ledger, raw } = await historyLedger();
      await raw("UPDATE audit_log SET actor = 'mallory' WHERE seq = 4");
      const { ok, problem, rowsChecked } = await verify(ledger);
      expect(ok).toBe(false);
      expect(problem).toMatchObject({
        seq: 4,
        reason: "row 4 was edited: its contents no longer match its hash",
      });
      expect(problem!.expected).not.toBe(problem!.actual);
      expect(rowsChecked).toBe(3);
    });

    it("catches a deleted row", async () => {
      const { ledger, raw } = await historyLedger();
      await raw("DELETE FROM audit_log WHERE seq = 3");
      const { problem } = await verify(ledger);
      expect(problem).toMatchObject({
        seq: 4,
        reason: "row 4 follows row 2: the rows between were removed, or rows were reordered",
      });
    });

    it("catches two swapped rows (each one's hash covers its place)", async () => {
      const { ledger, rawTransaction } = await historyLedger();
      await rawTransaction([
        ["UPDATE audit_log SET seq = -5 WHERE seq = 5"],
        ["UPDATE audit_log SET seq = 5 WHERE seq = 6"],
        ["UPDATE audit_log SET seq = 6 WHERE seq = -5"],
      ]);
      const { problem } = await verify(ledger);
      expect(problem).toMatchObject({
        seq: 5,
        reason: "row 5 was edited: its contents no longer match its hash",
      });
    });

    it("catches an inserted row, even one with a well-formed hash", async () => {
      const { ledger, rawTransaction } = await historyLedger();
      // Make room after row 4 and slip in a row with a well-formed (32-byte) hash.
      await rawTransaction([
        ["UPDATE audit_log SET seq = -seq WHERE seq > 4"],
        ["UPDATE audit_log SET seq = -seq + 1 WHERE seq < 0"],
        [
          "INSERT INTO audit_log (seq, ts, actor, action, entity_type, entity_id, details, row_hash) VALUES (5, '2026-05-06T09:00:00.000Z', 'mallory', 'task.done', 'task', NULL, '{}', ?)",
          Buffer.alloc(32, 0xff),
        ],
      ]);
      const { problem } = await verify(ledger);
      expect(problem).toMatchObject({
        seq: 5,
        reason: "row 5 was edited: its contents no longer match its hash",
      });
    });

    it("catches a truncated tail only when the expected head is given", async () => {
      const { ledger, raw } = await historyLedger();
      const { headHash, rowCount } = await ledger.auditHead();
      expect(rowCount).toBe(8);
      expect((await verify(ledger, headHash)).ok).toBe(true);
      await raw("DELETE FROM audit_log WHERE seq >= 8");
      // The tasks the removed rows were about now differ from their last audited state too,
      // so check the chain result against the head hash specifically.
      const withHead = await verify(ledger, headHash);
      expect(withHead.ok).toBe(false);
      expect(withHead.problem).toMatchObject({
        seq: null,
        reason: `the expected head ${headHash} is not in the chain: the log was truncated or rewritten after it was recorded (it now ends at row 7)`,
      });
    });

    it("catches a task row edited behind the ledger's back", async () => {
      const { ledger, raw, specId } = await historyLedger();
      await raw("UPDATE tasks SET cost_usd = 0.01 WHERE id = ?", specId);
      const { problem } = await verify(ledger);
      expect(problem).toMatchObject({ seq: 6, entityId: specId });
      expect(problem!.reason).toBe(
        `task ${specId} was edited behind the ledger's back: it no longer matches audit row 6`,
      );
    });

    it("catches a task inserted or deleted behind the ledger's back", async () => {
      const { ledger, raw } = await historyLedger();
      await raw(
        "INSERT INTO tasks (id, agent_owner, title, created_by, created_at, updated_at) VALUES ('01SNEAKY', 'code', 'x', 'x', 'x', 'x')",
      );
      expect((await verify(ledger)).problem!.reason).toBe(
        "task 01SNEAKY has no audit history: it was written behind the ledger's back",
      );
      await raw("DELETE FROM tasks WHERE id = '01SNEAKY'");
      expect((await verify(ledger)).ok).toBe(true);
      await raw("DELETE FROM decisions");
      expect((await verify(ledger)).problem!.reason).toMatch(
        /^decision \w+ was deleted behind the ledger's back \(last audited at row 4\)$/,
      );
    });

    it("reads the recorded digest at the top level even when details nest their own", async () => {
      const { ledger, specId } = await historyLedger();
      await ledger.appendAudit({
        action: "task.noted",
        entityType: "task",
        entityId: specId,
        details: { a: { digest: "f".repeat(64) } },
      });
      expect(await verify(ledger)).toMatchObject({ ok: true, problem: null });
    });

    it("detects any single-field edit of any audit row (property)", async () => {
      const { ledger, raw } = await historyLedger();
      const columns = ["ts", "actor", "action", "entity_type", "entity_id", "details", "row_hash"];
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 8 }),
          fc.constantFrom(...columns),
          fc.string({ minLength: 1, maxLength: 8 }),
          async (seq, column, junk) => {
            const [before] = (await raw(
              `SELECT ${column} AS v FROM audit_log WHERE seq = ?`,
              seq,
            )) as {
              v: string | null;
            }[];
            const changed = `${before!.v ?? ""}${junk}`;
            await raw(`UPDATE audit_log SET ${column} = ? WHERE seq = ?`, changed, seq);
            try {
              const result = await verify(ledger);
              expect(result.ok).toBe(false);
              expect(result.problem!.seq).toBe(seq);
            } finally {
              await raw(`UPDATE audit_log SET ${column} = ? WHERE seq = ?`, before!.v, seq);
            }
          },
        ),
        { numRuns: 60, seed: 42 },
      );
      expect((await verify(ledger)).ok).toBe(true);
    });
  });
}
