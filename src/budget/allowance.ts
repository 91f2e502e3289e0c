import type { BudgetScope } from "../errors.js";

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

/**
 * How much a new call of this role may spend right now, or the binding limit when not even
 * `minimumUsd` fits. The free room under each limit is shared between the call slots still
 * open, so calls in flight together can never be promised more than the cap.
 */
export function allowanceFor(
  usage: BudgetUsage,
  limits: BudgetLimits,
  minimumUsd: number,
): { ok: true; amountUsd: number } | { ok: false; scope: BudgetScope; capUsd: number } {
  const roleFree = limits.roleCapUsd - usage.roleSpentUsd - usage.roleReservedUsd;
  const projectFree = limits.ceilingUsd - usage.projectSpentUsd - usage.projectReservedUsd;
  if (projectFree + EPSILON < minimumUsd) {
    return { ok: false, scope: "project", capUsd: limits.ceilingUsd };
  }
  if (roleFree + EPSILON < minimumUsd)
    return { ok: false, scope: "role", capUsd: limits.roleCapUsd };
  const roleShare = roleFree / Math.max(1, limits.roleSlots - usage.roleHeld);
  const projectShare = projectFree / Math.max(1, limits.projectSlots - usage.projectHeld);
  const amount = Math.max(minimumUsd, Math.min(roleShare, projectShare));
  return { ok: true, amountUsd: Math.min(amount, roleFree, projectFree) };
}
