import { describe, expect, it } from "vitest";
import type { LedgerUnderTest, OpenLedgerUnderTest } from "./harness.js";

/** The morning report's facts: totals from aggregates, over the window and nothing else. */
export function reportContract(open: OpenLedgerUnderTest): void {
  describe("report data", () => {
    /** Files, claims and ends one task of `role` now, at `costUsd`. */
    async function ended(
      env: LedgerUnderTest,
      role: string,
      outcome: "done" | "failed",
      costUsd: number,
    ) {
      const { ledger } = env;
      const task = await ledger.insertTask({ agentOwner: role, title: `${role} ${outcome}` });
      const claimed = (await ledger.claimNext(role))!;
      expect(claimed.id).toBe(task.id);
      if (outcome === "done") await ledger.complete(task.id, claimed.claimToken!, { costUsd });
      else await ledger.fail(task.id, claimed.claimToken!, { error: "tests failed" }, { costUsd });
    }

    it("counts shipped by role and failed tasks of the window only", async () => {
      const env = await open();
      await ended(env, "design", "done", 0.5); // before the window: the day before
      env.clock.set("2026-05-07T00:00:00.000Z");
      await ended(env, "design", "done", 0.25);
      await ended(env, "code", "failed", 2);
      await ended(env, "code", "done", 1);
      await ended(env, "design", "done", 0.5);
      await ended(env, "qa", "failed", 0.125);
      env.clock.set("2026-05-08T00:00:00.000Z"); // the end of the window is excluded
      await ended(env, "qa", "done", 4);
      await ended(env, "code", "failed", 8);
      // Still running, and waiting: neither counts.
      await env.ledger.insertTask({ agentOwner: "qa", title: "waiting" });
      await env.ledger.insertTask({ agentOwner: "qa", title: "running" });
      await env.ledger.claimNext("qa");

      const data = await env.ledger.reportData({
        since: "2026-05-07T00:00:00.000Z",
        until: "2026-05-08T00:00:00.000Z",
      });
      expect(data.shippedByRole).toEqual([
        { role: "code", count: 1, costUsd: 1 },
        { role: "design", count: 2, costUsd: 0.75 },
      ]);
      expect(data.shipped.count).toBe(3);
      expect(data.shipped.items.map((t) => t.title).sort()).toEqual([
        "code done",
        "design done",
        "design done",
      ]);
      expect(data.failed.count).toBe(2);
      expect(data.failed.items.map((t) => t.title).sort()).toEqual(["code failed", "qa failed"]);
      expect(data.escalated.count).toBe(0);
    });
  });
}
