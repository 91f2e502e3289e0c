import type { Asset, Decision, Payload, Task, TaskAttempt, TaskStatus } from "./types.js";

/** The columns every task read selects, in the order `toTask` and `taskFromTuple` expect. */
export const TASK_COLUMN_NAMES = [
  "id",
  "agent_owner",
  "title",
  "description",
  "payload",
  "priority",
  "status",
  "attempts",
  "parent_task_id",
  "depth",
  "depends_on",
  "not_before",
  "claim_token",
  "claimed_by",
  "lease_expires_at",
  "cost_usd",
  "actual_cost_usd",
  "input_tokens",
  "output_tokens",
  "cache_creation_tokens",
  "cache_read_tokens",
  "model",
  "result",
  "last_error",
  "created_by",
  "created_at",
  "updated_at",
  "started_at",
  "finished_at",
] as const;

/** Column list every task read selects. */
export const TASK_COLUMNS = TASK_COLUMN_NAMES.join(", ");

/**
 * A task from its row as an array in `TASK_COLUMN_NAMES` order. The write path reads rows
 * this way: a driver builds an array far more cheaply than an object of 29 named members.
 */
export function taskFromTuple(v: readonly unknown[]): Task {
  return {
    id: v[0] as string,
    agentOwner: v[1] as string,
    title: v[2] as string,
    description: v[3] as string,
    payload: JSON.parse(v[4] as string) as Payload,
    priority: Number(v[5]),
    status: v[6] as TaskStatus,
    attempts: Number(v[7]),
    parentTaskId: v[8] as string | null,
    depth: Number(v[9]),
    dependsOn: v[10] === "[]" ? [] : (JSON.parse(v[10] as string) as string[]),
    notBefore: v[11] as string | null,
    claimToken: v[12] as string | null,
    claimedBy: v[13] as string | null,
    leaseExpiresAt: v[14] as string | null,
    costUsd: Number(v[15]),
    actualCostUsd: v[16] === null ? null : Number(v[16]),
    inputTokens: Number(v[17]),
    outputTokens: Number(v[18]),
    cacheCreationTokens: Number(v[19]),
    cacheReadTokens: Number(v[20]),
    model: v[21] as string | null,
    result: v[22] as string | null,
    lastError: v[23] as string | null,
    createdBy: v[24] as string,
    createdAt: v[25] as string,
    updatedAt: v[26] as string,
    startedAt: v[27] as string | null,
    finishedAt: v[28] as string | null,
  };
}

/** A tasks row as SQLite returns it. */
export interface TaskRow {
  id: string;
  agent_owner: string;
  title: string;
  description: string;
  payload: string;
  priority: number;
  status: TaskStatus;
  attempts: number;
  parent_task_id: string | null;
  depth: number;
  depends_on: string;
  not_before: string | null;
  claim_token: string | null;
  claimed_by: string | null;
  lease_expires_at: string | null;
  cost_usd: number;
  actual_cost_usd: number | null;
  input_tokens: number;
  output_tokens: number;
  cache_creation_tokens: number;
  cache_read_tokens: number;
  model: string | null;
  result: string | null;
  last_error: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export function toTask(r: TaskRow): Task {
  return {
    id: r.id,
    agentOwner: r.agent_owner,
    title: r.title,
    description: r.description,
    payload: JSON.parse(r.payload) as Payload,
    priority: r.priority,
    status: r.status,
    attempts: r.attempts,
    parentTaskId: r.parent_task_id,
    depth: r.depth,
    dependsOn: JSON.parse(r.depends_on) as string[],
    notBefore: r.not_before,
    claimToken: r.claim_token,
    claimedBy: r.claimed_by,
    leaseExpiresAt: r.lease_expires_at,
    costUsd: r.cost_usd,
    actualCostUsd: r.actual_cost_usd,
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    cacheCreationTokens: r.cache_creation_tokens,
    cacheReadTokens: r.cache_read_tokens,
    model: r.model,
    result: r.result,
    lastError: r.last_error,
    createdBy: r.created_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

export function toDecision(r: Record<string, unknown>): Decision {
  return {
    id: r.id as string,
    taskId: r.task_id as string | null,
    agentOwner: r.agent_owner as string,
    kind: r.kind as string,
    decisionText: r.decision_text as string,
    rationale: r.rationale as string,
    createdAt: r.created_at as string,
  };
}

export function toAsset(r: Record<string, unknown>): Asset {
  return {
    id: r.id as string,
    taskId: r.task_id as string | null,
    agentOwner: r.agent_owner as string,
    path: r.path as string,
    kind: r.kind as string,
    description: r.description as string,
    createdAt: r.created_at as string,
  };
}

export function toAttempt(r: Record<string, unknown>): TaskAttempt {
  return {
    taskId: r.task_id as string,
    attempt: r.attempt as number,
    startedAt: r.started_at as string,
    finishedAt: r.finished_at as string | null,
    outcome: r.outcome as string,
    error: r.error as string | null,
    costUsd: r.cost_usd as number,
  };
}
