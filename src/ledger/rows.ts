import type { Asset, Decision, Payload, Task, TaskAttempt, TaskStatus } from "./types.js";

/** Column list every task read selects, in the order `toTask` expects. */
export const TASK_COLUMNS = `id, agent_owner, title, description, payload, priority, status, attempts,
  parent_task_id, depth, depends_on, not_before, claim_token, claimed_by, lease_expires_at,
  cost_usd, actual_cost_usd, input_tokens, output_tokens, cache_creation_tokens,
  cache_read_tokens, model, result, last_error, created_by, created_at, updated_at, started_at,
  finished_at`;

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
