import type { BudgetScope } from "../errors.js";
import { LedgerError, LedgerNotFound, LedgerTransitionRefused } from "../errors.js";
import { type AuditEvent, appendAudit } from "./audit/chain.js";
import { allowanceFor, type BudgetLimits, type BudgetUsage } from "./rules/allowance.js";
import { capHitReason, settlementVerdict } from "./rules/cap-hit.js";
import { type Actor, newIdOf, nowOf, type Scope } from "./scope.js";

/** Money held for one call in flight. `amountUsd` is also the call's spending limit. */
export interface Reservation {
  id: string;
  day: string;
  role: string;
  taskId: string | null;
  amountUsd: number;
}

/** The outcome of asking for a reservation. */
export type ReserveOutcome =
  | { ok: true; reservation: Reservation }
  | {
      ok: false;
      scope: BudgetScope;
      usage: BudgetUsage;
      capUsd: number;
      /** Only held, not spent: calls in flight may free it. Not a [CAP HIT]. */
      transient: boolean;
      /** True when this refusal is the first [CAP HIT] of the role today. */
      firstToday: boolean;
    };

/** What settling a reservation found. */
export interface Settlement {
  reservation: Reservation;
  costUsd: number;
  /** How far the call spent past what was held for it (0 when it stayed within). */
  overshootUsd: number;
  usage: BudgetUsage;
  /** The role crossed its soft cap with this call (first time today). */
  softCapCrossed: boolean;
  /** Set when the role cap or the ceiling was passed after all. */
  exceeded: { scope: BudgetScope; capUsd: number; firstToday: boolean } | null;
}

/** One role's row of a day's budget. */
export interface RoleBudgetRow {
  role: string;
  spentUsd: number;
  reservedUsd: number;
  heldCount: number;
  softCapAt: string | null;
  capHitAt: string | null;
  capHitReason: string | null;
}

/** One role's spend and holds for a day, with the project's. Exact under the day's lock. */
export async function usageOf(scope: Scope, day: string, role: string): Promise<BudgetUsage> {
  const { tx } = scope;
  const spent = await tx.one<{ project: number; role: number }>(
    `SELECT COALESCE(SUM(spent_usd), 0) AS project,
            COALESCE(SUM(CASE WHEN role = ? THEN spent_usd END), 0) AS role
       FROM budget WHERE day = ?`,
    [role, day],
  );
  const held = await tx.one<{ project: number; project_n: number; role: number; role_n: number }>(
    `SELECT COALESCE(SUM(amount_usd), 0) AS project, COUNT(*) AS project_n,
            COALESCE(SUM(CASE WHEN role = ? THEN amount_usd END), 0) AS role,
            ${tx.dialect.countIf("role = ?")} AS role_n
       FROM budget_reservations WHERE day = ? AND state = 'held'`,
    [role, role, day],
  );
  return {
    roleSpentUsd: Number(spent?.role ?? 0),
    roleReservedUsd: Number(held?.role ?? 0),
    roleHeld: Number(held?.role_n ?? 0),
    projectSpentUsd: Number(spent?.project ?? 0),
    projectReservedUsd: Number(held?.project ?? 0),
    projectHeld: Number(held?.project_n ?? 0),
  };
}

function ensureRow(scope: Scope, day: string, role: string): Promise<number> {
  return scope.tx.run(scope.tx.dialect.insertIgnore("budget", ["day", "role"]), [day, role]);
}

/** Marks the role [CAP HIT] for the day; true when it was not marked yet. */
async function markCapHit(scope: Scope, day: string, role: string, reason: string) {
  await ensureRow(scope, day, role);
  const changes = await scope.tx.run(
    "UPDATE budget SET cap_hit_at = ?, cap_hit_reason = ? WHERE day = ? AND role = ? AND cap_hit_at IS NULL",
    [nowOf(scope), reason, day, role],
  );
  return changes === 1;
}

function audit(scope: Scope, event: Omit<AuditEvent, "ts" | "entityType">) {
  return appendAudit(scope, { ...event, ts: nowOf(scope), entityType: "budget" });
}

/**
 * Checks and holds in one step; must run inside the caller's write transaction. The day's
 * lock comes first: the project ceiling spans every role, so no two reservations of a day
 * may read the sums at once.
 */
export async function reserve(
  scope: Scope,
  request: { day: string; role: string; taskId: string | null; minimumUsd: number },
  limits: BudgetLimits,
  actor: Actor,
): Promise<ReserveOutcome> {
  await scope.tx.lock({ kind: "budget-day", day: request.day });
  const usage = await usageOf(scope, request.day, request.role);
  const allowance = allowanceFor(usage, limits, request.minimumUsd);
  if (!allowance.ok && allowance.transient) {
    // Money held by calls in flight is not gone: the caller waits, nobody is told.
    return {
      ok: false,
      scope: allowance.scope,
      usage,
      capUsd: allowance.capUsd,
      transient: true,
      firstToday: false,
    };
  }
  if (!allowance.ok) {
    const reason = capHitReason(allowance.scope, limits);
    const firstToday = await markCapHit(scope, request.day, request.role, reason);
    if (firstToday) {
      await audit(scope, {
        actor,
        action: "budget.cap_hit",
        entityId: request.role,
        details: { day: request.day, scope: allowance.scope, cap_usd: allowance.capUsd, ...usage },
      });
    }
    return {
      ok: false,
      scope: allowance.scope,
      usage,
      capUsd: allowance.capUsd,
      transient: false,
      firstToday,
    };
  }
  const reservation: Reservation = {
    id: newIdOf(scope),
    day: request.day,
    role: request.role,
    taskId: request.taskId,
    amountUsd: allowance.amountUsd,
  };
  await scope.tx.run(
    "INSERT INTO budget_reservations (id, day, role, task_id, amount_usd, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    [
      reservation.id,
      reservation.day,
      reservation.role,
      reservation.taskId,
      reservation.amountUsd,
      nowOf(scope),
    ],
  );
  // Audited, so `audit verify` can rebuild which holds are open from the chain alone.
  await audit(scope, {
    actor,
    action: "budget.held",
    entityId: reservation.role,
    details: {
      day: reservation.day,
      reservation_id: reservation.id,
      task_id: reservation.taskId,
      amount_usd: reservation.amountUsd,
    },
  });
  return { ok: true, reservation };
}

async function closeReservation(
  scope: Scope,
  id: string,
  state: "settled" | "released",
  cost: number | null,
): Promise<Reservation> {
  const row = await scope.tx.one<{
    id: string;
    day: string;
    role: string;
    task_id: string | null;
    amount_usd: number;
    state: string;
  }>("SELECT id, day, role, task_id, amount_usd, state FROM budget_reservations WHERE id = ?", [
    id,
  ]);
  if (!row) throw new LedgerNotFound(`no budget reservation with id ${JSON.stringify(id)}`);
  // The day's sums change with it: its lock first (a no-op under SQLite's one write lock).
  await scope.tx.lock({ kind: "budget-day", day: row.day });
  // A hold released by crash recovery can still be settled: the money was spent all the same.
  if (row.state === "settled" || (state === "released" && row.state !== "held")) {
    throw new LedgerTransitionRefused(`budget reservation ${id} is already ${row.state}`);
  }
  // Only from the state just read: a backend without one write lock may have let another
  // transaction close it in between.
  const changed = await scope.tx.run(
    "UPDATE budget_reservations SET state = ?, cost_usd = ?, closed_at = ? WHERE id = ? AND state = ?",
    [state, cost, nowOf(scope), id, row.state],
  );
  if (changed !== 1) {
    throw new LedgerError(`budget reservation ${id} was closed by another worker meanwhile`, {
      code: "conflict",
    });
  }
  return {
    id: row.id,
    day: row.day,
    role: row.role,
    taskId: row.task_id,
    amountUsd: Number(row.amount_usd),
  };
}

/**
 * Records what a call cost against the day it was reserved on (a call that runs across UTC
 * midnight is charged to the day whose cap let it start), releases the hold, and reports a
 * soft-cap crossing or a cap passed after the fact, each once per role per day.
 */
export async function settle(
  scope: Scope,
  reservationId: string,
  costUsd: number,
  limits: BudgetLimits,
  actor: Actor,
): Promise<Settlement> {
  if (!Number.isFinite(costUsd) || costUsd < 0) {
    throw new LedgerError(`a call's cost must be a non-negative number, got ${costUsd}`);
  }
  const reservation = await closeReservation(scope, reservationId, "settled", costUsd);
  const { day, role } = reservation;
  await ensureRow(scope, day, role);
  await scope.tx.run("UPDATE budget SET spent_usd = spent_usd + ? WHERE day = ? AND role = ?", [
    costUsd,
    day,
    role,
  ]);
  const usage = await usageOf(scope, day, role);
  const overshootUsd = Math.max(0, costUsd - reservation.amountUsd);
  const verdict = settlementVerdict(usage, limits);
  let softCapCrossed = false;
  if (verdict.softCapReached) {
    softCapCrossed =
      (await scope.tx.run(
        "UPDATE budget SET soft_cap_at = ? WHERE day = ? AND role = ? AND soft_cap_at IS NULL",
        [nowOf(scope), day, role],
      )) === 1;
  }
  let exceeded: Settlement["exceeded"] = null;
  if (verdict.exceeded) {
    const { scope: over, capUsd, reason } = verdict.exceeded;
    exceeded = { scope: over, capUsd, firstToday: await markCapHit(scope, day, role, reason) };
  }
  await audit(scope, {
    actor,
    action: exceeded ? "budget.exceeded" : "budget.settled",
    entityId: role,
    details: {
      day,
      reservation_id: reservation.id,
      task_id: reservation.taskId,
      held_usd: reservation.amountUsd,
      cost_usd: costUsd,
      overshoot_usd: overshootUsd,
      ...(softCapCrossed ? { soft_cap_crossed: true } : {}),
    },
  });
  return { reservation, costUsd, overshootUsd, usage, softCapCrossed, exceeded };
}

/** Gives a hold back unspent (the call never started, or was aborted before any cost). */
export async function releaseHold(
  scope: Scope,
  reservationId: string,
  actor: Actor,
): Promise<Reservation> {
  const reservation = await closeReservation(scope, reservationId, "released", null);
  await auditReleased(scope, actor, [reservationId], "given back unspent");
  return reservation;
}

/** Releases every hold of a task (its claim was recovered, killed or changed), audited. */
export async function releaseHeldForTask(
  scope: Scope,
  taskId: string,
  actor: Actor,
  reason: string,
): Promise<number> {
  const ids = await released(scope, "task_id = ? AND state = 'held'", taskId);
  if (ids.length > 0) await auditReleased(scope, actor, ids, reason);
  return ids.length;
}

/** Marks the holds `where` selects as released, in one statement; returns their ids. */
async function released(scope: Scope, where: string, ...params: unknown[]): Promise<string[]> {
  const rows = await scope.tx.all<{ id: string }>(
    `UPDATE budget_reservations SET state = 'released', closed_at = ? WHERE ${where} RETURNING id`,
    [nowOf(scope), ...params],
  );
  return rows.map((r) => r.id);
}

async function auditReleased(scope: Scope, actor: Actor, ids: string[], reason: string) {
  await audit(scope, {
    actor,
    action: "budget.holds_released",
    entityId: null,
    details: { reservations: ids, reason },
  });
}

const ORPHAN = `state = 'held' AND task_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = task_id AND t.status = 'in_progress')`;

/** Ids of the holds whose task is no longer claimed (a read: no write lock taken). */
export async function orphanHolds(scope: Scope): Promise<string[]> {
  const rows = await scope.tx.all<{ id: string }>(
    `SELECT id FROM budget_reservations WHERE ${ORPHAN}`,
  );
  return rows.map((r) => r.id);
}

/**
 * Releases the holds whose task is no longer claimed (a claim ended without settling, a task
 * changed behind a crashed Producer's back): money held for no call would block its role for
 * the rest of the day. Audited when it finds any. Returns the released reservation ids.
 */
export async function releaseOrphanHolds(scope: Scope, actor: string): Promise<string[]> {
  const ids = await released(scope, ORPHAN);
  if (ids.length > 0) await auditReleased(scope, actor, ids, "their task is no longer claimed");
  return ids;
}

/** Every role's row for a day (roles without spend or holds are absent). */
export async function dayBudget(scope: Scope, day: string): Promise<RoleBudgetRow[]> {
  const rows = await scope.tx.all<RoleBudgetRow>(
    `SELECT r.role AS role,
              COALESCE(b.spent_usd, 0) AS "spentUsd",
              COALESCE(h.reserved, 0) AS "reservedUsd",
              COALESCE(h.n, 0) AS "heldCount",
              b.soft_cap_at AS "softCapAt", b.cap_hit_at AS "capHitAt", b.cap_hit_reason AS "capHitReason"
         FROM (SELECT role FROM budget WHERE day = @day
               UNION SELECT role FROM budget_reservations WHERE day = @day AND state = 'held') r
         LEFT JOIN budget b ON b.day = @day AND b.role = r.role
         LEFT JOIN (SELECT role, SUM(amount_usd) AS reserved, COUNT(*) AS n
                      FROM budget_reservations WHERE day = @day AND state = 'held' GROUP BY role) h
           ON h.role = r.role
        ORDER BY r.role`,
    { day },
  );
  return rows.map((r) => ({
    ...r,
    spentUsd: Number(r.spentUsd),
    reservedUsd: Number(r.reservedUsd),
    heldCount: Number(r.heldCount),
  }));
}

/** Total spend per day and role over [fromDay, toDay], for charts. */
export async function spendByDay(
  scope: Scope,
  fromDay: string,
  toDay: string,
): Promise<{ day: string; role: string; spentUsd: number }[]> {
  const rows = await scope.tx.all<{ day: string; role: string; spentUsd: number }>(
    `SELECT day, role, spent_usd AS "spentUsd" FROM budget WHERE day BETWEEN ? AND ? ORDER BY day, role`,
    [fromDay, toDay],
  );
  return rows.map((r) => ({ ...r, spentUsd: Number(r.spentUsd) }));
}

export type { BudgetLimits, BudgetUsage };

/** One role's money on a day, as the burn-rate forecast reads it. */
export interface RolePace {
  role: string;
  /** Settled spend of the day. */
  spentUsd: number;
  /** The part of it charged (its call settled) at or after `since`. */
  recentUsd: number;
  /** Held by calls in flight: spent as far as a cap is concerned, until they settle. */
  heldUsd: number;
  heldCount: number;
}

/**
 * Per role: a day's settled spend, the part of it charged since `since` (when a call settles
 * is when it is charged), and the holds in flight. Each part reads an index keyed by day.
 */
export async function spendPace(scope: Scope, day: string, since: string): Promise<RolePace[]> {
  const rows = await scope.tx.all<RolePace>(
    `SELECT r.role AS role,
            COALESCE(b.spent_usd, 0) AS "spentUsd",
            COALESCE(c.recent, 0) AS "recentUsd",
            COALESCE(h.held, 0) AS "heldUsd",
            COALESCE(h.n, 0) AS "heldCount"
       FROM (SELECT role FROM budget WHERE day = @day
             UNION SELECT role FROM budget_reservations WHERE day = @day AND state = 'held') r
       LEFT JOIN budget b ON b.day = @day AND b.role = r.role
       LEFT JOIN (SELECT role, SUM(cost_usd) AS recent FROM budget_reservations
                   WHERE day = @day AND state = 'settled' AND closed_at >= @since
                   GROUP BY role) c ON c.role = r.role
       LEFT JOIN (SELECT role, SUM(amount_usd) AS held, COUNT(*) AS n FROM budget_reservations
                   WHERE day = @day AND state = 'held' GROUP BY role) h ON h.role = r.role
      ORDER BY r.role`,
    { day, since },
  );
  return rows.map((r) => ({
    role: r.role,
    spentUsd: Number(r.spentUsd),
    recentUsd: Number(r.recentUsd),
    heldUsd: Number(r.heldUsd),
    heldCount: Number(r.heldCount),
  }));
}
