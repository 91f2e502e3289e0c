import type { BudgetScope } from "../../errors.js";
import { type BudgetLimits, type BudgetUsage, EPSILON } from "./allowance.js";

/** The reason recorded when a role is marked [CAP HIT] before a call. */
export function capHitReason(scope: BudgetScope, limits: BudgetLimits): string {
  return scope === "role"
    ? `daily cap $${limits.roleCapUsd} reached`
    : `project ceiling $${limits.ceilingUsd} reached`;
}

/** What a settled call's spend means for the day: the soft cap reached, a limit passed. */
export interface SettlementVerdict {
  softCapReached: boolean;
  exceeded: { scope: BudgetScope; capUsd: number; reason: string } | null;
}

/** Judges the day's usage right after a call's cost was added to it. */
export function settlementVerdict(usage: BudgetUsage, limits: BudgetLimits): SettlementVerdict {
  const softCapReached = usage.roleSpentUsd + EPSILON >= limits.softCapRatio * limits.roleCapUsd;
  const overRole = usage.roleSpentUsd > limits.roleCapUsd + EPSILON;
  const overProject = usage.projectSpentUsd > limits.ceilingUsd + EPSILON;
  if (!overRole && !overProject) return { softCapReached, exceeded: null };
  const scope: BudgetScope = overProject ? "project" : "role";
  const capUsd = overProject ? limits.ceilingUsd : limits.roleCapUsd;
  const reason = `${scope === "role" ? "daily cap" : "project ceiling"} $${capUsd} passed after the fact`;
  return { softCapReached, exceeded: { scope, capUsd, reason } };
}
