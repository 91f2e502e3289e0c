import { ClaimLost, type LedgerError, LedgerTransitionRefused } from "../../errors.js";
import type { Task, TaskStatus } from "../types.js";

/** How a claimed task ends. */
export type ClaimEnd =
  | { kind: "done" }
  | { kind: "failed"; error: string }
  | { kind: "retry"; error: string; notBefore: string }
  | { kind: "escalated"; error: string }
  | { kind: "released"; reason: string };

/** The status each way of ending a claim leaves the task in. */
export const END_STATUS: Record<ClaimEnd["kind"], TaskStatus> = {
  done: "done",
  failed: "failed",
  retry: "pending",
  escalated: "escalated",
  released: "pending",
};

const END_VERB: Record<ClaimEnd["kind"], string> = {
  done: "completed",
  failed: "failed",
  retry: "retried",
  escalated: "escalated",
  released: "released",
};

/** Why the holder of `token` may not end the claim on `task` this way, or null. */
export function claimEndRefusal(task: Task, token: string, end: ClaimEnd): LedgerError | null {
  if (task.status !== "in_progress") {
    return new LedgerTransitionRefused(
      `task ${task.id} is ${task.status}, not in progress: only a claimed task can be ${END_VERB[end.kind]}`,
    );
  }
  if (task.claimToken !== token) {
    return new ClaimLost(
      `the claim on task ${task.id} is no longer held by this worker (its lease expired and it was recovered); the outcome was not recorded`,
    );
  }
  return null;
}

/** Why a claim's holder lost it, for the cost it still records (see `finishClaim`). */
export function lostClaimReason(task: Task): string {
  return task.status === "in_progress"
    ? "the claim was recovered and given to another worker"
    : `the task was ${task.status.replace("_", " ")} while the call ran`;
}

/** A human's (or the dashboard's) change to a task outside a claim. */
export type ManualChange =
  | { kind: "requeue"; reason?: string }
  | { kind: "kill"; reason?: string }
  | { kind: "reroute"; role: string; reason?: string }
  /** A human signs a gated task off: it becomes pending and is dispatched as usual. */
  | { kind: "approve"; reason?: string }
  /** A human refuses a gated task: it ends killed, never having run. */
  | { kind: "deny"; reason: string };

/** The statuses each manual change may start from. */
const ALLOWED_FROM: Record<ManualChange["kind"], readonly TaskStatus[]> = {
  requeue: ["failed", "escalated", "killed"],
  kill: ["awaiting_approval", "pending", "in_progress", "failed", "escalated"],
  // A gated task keeps its gate when rerouted: the new role's human still has to sign it off.
  reroute: ["awaiting_approval", "pending", "failed", "escalated"],
  approve: ["awaiting_approval"],
  deny: ["awaiting_approval"],
};

const VERBS: Record<ManualChange["kind"], string> = {
  requeue: "requeued",
  kill: "killed",
  reroute: "rerouted",
  approve: "approved",
  deny: "denied",
};

/** The audit action and past tense of a manual change: `task.killed`, `task.requeued`... */
export function changedVerb(kind: ManualChange["kind"]): string {
  return VERBS[kind];
}

/**
 * Why `change` may not apply to `task` (its status, or, once the new `role` is known, a
 * reroute to the role it already has), or null.
 */
export function manualChangeRefusal(
  task: Task,
  change: ManualChange,
  role: string | null = null,
): LedgerError | null {
  const allowed = ALLOWED_FROM[change.kind];
  if (!allowed.includes(task.status)) {
    const words = (s: TaskStatus) => s.replace("_", " ");
    return new LedgerTransitionRefused(
      `cannot ${change.kind} task ${task.id}: it is ${words(task.status)} (${change.kind} works on ${allowed.map(words).join(", ")} tasks)`,
    );
  }
  if (
    change.kind === "reroute" &&
    role === task.agentOwner &&
    task.status !== "failed" &&
    task.status !== "escalated"
  ) {
    return new LedgerTransitionRefused(`task ${task.id} already belongs to ${role}`);
  }
  return null;
}

/**
 * Whether a killed task ended by a denial (see `changeTask`, which writes "denied: <reason>").
 * Requeued, it asks for approval again: anyone may requeue, agents included, and a requeue
 * must not be a way around a human's no.
 */
function wasDenied(task: Task): boolean {
  return task.status === "killed" && (task.lastError?.startsWith("denied: ") ?? false);
}

/** The status a manual change leaves, and whether the task starts over with fresh retries. */
export function afterManualChange(
  task: Task,
  change: ManualChange,
): { status: TaskStatus; freshStart: boolean } {
  const status: TaskStatus =
    change.kind === "kill" || change.kind === "deny"
      ? "killed"
      : (change.kind === "reroute" && task.status === "awaiting_approval") ||
          (change.kind === "requeue" && wasDenied(task))
        ? "awaiting_approval"
        : "pending";
  // A requeued or rerouted task gets a fresh set of retries.
  return { status, freshStart: status === "pending" && task.status !== "pending" };
}

/**
 * Whether a recovered claim (its holder is gone) has used up its retries: the attempt stays
 * counted, so a task that kills its worker every time still ends, escalated.
 */
export function recoveryEscalates(task: Task, maxRetries: number): boolean {
  return task.attempts > maxRetries;
}
