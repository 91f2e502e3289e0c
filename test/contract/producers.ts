import { describe, expect, it } from "vitest";
import type { OpenLedgerUnderTest } from "./harness.js";

/** Producer heartbeats: one row per Producer process, for `status` and the page. */
export function producersContract(open: OpenLedgerUnderTest): void {
  describe("Producer heartbeats", () => {
    it("records a start, beats and a clean stop under the ledger's identity and clock", async () => {
      const { ledger, clock } = await open();
      expect(await ledger.listProducers()).toEqual([]);
      const started = await ledger.producerStarted({ once: false, pollMs: 10_000 });
      const expected = {
        identity: ledger.workerIdentity,
        host: ledger.host,
        pid: process.pid,
        once: false,
        pollMs: 10_000,
        startedAt: "2026-05-06T09:00:00.000Z",
        lastBeatAt: "2026-05-06T09:00:00.000Z",
        stoppedAt: null,
      };
      expect(started).toEqual(expected);
      clock.advance(10_000);
      expect(await ledger.producerBeat()).toBe(true);
      expect(await ledger.listProducers()).toEqual([
        { ...expected, lastBeatAt: "2026-05-06T09:00:10.000Z" },
      ]);
      clock.advance(5_000);
      await ledger.producerStopped();
      expect(await ledger.listProducers()).toEqual([
        {
          ...expected,
          lastBeatAt: "2026-05-06T09:00:15.000Z",
          stoppedAt: "2026-05-06T09:00:15.000Z",
        },
      ]);
      // The same identity started again is running again, from its new start.
      clock.advance(60_000);
      await ledger.producerStarted({ once: true, pollMs: 500 });
      expect(await ledger.listProducers()).toEqual([
        {
          ...expected,
          once: true,
          pollMs: 500,
          startedAt: "2026-05-06T09:01:15.000Z",
          lastBeatAt: "2026-05-06T09:01:15.000Z",
        },
      ]);
    });

    it("shows the last day by default, and a start prunes rows silent for a week", async () => {
      const { ledger, clock, raw } = await open();
      const row = (identity: string, beat: string) =>
        raw(
          "INSERT INTO producers (identity, host, pid, once, poll_ms, started_at, last_beat_at) VALUES (?, 'elsewhere', 7, 0, 1000, ?, ?)",
          identity,
          beat,
          beat,
        );
      await row("elsewhere:1", "2026-05-06T08:00:00.000Z");
      await row("elsewhere:2", "2026-05-04T09:00:00.000Z");
      await row("elsewhere:3", "2026-04-20T09:00:00.000Z");
      expect((await ledger.listProducers()).map((p) => p.identity)).toEqual(["elsewhere:1"]);
      const since = { since: "2026-01-01T00:00:00.000Z" };
      expect((await ledger.listProducers(since)).map((p) => p.identity).sort()).toEqual([
        "elsewhere:1",
        "elsewhere:2",
        "elsewhere:3",
      ]);
      await ledger.producerStarted({ once: false, pollMs: 1000 });
      expect((await ledger.listProducers(since)).map((p) => p.identity)).toEqual([
        ledger.workerIdentity,
        "elsewhere:1",
        "elsewhere:2",
      ]);
      // A beat with no row (pruned, or never started) says so.
      clock.advance(1000);
      await raw("DELETE FROM producers");
      expect(await ledger.producerBeat()).toBe(false);
    });
  });
}
