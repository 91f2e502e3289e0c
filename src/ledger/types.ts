/** Public shapes of the ledger: tasks, decisions, assets, audit rows. */

/**
 * Where a task is in its life. `done`, `failed` and `killed` are final until a human acts;
 * `awaiting_approval` waits for a human's sign-off and is never claimed.
 */
export type TaskStatus =
  | "awaiting_approval"
  | "pending"
  | "in_progress"
  | "done"
  | "failed"
  | "escalated"
  | "killed";

/** Every status, in lifecycle order. */
export const TASK_STATUSES: readonly TaskStatus[] = [
  "awaiting_approval",
  "pending",
  "in_progress",
  "done",
  "failed",
  "escalated",
  "killed",
];

/** JSON object payload carried by a task. */
export type Payload = Record<string, unknown>;

/** One task as stored in the ledger. */
export interface Task {
  id: string;
  /** The role that owns (and will run) the task. */
  agentOwner: string;
  title: string;
  description: string;
  payload: Payload;
  /** 1 is the highest, 9 the lowest. */
  priority: number;
  status: TaskStatus;
  /** Dispatches started so far (a lease recovery counts; a shutdown abort does not). */
  attempts: number;
  /** The task whose agent filed this one. */
  parentTaskId: string | null;
  /** Length of the parent chain above this task (a root task has 0). */
  depth: number;
  /** Ids that must be `done` before this task can be claimed. */
  dependsOn: string[];
  /** Not claimable before this instant (backoff, delayed work). */
  notBefore: string | null;
  claimToken: string | null;
  /** `host:pid` of the process holding the claim. */
  claimedBy: string | null;
  leaseExpiresAt: string | null;
  /** Cost computed from tokens and our price table, USD. */
  costUsd: number;
  /** Cost reported by the SDK; null when the auth mode gives none. */
  actualCostUsd: number | null;
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
  model: string | null;
  /** The agent's summary of what it delivered. */
  result: string | null;
  lastError: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** What `insertTask` needs. Only `agentOwner` and `title` are required. */
export interface NewTask {
  agentOwner: string;
  title: string;
  description?: string;
  /** A JSON object, or its text. */
  payload?: Payload | string;
  /** 1..9, default 5. */
  priority?: number;
  parentTaskId?: string | null;
  /** Existing task ids, or `ref`s of tasks in the same `insertTasks` batch. */
  dependsOn?: string[];
  /** ISO timestamp before which the task is not claimable. */
  notBefore?: string | null;
  /** Who filed it: a role name, `cli`, `ui`, ... Defaults to the client's actor. */
  createdBy?: string;
  /** Batch-local name other tasks of the same `insertTasks` call may depend on or parent to. */
  ref?: string;
  /**
   * Wait in `awaiting_approval` until a human approves (or denies) it. A role configured with
   * `requires_approval` gates its tasks whatever this says; false never lifts that.
   */
  requiresApproval?: boolean;
}

/** Filters for `listTasks`. */
export interface TaskFilter {
  status?: TaskStatus | TaskStatus[];
  role?: string;
  parentTaskId?: string;
  /** Case-insensitive substring of the title or description. */
  text?: string;
  limit?: number;
  offset?: number;
}

/** Tokens of one dispatch. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  /** All prompt-cache writes, both lifetimes. */
  cacheCreationTokens: number;
  cacheReadTokens: number;
  /**
   * The part of `cacheCreationTokens` written with a 1-hour lifetime (priced at its own
   * rate); absent or 0 when every write was a 5-minute one.
   */
  cacheCreation1hTokens?: number;
}

/** What a finished dispatch reports back to the ledger. */
export interface DispatchOutcome {
  costUsd?: number;
  actualCostUsd?: number | null;
  usage?: Partial<TokenUsage>;
  model?: string | null;
  result?: string | null;
}

/** One dispatch attempt of a task, kept for escalation files and the dashboard. */
export interface TaskAttempt {
  taskId: string;
  /** Its number: 1..N over the task's whole life, never restarting on a requeue. */
  attempt: number;
  startedAt: string;
  finishedAt: string | null;
  /** `running`, `done`, `failed`, `released` (aborted, not counted) or `recovered` (lease expired). */
  outcome: string;
  error: string | null;
  costUsd: number;
}

/** A decision an agent recorded while working on a task. */
export interface Decision {
  id: string;
  taskId: string | null;
  agentOwner: string;
  kind: string;
  decisionText: string;
  rationale: string;
  createdAt: string;
}

/** What `recordDecision` needs. */
export interface NewDecision {
  taskId?: string | null;
  agentOwner: string;
  kind?: string;
  decisionText: string;
  rationale?: string;
}

/** A file (or other artefact) an agent produced. */
export interface Asset {
  id: string;
  taskId: string | null;
  agentOwner: string;
  /** Path relative to the project root. */
  path: string;
  kind: string;
  description: string;
  createdAt: string;
}

/** What `registerAsset` needs. */
export interface NewAsset {
  taskId?: string | null;
  agentOwner: string;
  path: string;
  kind?: string;
  description?: string;
}

/** One row of the hash-chained audit log. */
export interface AuditRow {
  seq: number;
  ts: string;
  actor: string;
  action: string;
  entityType: string;
  entityId: string | null;
  /** Canonical JSON text of the event's details. */
  details: string;
  prevHash: string;
  rowHash: string;
}
