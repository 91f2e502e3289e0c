import type { Clock } from "../clock.js";
import { systemClock, utcToday } from "../clock.js";
import { FALLBACK_RESERVATION_USD } from "../config/approval.js";
import type { ProducerConfig } from "../config/types.js";
import { BudgetExceeded, ProducerError } from "../errors.js";
import type { Reservation, ReserveOutcome, Settlement } from "../ledger/budget.js";
import type { ClaimAndReserve } from "../ledger/claim-and-fund.js";
import type { Ledger } from "../ledger/ledger.js";
import { allowanceFor, type BudgetLimits } from "../ledger/rules/allowance.js";
import type { Task } from "../ledger/types.js";

export { FALLBACK_RESERVATION_USD };

/** The slice of producer.yaml the budget needs. */
export type BudgetSettings = Pick<ProducerConfig, "agents" | "budget" | "maxConcurrentDispatches">;

/** One role's day at a glance. */
export interface RoleBudget {
  role: string;
  capUsd: number;
  spentUsd: number;
  reservedUsd: number;
  /** spent / cap at which the one-time soft-cap warning fires. */
  softCapUsd: number;
  softCapReached: boolean;
  /** Marked once the role met its cap (or the ceiling) today: `[CAP HIT]`. */
  capHit: boolean;
  capHitReason: string | null;
}

/** The whole project's day at a glance. */
export interface BudgetSnapshot {
  day: string;
  roles: RoleBudget[];
  project: { ceilingUsd: number; spentUsd: number; reservedUsd: number };
}

/** What a dispatch that the budget refused looks like to the loop. */
export type FundedClaim =
  | { kind: "empty" }
  | { kind: "refused"; taskId: string; error: BudgetExceeded }
  /** Money is held by calls in flight; try again once they settle. */
  | { kind: "busy"; taskId: string; error: BudgetExceeded }
  | { kind: "claimed"; task: Task; reservation: Reservation };

/**
 * Per-role daily caps and the project ceiling, enforced before money is spent. The check and
 * the hold happen in one ledger transaction; the UTC day comes from the injected clock, so
 * caps start fresh at midnight UTC.
 */
export class BudgetTracker {
  private readonly clock: Clock;
  private readonly warn: (message: string) => void;
  private readonly actor: string;
  private warnedFallback = false;

  constructor(
    private readonly ledger: Ledger,
    private readonly settings: BudgetSettings,
    options: { clock?: Clock; warn?: (message: string) => void; actor?: string } = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.warn = options.warn ?? ((message) => process.emitWarning(message));
    this.actor = options.actor ?? "producer";
  }

  /** The UTC day budgets are counted on right now. */
  today(): string {
    return utcToday(this.clock);
  }

  /** What one dispatch of `role` holds at least: its own setting, the producer's, or $0.05. */
  reservationFor(role: string): number {
    const own = this.role(role).dispatchReservationUsd;
    if (own !== null) return own;
    const producer = this.settings.agents.producer?.dispatchReservationUsd;
    if (producer !== null && producer !== undefined) return producer;
    if (!this.warnedFallback) {
      this.warnedFallback = true;
      this.warn(
        `no dispatch_reservation_usd for role ${role} nor for a producer role: reserving $${FALLBACK_RESERVATION_USD} per call`,
      );
    }
    return FALLBACK_RESERVATION_USD;
  }

  /** The limits a reservation of `role` is checked against. */
  limitsFor(role: string): BudgetLimits {
    return {
      roleCapUsd: this.role(role).dailyCapUsd,
      ceilingUsd: this.settings.budget.projectCeilingUsd,
      softCapRatio: this.settings.budget.softCapRatio,
      roleSlots: this.role(role).maxConcurrent,
      projectSlots: this.settings.maxConcurrentDispatches,
    };
  }

  /** Holds money for one call of `role`; refused with BudgetExceeded when a limit is reached. */
  async reserve(role: string, taskId: string | null = null): Promise<Reservation> {
    const outcome = await this.ledger.reserveBudget(
      { day: this.today(), role, taskId, minimumUsd: this.reservationFor(role) },
      this.limitsFor(role),
      { actor: this.actor },
    );
    if (!outcome.ok) throw this.refusal(role, outcome);
    return outcome.reservation;
  }

  /** Claims the role's next task and holds its budget in one transaction. */
  async claimAndReserve(
    role: string,
    options: { leaseMs?: number; claimedBy?: string } = {},
  ): Promise<FundedClaim> {
    const result: ClaimAndReserve = await this.ledger.claimAndReserve(
      role,
      { day: this.today(), minimumUsd: this.reservationFor(role), limits: this.limitsFor(role) },
      { ...options, actor: this.actor },
    );
    if (result.kind !== "refused") return result;
    const error = this.refusal(role, result.refusal);
    return { kind: error.transient ? "busy" : "refused", taskId: result.taskId, error };
  }

  /**
   * What the SDK's per-call limit (`maxBudgetUsd`) would be for a call of `role` started now:
   * its share of the free room under the role cap and the ceiling; 0 when refused.
   */
  async headroom(role: string): Promise<number> {
    const usage = await this.ledger.budgetUsage(this.today(), role);
    const allowance = allowanceFor(usage, this.limitsFor(role), this.reservationFor(role));
    return allowance.ok ? allowance.amountUsd : 0;
  }

  /**
   * Records what the call cost and releases its hold. Throws BudgetExceeded (after recording
   * everything) when the cost took the role or the project past its limit.
   */
  async settle(reservation: Reservation, costUsd: number): Promise<Settlement> {
    const settlement = await this.ledger.settleBudget(
      reservation.id,
      costUsd,
      this.limitsFor(reservation.role),
      { actor: this.actor },
    );
    const error = this.exceededError(settlement);
    if (error) throw Object.assign(error, { settlement });
    return settlement;
  }

  /** The BudgetExceeded a settlement implies, or null when it stayed within its limits. */
  exceededError(settlement: Settlement): BudgetExceeded | null {
    if (!settlement.exceeded) return null;
    const { scope, capUsd, firstToday } = settlement.exceeded;
    const u = settlement.usage;
    return new BudgetExceeded(
      settlement.reservation.role,
      scope,
      capUsd,
      scope === "role" ? u.roleSpentUsd : u.projectSpentUsd,
      scope === "role" ? u.roleReservedUsd : u.projectReservedUsd,
      true,
      firstToday,
    );
  }

  /** Gives a hold back unspent. */
  async release(reservation: Reservation): Promise<void> {
    await this.ledger.releaseBudget(reservation.id);
  }

  /** Every configured role's spend, holds and markers for a UTC day (default today). */
  async snapshot(day: string = this.today()): Promise<BudgetSnapshot> {
    const rows = new Map((await this.ledger.budgetForDay(day)).map((r) => [r.role, r]));
    const names = [...new Set([...Object.keys(this.settings.agents), ...rows.keys()])];
    const roles = names.map((role): RoleBudget => {
      const row = rows.get(role);
      const capUsd = this.settings.agents[role]?.dailyCapUsd ?? 0;
      return {
        role,
        capUsd,
        spentUsd: row?.spentUsd ?? 0,
        reservedUsd: row?.reservedUsd ?? 0,
        softCapUsd: capUsd * this.settings.budget.softCapRatio,
        softCapReached: row?.softCapAt != null,
        capHit: row?.capHitAt != null,
        capHitReason: row?.capHitReason ?? null,
      };
    });
    return {
      day,
      roles,
      project: {
        ceilingUsd: this.settings.budget.projectCeilingUsd,
        spentUsd: roles.reduce((sum, r) => sum + r.spentUsd, 0),
        reservedUsd: roles.reduce((sum, r) => sum + r.reservedUsd, 0),
      },
    };
  }

  private refusal(role: string, outcome: Extract<ReserveOutcome, { ok: false }>): BudgetExceeded {
    const u = outcome.usage;
    const project = outcome.scope === "project";
    return new BudgetExceeded(
      role,
      outcome.scope,
      outcome.capUsd,
      project ? u.projectSpentUsd : u.roleSpentUsd,
      project ? u.projectReservedUsd : u.roleReservedUsd,
      false,
      outcome.firstToday,
      outcome.transient,
    );
  }

  private role(role: string) {
    const config = this.settings.agents[role];
    if (!config) {
      throw new ProducerError(
        `unknown role "${role}": the roles in producer.yaml are ${Object.keys(this.settings.agents).join(", ")}`,
      );
    }
    return config;
  }
}
