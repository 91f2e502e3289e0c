import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BudgetExceeded, BudgetTracker, type ManualClock } from "../../src/index.js";
import { caught } from "../helpers/caught.js";
import { configFrom } from "../helpers/config.js";
import type { OpenLedgerUnderTest } from "./harness.js";

const YAML = `
budget:
  project_ceiling_usd: 10
  soft_cap_ratio: 0.8
agents:
  producer:
    daily_cap_usd: 1
    dispatch_reservation_usd: 0.1
  code:
    daily_cap_usd: 2
    dispatch_reservation_usd: 0.5
  design:
    daily_cap_usd: 8
  qa:
    daily_cap_usd: 20
    dispatch_reservation_usd: 1
`;

/** The budget's contract: caps and the ceiling hold, holds follow their task, exactly. */
export function budgetContract(open: OpenLedgerUnderTest): void {
  async function setup(yaml = YAML) {
    const config = configFrom(yaml);
    const env = await open({ roles: Object.keys(config.agents) });
    const warnings: string[] = [];
    const budget = new BudgetTracker(env.ledger, config, {
      clock: env.clock,
      warn: (m) => warnings.push(m),
    });
    return { ...env, config, budget, warnings };
  }

  describe("BudgetTracker reservations", () => {
    it("uses the role's reservation, else the producer role's, else $0.05 with one warning", async () => {
      const { budget, warnings } = await setup();
      expect(budget.reservationFor("code")).toBe(0.5);
      expect(budget.reservationFor("design")).toBe(0.1);
      expect(warnings).toEqual([]);

      const bare = await setup(
        "agents:\n  code:\n    daily_cap_usd: 2\n  qa:\n    daily_cap_usd: 2\n",
      );
      expect(bare.budget.reservationFor("code")).toBe(0.05);
      expect(bare.budget.reservationFor("qa")).toBe(0.05);
      expect(bare.warnings).toEqual([
        "no dispatch_reservation_usd for role code nor for a producer role: reserving $0.05 per call",
      ]);
    });

    it("gives a lone call the whole free room as its limit (headroom)", async () => {
      const { budget } = await setup();
      expect(await budget.headroom("code")).toBe(2);
      const r = await budget.reserve("code");
      expect(r.amountUsd).toBe(2);
      await budget.settle(r, 0.3);
      expect(await budget.headroom("code")).toBeCloseTo(1.7, 10);
    });

    it("shares the free room between a role's concurrent slots", async () => {
      const { budget } = await setup(`
  agents:
    code:
      daily_cap_usd: 4
      dispatch_reservation_usd: 0.1
      max_concurrent: 4
  max_concurrent_dispatches: 4
  `);
      const holds = [];
      for (let i = 0; i < 4; i++) holds.push((await budget.reserve("code")).amountUsd);
      expect(holds).toEqual([1, 1, 1, 1]);
      await expect(budget.reserve("code")).rejects.toThrow(BudgetExceeded);
    });

    it("refuses at the role cap, naming role, cap, spent and reserved; marks [CAP HIT] once", async () => {
      const { budget } = await setup();
      const r = await budget.reserve("code");
      await budget.settle(r, 1.6);
      const first = await caught<BudgetExceeded>(budget.reserve("code"));
      expect(first).toBeInstanceOf(BudgetExceeded);
      expect(first).toMatchObject({
        role: "code",
        scope: "role",
        capUsd: 2,
        spentUsd: 1.6,
        reservedUsd: 0,
        afterTheFact: false,
        firstToday: true,
      });
      expect(first.message).toBe(
        "role code is at its daily cap $2.00: spent $1.60, reserved $0.00; dispatch refused",
      );
      const second = await caught<BudgetExceeded>(budget.reserve("code"));
      expect(second.firstToday).toBe(false);
      const snapshot = await budget.snapshot();
      expect(snapshot.roles.find((x) => x.role === "code")).toMatchObject({
        capHit: true,
        capHitReason: "daily cap $2 reached",
        spentUsd: 1.6,
      });
    });

    it("counts what other calls hold against the cap", async () => {
      const { budget } = await setup(`
  max_concurrent_dispatches: 3
  agents:
    code:
      daily_cap_usd: 1
      dispatch_reservation_usd: 0.4
      max_concurrent: 3
  `);
      const a = await budget.reserve("code");
      const b = await budget.reserve("code");
      expect(a.amountUsd + b.amountUsd).toBeLessThanOrEqual(1);
      const refused = await caught<BudgetExceeded>(budget.reserve("code"));
      expect(refused).toMatchObject({ role: "code", reservedUsd: a.amountUsd + b.amountUsd });
      await budget.release(a);
      expect((await budget.reserve("code")).amountUsd).toBeGreaterThanOrEqual(0.4);
    });

    it("lets the project ceiling bind before a role cap", async () => {
      const { budget } = await setup();
      const d = await budget.reserve("design");
      await budget.settle(d, 7.9);
      const q = await budget.reserve("qa"); // qa cap 20, but only 2.1 left under the ceiling
      expect(q.amountUsd).toBeCloseTo(2.1, 10);
      await budget.settle(q, 1.5);
      const refused = await caught<BudgetExceeded>(budget.reserve("qa"));
      expect(refused).toMatchObject({ scope: "project", capUsd: 10, spentUsd: 9.4 });
      expect(refused.message).toBe(
        "role qa is at its project ceiling $10.00: spent $9.40, reserved $0.00; dispatch refused",
      );
    });

    it("raises BudgetExceeded after the fact, records the overshoot, and blocks the role", async () => {
      const { budget, ledger } = await setup();
      const r = await budget.reserve("code");
      const error = await caught<BudgetExceeded>(budget.settle(r, 2.35));
      expect(error).toBeInstanceOf(BudgetExceeded);
      expect(error).toMatchObject({
        afterTheFact: true,
        firstToday: true,
        scope: "role",
        spentUsd: 2.35,
      });
      expect(error.message).toBe(
        "role code passed its daily cap $2.00 after the fact: spent $2.35, reserved $0.00",
      );
      const audit = await ledger.recentAudit(1);
      expect(audit[0]).toMatchObject({ action: "budget.exceeded", entityId: "code" });
      expect(JSON.parse(audit[0]!.details)).toMatchObject({
        cost_usd: 2.35,
        held_usd: 2,
        overshoot_usd: 0.35000000000000009,
      });
      await expect(budget.reserve("code")).rejects.toThrow("role code is at its daily cap $2.00");
    });

    it("warns about the soft cap once per role per day", async () => {
      const { budget } = await setup();
      const crossings: boolean[] = [];
      for (const cost of [1.0, 0.7, 0.1]) {
        const r = await budget.reserve("code").catch(() => null);
        if (!r) break;
        crossings.push((await budget.settle(r, cost)).softCapCrossed);
      }
      expect(crossings).toEqual([false, true]);
      expect((await budget.snapshot()).roles.find((x) => x.role === "code")!.softCapReached).toBe(
        true,
      );
    });

    it("starts fresh caps at UTC midnight", async () => {
      const { budget, clock } = await setup();
      (clock as ManualClock).set("2026-05-06T23:59:00Z");
      const r = await budget.reserve("code");
      await budget.settle(r, 1.9);
      await expect(budget.reserve("code")).rejects.toThrow(BudgetExceeded);
      (clock as ManualClock).set("2026-05-07T00:00:00Z");
      expect(budget.today()).toBe("2026-05-07");
      expect((await budget.reserve("code")).amountUsd).toBe(2);
      const yesterday = await budget.snapshot("2026-05-06");
      expect(yesterday.roles.find((x) => x.role === "code")).toMatchObject({
        spentUsd: 1.9,
        capHit: true,
      });
    });

    it("charges a call that runs across midnight to the day it was reserved on", async () => {
      const { budget, clock } = await setup();
      (clock as ManualClock).set("2026-05-06T23:59:30Z");
      const r = await budget.reserve("code");
      (clock as ManualClock).set("2026-05-07T00:00:30Z");
      await budget.settle(r, 0.7);
      expect((await budget.snapshot("2026-05-06")).project.spentUsd).toBe(0.7);
      expect((await budget.snapshot("2026-05-07")).project.spentUsd).toBe(0);
    });
  });

  describe("spend pace (the forecast's read)", () => {
    it("splits a day's spend by when each call was charged, with the holds in flight", async () => {
      const { ledger, budget, clock } = await setup();
      const manual = clock as ManualClock;
      const charge = async (role: string, heldAt: string, settledAt: string, cost: number) => {
        manual.set(heldAt);
        const r = await budget.reserve(role);
        manual.set(settledAt);
        await budget.settle(r, cost);
      };
      await charge("design", "2026-05-06T08:00:00Z", "2026-05-06T08:10:00Z", 0.4);
      // Held before the window, charged inside it: a call counts when it settles.
      await charge("design", "2026-05-06T10:50:00Z", "2026-05-06T11:05:00Z", 0.25);
      await charge("code", "2026-05-06T11:30:00Z", "2026-05-06T11:40:00Z", 0.3);
      manual.set("2026-05-06T11:50:00Z");
      const held = await budget.reserve("code");
      // Another day's charges and a released hold count for nothing.
      await charge("qa", "2026-05-05T11:30:00Z", "2026-05-05T11:40:00Z", 0.9);
      manual.set("2026-05-06T11:55:00Z");
      await ledger.releaseBudget((await budget.reserve("design")).id);

      expect(await ledger.spendPace("2026-05-06", "2026-05-06T11:00:00.000Z")).toEqual([
        { role: "code", spentUsd: 0.3, recentUsd: 0.3, heldUsd: held.amountUsd, heldCount: 1 },
        { role: "design", spentUsd: 0.65, recentUsd: 0.25, heldUsd: 0, heldCount: 0 },
      ]);
      expect(await ledger.spendPace("2026-05-06", "2026-05-06T11:40:00.000Z")).toEqual([
        { role: "code", spentUsd: 0.3, recentUsd: 0.3, heldUsd: held.amountUsd, heldCount: 1 },
        { role: "design", spentUsd: 0.65, recentUsd: 0, heldUsd: 0, heldCount: 0 },
      ]);
      expect(await ledger.spendPace("2026-05-04", "2026-05-04T00:00:00.000Z")).toEqual([]);
    });
  });

  describe("holds follow their task", () => {
    it("killing a claimed task releases its hold in the same change, and the call still settles", async () => {
      const { budget, ledger } = await setup();
      const task = await ledger.insertTask({ agentOwner: "code", title: "one" });
      const claim = await budget.claimAndReserve("code");
      if (claim.kind !== "claimed") throw new Error("expected a claim");
      expect((await budget.snapshot()).project.reservedUsd).toBe(2);
      await ledger.kill(task.id, { reason: "stuck" });
      expect((await budget.snapshot()).project.reservedUsd).toBe(0);
      // The call that was running when the task was killed still records what it spent.
      const late = await ledger.finishClaim(
        task.id,
        claim.task.claimToken!,
        { kind: "done" },
        { costUsd: 0.4 },
        { settle: { reservationId: claim.reservation.id, limits: budget.limitsFor("code") } },
      );
      expect(late.claimLost).toBe(true);
      expect((await budget.snapshot()).project).toMatchObject({ spentUsd: 0.4, reservedUsd: 0 });
    });

    it("a sweep releases holds whose claim ended without settling them, audited", async () => {
      const { budget, ledger } = await setup();
      const task = await ledger.insertTask({ agentOwner: "code", title: "one" });
      const claim = await budget.claimAndReserve("code");
      if (claim.kind !== "claimed") throw new Error("expected a claim");
      expect(await ledger.releaseOrphanHolds()).toEqual([]);
      // A library caller ends the claim and forgets the hold.
      await ledger.finishClaim(task.id, claim.task.claimToken!, { kind: "done" }, { costUsd: 0 });
      expect((await budget.snapshot()).project.reservedUsd).toBe(2);
      expect(await ledger.releaseOrphanHolds({ actor: "producer" })).toEqual([
        claim.reservation.id,
      ]);
      expect((await budget.snapshot()).project.reservedUsd).toBe(0);
      const [audit] = await ledger.recentAudit(1);
      expect(audit).toMatchObject({ action: "budget.holds_released", actor: "producer" });
      expect((await ledger.verifyAuditChain()).ok).toBe(true);
    });
  });

  describe("a task's own history", () => {
    it("lists exactly the log's rows about the task, whatever wrote them", async () => {
      const { budget, ledger, clock } = await setup();
      const [a, b] = await ledger.insertTasks([
        { agentOwner: "code", title: "a" },
        { agentOwner: "code", title: "b" },
      ]);
      // A funded claim killed: its hold's release is audited in the same change.
      const funded = await budget.claimAndReserve("code");
      if (funded.kind !== "claimed") throw new Error("expected a claim");
      await ledger.kill(funded.task.id, { reason: "stuck" });
      // The call still reports what it spent: a late outcome on a task no longer running.
      await ledger.finishClaim(
        funded.task.id,
        funded.task.claimToken!,
        { kind: "done" },
        { costUsd: 0.4 },
        { settle: { reservationId: funded.reservation.id, limits: budget.limitsFor("code") } },
      );
      await ledger.requeue(funded.task.id);
      // A lease that runs out while its hold is still open.
      const held = await budget.claimAndReserve("code");
      if (held.kind !== "claimed") throw new Error("expected a claim");
      (clock as ManualClock).advance(60 * 60_000);
      await ledger.recoverExpiredLeases();
      const last = (await ledger.claimNext("code"))!;
      await ledger.release(last.id, last.claimToken!, "shutting down");
      await ledger.appendAudit({ action: "task.noted", entityType: "task", entityId: a!.id });
      const all = (await ledger.recentAudit(1000)).reverse();
      for (const task of [a!, b!]) {
        const own = all.filter((r) => r.entityType === "task" && r.entityId === task.id);
        expect((await ledger.recentAudit(1000, task.id)).reverse()).toEqual(own);
      }
      expect(all.filter((r) => r.entityId === a!.id).map((r) => r.action)).toEqual([
        "task.created",
        "task.claimed",
        "task.killed",
        "task.late_outcome",
        "task.requeued",
        "task.claimed",
        "task.recovered",
        "task.claimed",
        "task.released",
        "task.noted",
      ]);
      expect(all.some((r) => r.action === "budget.holds_released")).toBe(true);
      expect(all.some((r) => r.action === "task.late_outcome")).toBe(true);
      expect((await ledger.verifyAuditChain()).ok).toBe(true);
    });
  });

  describe("claimAndReserve", () => {
    it("claims and holds together; waits while money is held, refuses once it is spent", async () => {
      const { budget, ledger } = await setup();
      const t1 = await ledger.insertTask({ agentOwner: "code", title: "one" });
      const t2 = await ledger.insertTask({ agentOwner: "code", title: "two" });
      const first = await budget.claimAndReserve("code");
      if (first.kind !== "claimed") throw new Error("expected a claim");
      expect(first.task.id).toBe(t1.id);
      expect(first.reservation).toMatchObject({ role: "code", taskId: t1.id, amountUsd: 2 });
      // The whole cap is held by the call in flight: the next task waits, nobody is alarmed.
      const second = await budget.claimAndReserve("code");
      expect(second.kind).toBe("busy");
      if (second.kind === "busy") {
        expect(second.taskId).toBe(t2.id);
        expect(second.error).toMatchObject({ transient: true, firstToday: false });
        expect(second.error.message).toBe(
          "role code waits: its daily cap $2.00 is spent $0.00 and held $2.00 by calls in flight",
        );
      }
      expect((await budget.snapshot()).roles.find((r) => r.role === "code")!.capHit).toBe(false);
      // Once the call spent most of it, what is left is too little: a real [CAP HIT].
      await ledger.finishClaim(
        t1.id,
        first.task.claimToken!,
        { kind: "done" },
        { costUsd: 1.8 },
        {
          settle: { reservationId: first.reservation.id, limits: budget.limitsFor("code") },
        },
      );
      const third = await budget.claimAndReserve("code");
      expect(third.kind).toBe("refused");
      if (third.kind === "refused")
        expect(third.error).toMatchObject({ transient: false, firstToday: true });
      expect((await ledger.getTask(t2.id))!).toMatchObject({ status: "pending", attempts: 0 });
      expect(await budget.claimAndReserve("qa")).toEqual({ kind: "empty" });
    });

    it("settles in the same transaction as the claim ends, so task costs equal spend", async () => {
      const { budget, ledger } = await setup();
      await ledger.insertTask({ agentOwner: "code", title: "one" });
      const funded = await budget.claimAndReserve("code");
      if (funded.kind !== "claimed") throw new Error("expected a claim");
      const finished = await ledger.finishClaim(
        funded.task.id,
        funded.task.claimToken!,
        { kind: "done" },
        { costUsd: 0.42 },
        { settle: { reservationId: funded.reservation.id, limits: budget.limitsFor("code") } },
      );
      expect(finished.task).toMatchObject({ status: "done", costUsd: 0.42 });
      expect(finished.settlement).toMatchObject({ costUsd: 0.42, overshootUsd: 0 });
      expect((await budget.snapshot()).project).toMatchObject({ spentUsd: 0.42, reservedUsd: 0 });
    });

    it("still records the cost when the task was killed while its call ran", async () => {
      const { budget, ledger } = await setup();
      await ledger.insertTask({ agentOwner: "code", title: "one" });
      const funded = await budget.claimAndReserve("code");
      if (funded.kind !== "claimed") throw new Error("expected a claim");
      await ledger.kill(funded.task.id, { actor: "cli", reason: "changed my mind" });
      const finished = await ledger.finishClaim(
        funded.task.id,
        funded.task.claimToken!,
        { kind: "done" },
        { costUsd: 0.3 },
        { settle: { reservationId: funded.reservation.id, limits: budget.limitsFor("code") } },
      );
      expect(finished.claimLost).toBe(true);
      expect(finished.task).toMatchObject({ status: "killed", costUsd: 0.3 });
      expect((await budget.snapshot()).project.spentUsd).toBe(0.3);
    });

    it("releases the hold of a claim recovered after its lease ran out", async () => {
      const { budget, ledger, clock } = await setup();
      await ledger.insertTask({ agentOwner: "code", title: "one" });
      const funded = await budget.claimAndReserve("code", { leaseMs: 1000 });
      if (funded.kind !== "claimed") throw new Error("expected a claim");
      expect((await budget.snapshot()).project.reservedUsd).toBe(2);
      (clock as ManualClock).advance(5000);
      await ledger.recoverExpiredLeases();
      expect((await budget.snapshot()).project.reservedUsd).toBe(0);
    });
  });

  describe("budget invariant (property)", () => {
    it("spent + held never passes a cap or the ceiling by more than the recorded overshoots", async () => {
      const yaml = `
  max_concurrent_dispatches: 4
  budget:
    project_ceiling_usd: 3
  agents:
    code:
      daily_cap_usd: 2
      dispatch_reservation_usd: 0.1
      max_concurrent: 3
    qa:
      daily_cap_usd: 1.5
      dispatch_reservation_usd: 0.2
      max_concurrent: 2
  `;
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              worker: fc.integer({ min: 0, max: 3 }),
              role: fc.constantFrom("code", "qa"),
              // cost as a fraction of the hold: most calls stay within, some overshoot a little
              spendRatio: fc.double({ min: 0, max: 1.3, noNaN: true }),
            }),
            { minLength: 5, maxLength: 40 },
          ),
          async (steps) => {
            const { budget, config } = await setup(yaml);
            const inFlight = new Map<number, Awaited<ReturnType<typeof budget.reserve>>>();
            let overshoot = { code: 0, qa: 0, project: 0 };
            const check = async () => {
              const s = await budget.snapshot();
              for (const r of s.roles) {
                const cap = config.agents[r.role]!.dailyCapUsd;
                expect(r.spentUsd + r.reservedUsd).toBeLessThanOrEqual(
                  cap + overshoot[r.role as "code" | "qa"] + 1e-9,
                );
              }
              expect(s.project.spentUsd + s.project.reservedUsd).toBeLessThanOrEqual(
                3 + overshoot.project + 1e-9,
              );
            };
            // Interleave: each step either starts a call for an idle worker or settles its call.
            for (const step of steps) {
              const held = inFlight.get(step.worker);
              if (held) {
                inFlight.delete(step.worker);
                const cost = held.amountUsd * step.spendRatio;
                const settled = await budget
                  .settle(held, cost)
                  .catch((e: { settlement?: unknown }) => {
                    if (!e.settlement) throw e;
                    return e.settlement as Awaited<ReturnType<typeof budget.settle>>;
                  });
                overshoot = {
                  ...overshoot,
                  [held.role]: overshoot[held.role as "code" | "qa"] + settled.overshootUsd,
                  project: overshoot.project + settled.overshootUsd,
                };
              } else {
                const r = await budget.reserve(step.role).catch((e: unknown) => {
                  if (e instanceof BudgetExceeded) return null;
                  throw e;
                });
                if (r) inFlight.set(step.worker, r);
              }
              await check();
            }
          },
        ),
        { numRuns: 40, seed: 7 },
      );
    });
  });
}
