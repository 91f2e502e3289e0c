import { randomUUID } from "node:crypto";
import { LedgerError, TaskClaimRace } from "../errors.js";
import { suggest } from "../text/suggest.js";
import { releaseHeldForTaskSync } from "./budget.js";
import type { Actor, LedgerCore } from "./core.js";
import { toTask } from "./rows.js";
import type { DispatchOutcome, Task, TaskStatus } from "./types.js";
import { requireInstant, requireLine, requireRole } from "./validate.js";

/** How a claim is taken. */
export interface ClaimOptions {
  /** Lease length; the holder must heartbeat before it runs out. */
  leaseMs: number;
  /** `host:pid` of the claiming process (used to recover claims of dead processes). */
  claimedBy: string;
  actor: Actor;
}

/** Claims the best claimable task of `role`, or returns null when there is none. */
export function claimNextSync(core: LedgerCore, role: string, options: ClaimOptions): Task | null {
  const now = core.now();
  const id = core.stmt.nextClaimable.get(role, now);
  if (id === undefined) return null;
  const token = randomUUID();
  const lease = new Date(core.clock.now() + options.leaseMs).toISOString();
  // Optimistic lock: the row must still be pending. Inside BEGIN IMMEDIATE this cannot miss
  // on SQLite; on a backend without a global write lock it is what keeps claims unique.
  const { changes } = core.stmt.claim.run(token, options.claimedBy, lease, now, now, id);
  if (changes !== 1) throw new TaskClaimRace(id);
  const task = toTask(core.stmt.getTask.get(id)!);
  core.stmt.insertAttempt.run(id, task.attempts, token, now);
  core.auditTask(options.actor, "task.claimed", id, {
    attempt: task.attempts,
    claimed_by: options.claimedBy,
    lease_expires_at: lease,
  });
  return task;
}

/** Extends a held lease; false when the claim is no longer ours. */
export function heartbeatSync(
  core: LedgerCore,
  id: string,
  token: string,
  leaseMs: number,
): boolean {
  const lease = new Date(core.clock.now() + leaseMs).toISOString();
  return core.stmt.heartbeat.run(lease, id, token).changes === 1;
}

/** How a claimed task ends. */
export type ClaimEnd =
  | { kind: "done" }
  | { kind: "failed"; error: string }
  | { kind: "retry"; error: string; notBefore: string }
  | { kind: "escalated"; error: string }
  | { kind: "released"; reason: string };

const END_STATUS: Record<ClaimEnd["kind"], TaskStatus> = {
  done: "done",
  failed: "failed",
  retry: "pending",
  escalated: "escalated",
  released: "pending",
};

/**
 * Ends the claim identified by `token`: done, failed for good, back to pending for a retry,
 * escalated to a human, or released without counting the attempt (shutdown, kill --now).
 */
export function endClaimSync(
  core: LedgerCore,
  id: string,
  token: string,
  end: ClaimEnd,
  outcome: DispatchOutcome,
  actor: Actor,
): Task {
  const current = core.requireTask(id);
  if (current.status !== "in_progress") {
    throw new LedgerError(
      `task ${id} is ${current.status}, not in progress: only a claimed task can be ${END_VERB[end.kind]}`,
    );
  }
  if (current.claimToken !== token) {
    throw new LedgerError(
      `the claim on task ${id} is no longer held by this worker (its lease expired and it was recovered); the outcome was not recorded`,
    );
  }
  if (end.kind === "retry") {
    end = { ...end, notBefore: requireInstant("retryAt", end.notBefore) ?? core.now() };
  }
  const now = core.now();
  const error = end.kind === "done" ? null : end.kind === "released" ? end.reason : end.error;
  const status = END_STATUS[end.kind];
  const cost = outcome.costUsd ?? 0;
  const usage = outcome.usage ?? {};
  core.stmt.finishClaimed.run({
    id,
    claim_token: token,
    status,
    not_before: end.kind === "retry" ? end.notBefore : null,
    uncount: end.kind === "released" ? 1 : 0,
    cost_usd: cost,
    actual_cost_usd: outcome.actualCostUsd ?? null,
    input_tokens: usage.inputTokens ?? 0,
    output_tokens: usage.outputTokens ?? 0,
    cache_creation_tokens: usage.cacheCreationTokens ?? 0,
    cache_read_tokens: usage.cacheReadTokens ?? 0,
    model: outcome.model ?? null,
    result: outcome.result ?? null,
    last_error: error,
    finished_at: status === "pending" ? null : now,
    now,
  });
  core.stmt.closeAttempt.run(now, end.kind, error, cost, id, token);
  if (status === "done") core.stmt.releaseDependents.run(id);
  core.auditTask(actor, `task.${end.kind}`, id, {
    attempt: current.attempts,
    cost_usd: cost,
    ...(error === null ? {} : { error }),
    ...(end.kind === "retry" ? { not_before: end.notBefore } : {}),
  });
  return toTask(core.stmt.getTask.get(id)!);
}

const END_VERB: Record<ClaimEnd["kind"], string> = {
  done: "completed",
  failed: "failed",
  retry: "retried",
  escalated: "escalated",
  released: "released",
};

/** A human's (or the dashboard's) change to a task outside a claim. */
export type ManualChange =
  | { kind: "requeue"; reason?: string }
  | { kind: "kill"; reason?: string }
  | { kind: "reroute"; role: string; reason?: string };

/** The statuses each manual change may start from. */
const ALLOWED_FROM: Record<ManualChange["kind"], readonly TaskStatus[]> = {
  requeue: ["failed", "escalated", "killed"],
  kill: ["pending", "in_progress", "failed", "escalated"],
  reroute: ["pending", "failed", "escalated"],
};

/** Requeue, kill or reroute a task, refusing transitions that make no sense. */
export function changeTaskSync(
  core: LedgerCore,
  id: string,
  change: ManualChange,
  actor: Actor,
): Task {
  const task = core.requireTask(id);
  const allowed = ALLOWED_FROM[change.kind];
  if (!allowed.includes(task.status)) {
    throw new LedgerError(
      `cannot ${change.kind} task ${id}: it is ${task.status.replace("_", " ")} (${change.kind} works on ${allowed.map((s) => s.replace("_", " ")).join(", ")} tasks)`,
    );
  }
  const reason =
    change.reason === undefined || change.reason === ""
      ? null
      : requireLine("reason", change.reason, 2000);
  const role =
    change.kind === "reroute"
      ? requireRole("role", change.role, core.roles, suggest)
      : task.agentOwner;
  if (change.kind === "reroute" && role === task.agentOwner && task.status === "pending") {
    throw new LedgerError(`task ${id} already belongs to ${role}`);
  }
  const status: TaskStatus = change.kind === "kill" ? "killed" : "pending";
  const now = core.now();
  const freshStart = status === "pending" && task.status !== "pending";
  const { changes } = core.stmt.setStatus.run({
    id,
    from: task.status,
    status,
    agent_owner: role,
    // A requeued or rerouted task gets a fresh set of retries.
    attempts: freshStart ? 0 : task.attempts,
    last_error: change.kind === "kill" && reason ? `killed: ${reason}` : null,
    finished_at: status === "killed" ? now : null,
    now,
  });
  if (changes !== 1) throw new TaskClaimRace(id);
  if (task.status === "in_progress" && task.claimToken) {
    core.stmt.closeAttempt.run(now, "killed", reason, 0, id, task.claimToken);
  }
  // The money held for its call goes back with the claim. A call still running settles
  // what it spent all the same when it ends (a released hold can still be settled).
  releaseHeldForTaskSync(
    core,
    id,
    actor,
    `the task was ${change.kind === "kill" ? "killed" : `${change.kind}d`}`,
  );
  core.auditTask(actor, `task.${change.kind === "kill" ? "killed" : `${change.kind}d`}`, id, {
    from_status: task.status,
    ...(change.kind === "reroute" ? { from_role: task.agentOwner, to_role: role } : {}),
    ...(reason ? { reason } : {}),
  });
  return toTask(core.stmt.getTask.get(id)!);
}

/**
 * Ends the claim of task `id` because its holder is gone (lease expired or its process
 * died). The attempt stays counted: back to pending while retries remain, and escalated once
 * `maxRetries` retries are used up, so a task that kills its worker every time still ends.
 */
export function recoverClaimSync(
  core: LedgerCore,
  id: string,
  why: string,
  actor: Actor,
  maxRetries = Number.POSITIVE_INFINITY,
): Task {
  const task = core.requireTask(id);
  const now = core.now();
  const spent = task.attempts > maxRetries;
  core.stmt.setStatus.run({
    id,
    from: "in_progress",
    status: spent ? "escalated" : "pending",
    agent_owner: task.agentOwner,
    attempts: task.attempts,
    last_error: why,
    finished_at: spent ? now : null,
    now,
  });
  if (task.claimToken) core.stmt.closeAttempt.run(now, "recovered", why, 0, id, task.claimToken);
  releaseHeldForTaskSync(core, id, actor, "its claim was recovered");
  core.auditTask(actor, "task.recovered", id, {
    attempt: task.attempts,
    claimed_by: task.claimedBy,
    reason: why,
    ...(spent && { escalated: true }),
  });
  return toTask(core.stmt.getTask.get(id)!);
}

/**
 * Records the cost of a call whose claim was lost meanwhile (a human killed the task, or its
 * lease was recovered): the money was spent, so the task carries it, status unchanged.
 */
export function recordLateCostSync(
  core: LedgerCore,
  id: string,
  outcome: DispatchOutcome,
  why: string,
  actor: Actor,
): Task {
  const task = core.requireTask(id);
  const usage = outcome.usage ?? {};
  core
    .prepare(
      `UPDATE tasks SET cost_usd = cost_usd + @cost,
         actual_cost_usd = CASE WHEN @actual IS NULL THEN actual_cost_usd
                                ELSE COALESCE(actual_cost_usd, 0) + @actual END,
         input_tokens = input_tokens + @input, output_tokens = output_tokens + @output,
         cache_creation_tokens = cache_creation_tokens + @cache_creation,
         cache_read_tokens = cache_read_tokens + @cache_read, updated_at = @now
       WHERE id = @id`,
    )
    .run({
      id,
      cost: outcome.costUsd ?? 0,
      actual: outcome.actualCostUsd ?? null,
      input: usage.inputTokens ?? 0,
      output: usage.outputTokens ?? 0,
      cache_creation: usage.cacheCreationTokens ?? 0,
      cache_read: usage.cacheReadTokens ?? 0,
      now: core.now(),
    });
  core.auditTask(actor, "task.late_outcome", id, {
    status: task.status,
    cost_usd: outcome.costUsd ?? 0,
    reason: why,
  });
  return toTask(core.stmt.getTask.get(id)!);
}
