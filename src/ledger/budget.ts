import type { BudgetScope } from "../errors.js";
import { LedgerError } from "../errors.js";
import type { Actor, LedgerCore } from "./core.js";
import { allowanceFor, type BudgetLimits, type BudgetUsage, EPSILON } from "./rules/allowance.js";

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

export function usageSync(core: LedgerCore, day: string, role: string): BudgetUsage {
  const spent = core
    .prepare(
      `SELECT COALESCE(SUM(spent_usd), 0) AS project,
              COALESCE(SUM(CASE WHEN role = ? THEN spent_usd END), 0) AS role
         FROM budget WHERE day = ?`,
    )
    .get(role, day) as { project: number; role: number };
  const held = core
    .prepare(
      `SELECT COALESCE(SUM(amount_usd), 0) AS project, COUNT(*) AS project_n,
              COALESCE(SUM(CASE WHEN role = ? THEN amount_usd END), 0) AS role,
              COUNT(CASE WHEN role = ? THEN 1 END) AS role_n
         FROM budget_reservations WHERE day = ? AND state = 'held'`,
    )
    .get(role, role, day) as { project: number; project_n: number; role: number; role_n: number };
  return {
    roleSpentUsd: spent.role,
    roleReservedUsd: held.role,
    roleHeld: held.role_n,
    projectSpentUsd: spent.project,
    projectReservedUsd: held.project,
    projectHeld: held.project_n,
  };
}

function ensureRow(core: LedgerCore, day: string, role: string): void {
  core.prepare("INSERT OR IGNORE INTO budget (day, role) VALUES (?, ?)").run(day, role);
}

/** Marks the role [CAP HIT] for the day; true when it was not marked yet. */
function markCapHit(core: LedgerCore, day: string, role: string, reason: string): boolean {
  ensureRow(core, day, role);
  return (
    core
      .prepare(
        "UPDATE budget SET cap_hit_at = ?, cap_hit_reason = ? WHERE day = ? AND role = ? AND cap_hit_at IS NULL",
      )
      .run(core.now(), reason, day, role).changes === 1
  );
}

/** Checks and holds in one step; must run inside the caller's write transaction. */
export function reserveSync(
  core: LedgerCore,
  request: { day: string; role: string; taskId: string | null; minimumUsd: number },
  limits: BudgetLimits,
  actor: Actor,
): ReserveOutcome {
  const usage = usageSync(core, request.day, request.role);
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
    const reason =
      allowance.scope === "role"
        ? `daily cap $${limits.roleCapUsd} reached`
        : `project ceiling $${limits.ceilingUsd} reached`;
    const firstToday = markCapHit(core, request.day, request.role, reason);
    if (firstToday) {
      core.audit.appendSync({
        ts: core.now(),
        actor,
        action: "budget.cap_hit",
        entityType: "budget",
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
    id: core.newId(),
    day: request.day,
    role: request.role,
    taskId: request.taskId,
    amountUsd: allowance.amountUsd,
  };
  core
    .prepare(
      "INSERT INTO budget_reservations (id, day, role, task_id, amount_usd, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .run(
      reservation.id,
      reservation.day,
      reservation.role,
      reservation.taskId,
      reservation.amountUsd,
      core.now(),
    );
  // Audited, so `audit verify` can rebuild which holds are open from the chain alone.
  core.audit.appendSync({
    ts: core.now(),
    actor,
    action: "budget.held",
    entityType: "budget",
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

function closeReservation(
  core: LedgerCore,
  id: string,
  state: "settled" | "released",
  cost: number | null,
) {
  const row = core
    .prepare(
      "SELECT id, day, role, task_id, amount_usd, state FROM budget_reservations WHERE id = ?",
    )
    .get(id) as
    | {
        id: string;
        day: string;
        role: string;
        task_id: string | null;
        amount_usd: number;
        state: string;
      }
    | undefined;
  if (!row) throw new LedgerError(`no budget reservation with id ${JSON.stringify(id)}`);
  // A hold released by crash recovery can still be settled: the money was spent all the same.
  if (row.state === "settled" || (state === "released" && row.state !== "held")) {
    throw new LedgerError(`budget reservation ${id} is already ${row.state}`);
  }
  core
    .prepare("UPDATE budget_reservations SET state = ?, cost_usd = ?, closed_at = ? WHERE id = ?")
    .run(state, cost, core.now(), id);
  return {
    id: row.id,
    day: row.day,
    role: row.role,
    taskId: row.task_id,
    amountUsd: row.amount_usd,
  } satisfies Reservation;
}

/**
 * Records what a call cost against the day it was reserved on (a call that runs across UTC
 * midnight is charged to the day whose cap let it start), releases the hold, and reports a
 * soft-cap crossing or a cap passed after the fact, each once per role per day.
 */
export function settleSync(
  core: LedgerCore,
  reservationId: string,
  costUsd: number,
  limits: BudgetLimits,
  actor: Actor,
): Settlement {
  if (!Number.isFinite(costUsd) || costUsd < 0) {
    throw new LedgerError(`a call's cost must be a non-negative number, got ${costUsd}`);
  }
  const reservation = closeReservation(core, reservationId, "settled", costUsd);
  const { day, role } = reservation;
  ensureRow(core, day, role);
  core
    .prepare("UPDATE budget SET spent_usd = spent_usd + ? WHERE day = ? AND role = ?")
    .run(costUsd, day, role);
  const usage = usageSync(core, day, role);
  const overshootUsd = Math.max(0, costUsd - reservation.amountUsd);
  let softCapCrossed = false;
  if (usage.roleSpentUsd + EPSILON >= limits.softCapRatio * limits.roleCapUsd) {
    softCapCrossed =
      core
        .prepare(
          "UPDATE budget SET soft_cap_at = ? WHERE day = ? AND role = ? AND soft_cap_at IS NULL",
        )
        .run(core.now(), day, role).changes === 1;
  }
  let exceeded: Settlement["exceeded"] = null;
  const overRole = usage.roleSpentUsd > limits.roleCapUsd + EPSILON;
  const overProject = usage.projectSpentUsd > limits.ceilingUsd + EPSILON;
  if (overRole || overProject) {
    const scope: BudgetScope = overProject ? "project" : "role";
    const capUsd = overProject ? limits.ceilingUsd : limits.roleCapUsd;
    const firstToday = markCapHit(
      core,
      day,
      role,
      `${scope === "role" ? "daily cap" : "project ceiling"} $${capUsd} passed after the fact`,
    );
    exceeded = { scope, capUsd, firstToday };
  }
  core.audit.appendSync({
    ts: core.now(),
    actor,
    action: exceeded ? "budget.exceeded" : "budget.settled",
    entityType: "budget",
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
export function releaseSync(core: LedgerCore, reservationId: string, actor: Actor): Reservation {
  const reservation = closeReservation(core, reservationId, "released", null);
  auditReleased(core, actor, [reservationId], "given back unspent");
  return reservation;
}

/** Releases every hold of a task (its claim was recovered, killed or changed), audited. */
export function releaseHeldForTaskSync(
  core: LedgerCore,
  taskId: string,
  actor: Actor,
  reason: string,
): number {
  const ids = released(core, "task_id = ? AND state = 'held'", taskId);
  if (ids.length > 0) auditReleased(core, actor, ids, reason);
  return ids.length;
}

/** Marks the holds `where` selects as released, in one statement; returns their ids. */
function released(core: LedgerCore, where: string, ...params: unknown[]): string[] {
  return (
    core
      .prepare(
        `UPDATE budget_reservations SET state = 'released', closed_at = ? WHERE ${where} RETURNING id`,
      )
      .all(core.now(), ...params) as { id: string }[]
  ).map((r) => r.id);
}

function auditReleased(core: LedgerCore, actor: Actor, ids: string[], reason: string): void {
  core.audit.appendSync({
    ts: core.now(),
    actor,
    action: "budget.holds_released",
    entityType: "budget",
    entityId: null,
    details: { reservations: ids, reason },
  });
}

const ORPHAN = `state = 'held' AND task_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = task_id AND t.status = 'in_progress')`;

/** Ids of the holds whose task is no longer claimed (a read: no write lock taken). */
export function orphanHoldsSync(core: LedgerCore): string[] {
  return (
    core.prepare(`SELECT id FROM budget_reservations WHERE ${ORPHAN}`).all() as { id: string }[]
  ).map((r) => r.id);
}

/**
 * Releases the holds whose task is no longer claimed (a claim ended without settling, a task
 * changed behind a crashed Producer's back): money held for no call would block its role for
 * the rest of the day. Audited when it finds any. Returns the released reservation ids.
 */
export function releaseOrphanHoldsSync(core: LedgerCore, actor: string): string[] {
  const ids = released(core, ORPHAN);
  if (ids.length > 0) auditReleased(core, actor, ids, "their task is no longer claimed");
  return ids;
}

/** Every role's row for a day (roles without spend or holds are absent). */
export function dayBudgetSync(core: LedgerCore, day: string): RoleBudgetRow[] {
  return core
    .prepare(
      `SELECT r.role AS role,
              COALESCE(b.spent_usd, 0) AS spentUsd,
              COALESCE(h.reserved, 0) AS reservedUsd,
              COALESCE(h.n, 0) AS heldCount,
              b.soft_cap_at AS softCapAt, b.cap_hit_at AS capHitAt, b.cap_hit_reason AS capHitReason
         FROM (SELECT role FROM budget WHERE day = @day
               UNION SELECT role FROM budget_reservations WHERE day = @day AND state = 'held') r
         LEFT JOIN budget b ON b.day = @day AND b.role = r.role
         LEFT JOIN (SELECT role, SUM(amount_usd) AS reserved, COUNT(*) AS n
                      FROM budget_reservations WHERE day = @day AND state = 'held' GROUP BY role) h
           ON h.role = r.role
        ORDER BY r.role`,
    )
    .all({ day }) as RoleBudgetRow[];
}

/** Total spend per day and role over [fromDay, toDay], for charts. */
export function spendByDaySync(
  core: LedgerCore,
  fromDay: string,
  toDay: string,
): { day: string; role: string; spentUsd: number }[] {
  return core
    .prepare(
      "SELECT day, role, spent_usd AS spentUsd FROM budget WHERE day BETWEEN ? AND ? ORDER BY day, role",
    )
    .all(fromDay, toDay) as { day: string; role: string; spentUsd: number }[];
}

export type { BudgetLimits, BudgetUsage };
