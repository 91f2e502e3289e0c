import {
  type Reservation,
  type ReserveOutcome,
  reserve,
  type Settlement,
  settle,
} from "./budget.js";
import type { BudgetLimits } from "./rules/allowance.js";
import { type ClaimEnd, lostClaimReason } from "./rules/transitions.js";
import { type Actor, requireTask, type Scope } from "./scope.js";
import {
  type ClaimOptions,
  claimTask,
  endHeldClaim,
  nextClaimable,
  recordLateCost,
} from "./task-transitions.js";
import type { DispatchOutcome, Task } from "./types.js";

/** What `claimAndReserve` found: nothing to do, a budget refusal, or a claimed, funded task. */
export type ClaimAndReserve =
  | { kind: "empty" }
  | { kind: "refused"; taskId: string; refusal: Extract<ReserveOutcome, { ok: false }> }
  | { kind: "claimed"; task: Task; reservation: Reservation };

/** What `finishClaim` recorded. */
export interface FinishedClaim {
  task: Task;
  settlement: Settlement | null;
  /**
   * The claim had been lost meanwhile (killed by a human, or recovered after its lease ran
   * out): the cost was still recorded on the task and the budget, the status left alone.
   */
  claimLost: boolean;
}

/**
 * Claims the role's next task and reserves its budget in one transaction. When the budget
 * refuses, nothing is claimed: the task stays pending and the role is marked [CAP HIT].
 */
export async function claimAndReserve(
  scope: Scope,
  role: string,
  budget: { day: string; minimumUsd: number; limits: BudgetLimits },
  options: ClaimOptions,
): Promise<ClaimAndReserve> {
  // The day first (one lock order everywhere: budget day, task rows, audit head): on a server
  // database the project ceiling spans roles and hosts, so claims of a day queue here, and the
  // candidate read after it is fresh.
  await scope.tx.lock({ kind: "budget-day", day: budget.day });
  const candidate = await nextClaimable(scope, role);
  if (candidate === undefined) return { kind: "empty" };
  const outcome = await reserve(
    scope,
    { day: budget.day, role, taskId: candidate, minimumUsd: budget.minimumUsd },
    budget.limits,
    options.actor,
  );
  if (!outcome.ok) return { kind: "refused", taskId: candidate, refusal: outcome };
  // claimTask throws TaskClaimRace when the candidate was taken meanwhile.
  const task = await claimTask(scope, candidate, options);
  return { kind: "claimed", task, reservation: outcome.reservation };
}

/**
 * Ends a claim and, in the same transaction, settles its budget reservation, so the task's
 * recorded cost and the day's spend can never disagree. A claim lost meanwhile is not an
 * error here: its cost is still recorded (`claimLost: true`).
 */
export async function finishClaim(
  scope: Scope,
  claim: { id: string; token: string; end: ClaimEnd; outcome: DispatchOutcome },
  settleWith: { reservationId: string; limits: BudgetLimits } | undefined,
  actor: Actor,
): Promise<FinishedClaim> {
  const { id, token, end, outcome } = claim;
  const settlement = settleWith
    ? await settle(scope, settleWith.reservationId, outcome.costUsd ?? 0, settleWith.limits, actor)
    : null;
  const ended = await endHeldClaim(scope, id, token, end, outcome, actor);
  if (ended) return { task: ended, settlement, claimLost: false };
  const current = await requireTask(scope, id);
  return {
    task: await recordLateCost(scope, id, outcome, lostClaimReason(current), actor),
    settlement,
    claimLost: true,
  };
}
