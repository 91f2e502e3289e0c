import { describe, expect, it } from "vitest";
import { LedgerError, type NewNotification } from "../../src/index.js";
import type { OpenLedgerUnderTest } from "./harness.js";

const notice = (title: string, extra: Partial<NewNotification> = {}): NewNotification => ({
  kind: "escalation",
  title,
  message: `about ${title}`,
  priority: 3,
  tags: [],
  needsHuman: true,
  sequenceId: null,
  ...extra,
});

/** Attention items: notifications that need a human, open until resolved. */
export function attentionContract(open: OpenLedgerUnderTest): void {
  describe("attention items", () => {
    it("lists open items newest first, counts them, and leaves out notices for no one", async () => {
      const { ledger, clock } = await open();
      expect(await ledger.attentionOverview()).toEqual({ open: 0, newest: null });
      const a = await ledger.recordNotification(notice("first"));
      clock.advance(1000);
      await ledger.recordNotification(notice("routine", { kind: "report", needsHuman: false }));
      const b = await ledger.recordNotification(notice("second"));
      const items = await ledger.listAttention();
      expect(items.map((i) => i.id)).toEqual([b.id, a.id]);
      expect(items[0]).toEqual({
        id: b.id,
        createdAt: "2026-05-06T09:00:01.000Z",
        kind: "escalation",
        title: "second",
        message: "about second",
        sequenceId: null,
        resolvedAt: null,
        resolvedBy: null,
        resolutionNote: null,
      });
      const overview = await ledger.attentionOverview();
      expect(overview.open).toBe(2);
      expect(overview.newest?.id).toBe(b.id);
      expect((await ledger.listAttention({ limit: 1 })).map((i) => i.id)).toEqual([b.id]);
    });

    it("resolves by full id or a unique case-insensitive suffix, audited with who and why", async () => {
      const { ledger, clock } = await open();
      const a = await ledger.recordNotification(notice("a"));
      const b = await ledger.recordNotification(notice("b"));
      clock.advance(60_000);
      const resolved = await ledger.resolveAttention(
        { ids: [a.id, b.id.slice(-6).toLowerCase()] },
        { actor: "alice", note: "  fixed the cap  " },
      );
      expect(resolved.map((r) => r.id)).toEqual([a.id, b.id]);
      expect(await ledger.listAttention()).toEqual([]);
      const all = await ledger.listAttention({ all: true });
      expect(all.map((i) => [i.id, i.resolvedAt, i.resolvedBy, i.resolutionNote])).toEqual([
        [b.id, "2026-05-06T09:01:00.000Z", "alice", "fixed the cap"],
        [a.id, "2026-05-06T09:01:00.000Z", "alice", "fixed the cap"],
      ]);
      const audit = await ledger.recentAudit(5, b.id);
      expect(audit[0]).toMatchObject({
        actor: "alice",
        action: "attention.resolved",
        entityType: "notification",
        entityId: b.id,
      });
      expect(JSON.parse(audit[0]!.details)).toEqual({
        kind: "escalation",
        title: "b",
        note: "fixed the cap",
      });
      expect((await ledger.verifyAuditChain()).ok).toBe(true);
    });

    it("refuses the whole batch for an unknown, resolved, ambiguous or malformed id", async () => {
      const { ledger, raw } = await open();
      const a = await ledger.recordNotification(notice("a"));
      const b = await ledger.recordNotification(notice("b"));
      await ledger.resolveAttention({ ids: [b.id] }, { actor: "cli" });
      const refusal = async (ids: string[]) => {
        const error = await ledger.resolveAttention({ ids }, { actor: "cli" }).catch((e) => e);
        expect(error).toBeInstanceOf(LedgerError);
        return error as LedgerError;
      };
      const unknown = await refusal([a.id, "ZZZZZZZZ"]);
      expect(unknown.message).toBe('no attention item with id "ZZZZZZZZ"');
      expect(unknown.code).toBe("not_found");
      const again = await refusal([a.id, b.id]);
      expect(again.message).toMatch(
        new RegExp(
          `^attention item ${b.id} was already resolved at \\S+ by cli; nothing was resolved$`,
        ),
      );
      expect(again.code).toBe("transition");
      expect((await refusal(["AB1"])).message).toBe(
        '"AB1" is not an attention id: give the id `producer attention` lists, or at least its last 4 characters',
      );
      expect((await refusal(["01%_"])).message).toMatch(/is not an attention id/);
      // Two items whose ids end alike, made so behind the ledger's back.
      await raw(
        "INSERT INTO notifications (id, created_at, kind, title, message, needs_human) VALUES (?, ?, 'x', 'x', '', 1), (?, ?, 'x', 'x', '', 1)",
        "01AAAAAAAAAAAAAAAAAAAAWXYZ",
        "2026-05-06T09:00:00.000Z",
        "01BBBBBBBBBBBBBBBBBBBBWXYZ",
        "2026-05-06T09:00:00.000Z",
      );
      expect((await refusal(["wxyz"])).message).toBe(
        'attention id "wxyz" matches more than one item: give more of it',
      );
      // Nothing changed for any refused batch: a is still open.
      expect((await ledger.listAttention()).map((i) => i.id)).toContain(a.id);
      // The page skips items resolved meanwhile instead of refusing.
      const skipped = await ledger.resolveAttention(
        { ids: [a.id, b.id] },
        { actor: "ui", alreadyResolved: "skip" },
      );
      expect(skipped.map((i) => i.id)).toEqual([a.id]);
    });

    it("resolves every open item, or the open ones of a notice sequence", async () => {
      const { ledger } = await open();
      const idle = await ledger.recordNotification(
        notice("idle", { kind: "idle", sequenceId: "p-idle" }),
      );
      const cap = await ledger.recordNotification(notice("cap", { sequenceId: "p-idle" }));
      const other = await ledger.recordNotification(notice("other"));
      const bySequence = await ledger.resolveAttention(
        { sequenceId: "p-idle", kind: "idle" },
        { actor: "producer", note: "agents dispatching again" },
      );
      expect(bySequence.map((i) => i.id)).toEqual([idle.id]);
      expect(
        await ledger.resolveAttention({ sequenceId: "p-idle", kind: "idle" }, { actor: "x" }),
      ).toEqual([]);
      const rest = await ledger.resolveAttention({ all: true }, { actor: "bob" });
      expect(rest.map((i) => i.id).sort()).toEqual([cap.id, other.id].sort());
      expect(await ledger.attentionOverview()).toEqual({ open: 0, newest: null });
      expect(await ledger.resolveAttention({ all: true }, { actor: "bob" })).toEqual([]);
    });
  });
}
