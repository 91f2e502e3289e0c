import type { BudgetScope } from "../../errors.js";

/** The limits one reservation is checked against. */
export interface BudgetLimits {
  roleCapUsd: number;
  ceilingUsd: number;
  softCapRatio: number;
  /** Calls of this role that may run at once; the free room is shared between them. */
  roleSlots: number;
  /** Calls of all roles that may run at once. */
  projectSlots: number;
}

/** Spend and holds of one UTC day, for one role and for the whole project. */
export interface BudgetUsage {
  roleSpentUsd: number;
  roleReservedUsd: number;
  roleHeld: number;
  projectSpentUsd: number;
  projectReservedUsd: number;
  projectHeld: number;
}

// Float sums of cents drift in the 1e-15s; a cap is not "passed" by rounding noise.
export const EPSILON = 1e-9;

/** Why a call may not start now. */
export interface Refusal {
  ok: false;
  scope: BudgetScope;
  capUsd: number;
  /**
   * True when the money is only held by calls in flight (here or in another Producer):
   * waiting for them to settle may free it. False when it is spent: the limit is reached
   * for the day, `[CAP HIT]`.
   */
  transient: boolean;
}

/**
 * How much a new call of this role may spend right now, or why it may not start. The free
 * room under each limit is shared between the call slots still open, so calls in flight
 * together can never be promised more than the cap.
 */
export function allowanceFor(
  usage: BudgetUsage,
  limits: BudgetLimits,
  minimumUsd: number,
): { ok: true; amountUsd: number } | Refusal {
  const projectUnspent = limits.ceilingUsd - usage.projectSpentUsd;
  const roleUnspent = limits.roleCapUsd - usage.roleSpentUsd;
  const projectFree = projectUnspent - usage.projectReservedUsd;
  const roleFree = roleUnspent - usage.roleReservedUsd;
  const refuse = (scope: BudgetScope, unspent: number): Refusal => ({
    ok: false,
    scope,
    capUsd: scope === "role" ? limits.roleCapUsd : limits.ceilingUsd,
    transient: unspent + EPSILON >= minimumUsd,
  });
  if (projectFree + EPSILON < minimumUsd) return refuse("project", projectUnspent);
  if (roleFree + EPSILON < minimumUsd) return refuse("role", roleUnspent);
  const roleShare = roleFree / Math.max(1, limits.roleSlots - usage.roleHeld);
  const projectShare = projectFree / Math.max(1, limits.projectSlots - usage.projectHeld);
  const amount = Math.max(minimumUsd, Math.min(roleShare, projectShare));
  return { ok: true, amountUsd: Math.min(amount, roleFree, projectFree) };
}
