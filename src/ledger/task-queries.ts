import { LedgerError, LedgerNotFound } from "../errors.js";
import { dispatchTokenFor } from "../identity/dispatch-token.js";
import { TASK_COLUMNS, type TaskRow, toAttempt, toTask } from "./rows.js";
import { findTask, nowOf, type Scope } from "./scope.js";
import type { Task, TaskAttempt, TaskFilter, TaskStatus } from "./types.js";

/** One role's line of the queue summary. */
export interface QueueSummaryRow {
  role: string;
  ready: number;
  waitingOnDependencies: number;
  delayed: number;
  running: number;
}

/** The running dispatch a client acts for: its task and its role. */
export interface DispatchIdentity {
  taskId: string;
  role: string;
}

/** A task as reads show it: without its claim token, which would let a reader end the claim. */
export function hidden(task: Task): Task {
  return task.claimToken === null ? task : { ...task, claimToken: null };
}

export async function getTask(scope: Scope, id: string): Promise<Task | null> {
  const task = await findTask(scope, String(id));
  return task ? hidden(task) : null;
}

/** The fewest characters of an id's end that name a task: shorter ones match too many. */
export const MIN_ID_SUFFIX = 4;

/** How many of the tasks an ambiguous suffix matches its refusal lists. */
const AMBIGUOUS_SHOWN = 3;

/** An id's last 4 characters, written as migration 0006's index is so the planner uses it. */
const ID_TAIL = "substr(id, length(id) - 3)";

/**
 * The full id of the one task whose id is `given` or ends with it, any case (ids are upper
 * case ULIDs; logs show their last 8 characters). Unknown: LedgerNotFound naming it; too
 * short or matching several: LedgerError saying what to type instead.
 */
export async function resolveTaskId(scope: Scope, given: string): Promise<string> {
  const suffix = String(given).trim().toUpperCase();
  // Only letters and digits can end an id; anything else would also be a LIKE wildcard.
  if (!/^[0-9A-Z]+$/.test(suffix)) {
    throw new LedgerNotFound(`no task with id ${JSON.stringify(given)}`);
  }
  if (suffix.length < MIN_ID_SUFFIX) {
    throw new LedgerError(
      `task id ${JSON.stringify(given)} is too short: give the full id or at least its last ${MIN_ID_SUFFIX} characters`,
    );
  }
  // A whole id names its task whatever else ends with it: rows that merely end with a real
  // id (written behind the ledger's back) must not make a human's full id unusable.
  const exact = await scope.tx.one<{ id: string }>("SELECT id FROM tasks WHERE id = ?", [suffix]);
  if (exact) return exact.id;
  const rows = await scope.tx.all<{ id: string; n: number | string }>(
    `SELECT id, COUNT(*) OVER () AS n FROM tasks WHERE ${ID_TAIL} = @tail AND id LIKE @pattern ORDER BY id DESC LIMIT ${AMBIGUOUS_SHOWN}`,
    { tail: suffix.slice(-MIN_ID_SUFFIX), pattern: `%${suffix}` },
  );
  const [first] = rows;
  if (!first) throw new LedgerNotFound(`no task with id ${JSON.stringify(given)}`);
  const count = Number(first.n);
  if (count === 1) return first.id;
  const more = count > rows.length ? ", ..." : "";
  throw new LedgerError(
    `task id ${JSON.stringify(given)} is ambiguous: ${count} tasks end with it (${rows.map((r) => r.id).join(", ")}${more}); give more of the id`,
  );
}

function taskWhere(filter: TaskFilter): { where: string; params: Record<string, unknown> } {
  const clauses: string[] = [];
  const params: Record<string, unknown> = {};
  if (filter.status !== undefined) {
    const statuses = Array.isArray(filter.status) ? filter.status : [filter.status];
    clauses.push(`status IN (${statuses.map((_, i) => `@status${i}`).join(", ") || "NULL"})`);
    statuses.forEach((s, i) => {
      params[`status${i}`] = s;
    });
  }
  if (filter.role !== undefined) {
    clauses.push("agent_owner = @role");
    params.role = filter.role;
  }
  if (filter.parentTaskId !== undefined) {
    clauses.push("parent_task_id = @parent");
    params.parent = filter.parentTaskId;
  }
  if (filter.text !== undefined && filter.text !== "") {
    clauses.push("(title LIKE @text ESCAPE '\\' OR description LIKE @text ESCAPE '\\')");
    params.text = `%${filter.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  }
  return { where: clauses.length ? `WHERE ${clauses.join(" AND ")}` : "", params };
}

/** Tasks matching the filter, newest first. */
export async function listTasks(scope: Scope, filter: TaskFilter): Promise<Task[]> {
  const { where, params } = taskWhere(filter);
  const rows = await scope.tx.all<TaskRow>(
    `SELECT ${TASK_COLUMNS} FROM tasks ${where} ORDER BY id DESC ${scope.tx.dialect.limit("limit")} OFFSET @offset`,
    { ...params, limit: filter.limit ?? -1, offset: filter.offset ?? 0 },
  );
  return rows.map((r) => hidden(toTask(r)));
}

/** How many tasks match the filter (limit/offset ignored). */
export async function countTasks(scope: Scope, filter: TaskFilter): Promise<number> {
  const { where, params } = taskWhere(filter);
  const row = await scope.tx.one<{ n: number }>(`SELECT COUNT(*) AS n FROM tasks ${where}`, params);
  return Number(row?.n ?? 0);
}

/** Task counts by role and status, in one aggregate query. */
export async function countByRoleAndStatus(
  scope: Scope,
): Promise<{ role: string; status: TaskStatus; count: number }[]> {
  const rows = await scope.tx.all<{ role: string; status: TaskStatus; count: number }>(
    "SELECT agent_owner AS role, status, COUNT(*) AS count FROM tasks GROUP BY agent_owner, status ORDER BY agent_owner, status",
  );
  return rows.map((r) => ({ ...r, count: Number(r.count) }));
}

/** The children a task's agent filed, oldest first. */
export async function listChildren(scope: Scope, id: string): Promise<Task[]> {
  const rows = await scope.tx.all<TaskRow>(
    `SELECT ${TASK_COLUMNS} FROM tasks WHERE parent_task_id = ? ORDER BY id`,
    [id],
  );
  return rows.map((r) => hidden(toTask(r)));
}

/**
 * Every dispatch attempt of a task, oldest first, numbered 1..N over the task's whole life:
 * across requeues and releases, by place in the log. (Logs written before numbers ran across
 * requeues stored a count that restarted at 1; the place is right for those too.)
 */
export async function listAttempts(scope: Scope, id: string): Promise<TaskAttempt[]> {
  const row = await scope.tx.one<{
    attempt_log: string;
    started_at: string | null;
    status: string;
  }>("SELECT attempt_log, started_at, status FROM tasks WHERE id = ?", [id]);
  if (!row) return [];
  // Ended attempts are lines of the row's log; the running one is the row itself.
  const attempts = row.attempt_log
    .split("\n")
    .filter((line) => line !== "")
    .map((line, i) =>
      toAttempt({ task_id: id, ...(JSON.parse(line) as Record<string, unknown>), attempt: i + 1 }),
    );
  if (row.status === "in_progress") {
    attempts.push(
      toAttempt({
        task_id: id,
        attempt: attempts.length + 1,
        started_at: row.started_at,
        finished_at: null,
        outcome: "running",
        error: null,
        cost_usd: 0,
      }),
    );
  }
  return attempts;
}

/**
 * Per role: tasks ready to claim now, waiting on dependencies, waiting for a backoff, and
 * running. One aggregate query; used to explain idleness and by `producer status`.
 */
export async function queueSummary(scope: Scope): Promise<QueueSummaryRow[]> {
  const count = scope.tx.dialect.countIf;
  const rows = await scope.tx.all<QueueSummaryRow>(
    `SELECT agent_owner AS role,
            ${count("status = 'pending' AND open_deps = 0 AND (not_before IS NULL OR not_before <= @now)")} AS ready,
            ${count("status = 'pending' AND open_deps > 0")} AS "waitingOnDependencies",
            ${count("status = 'pending' AND open_deps = 0 AND not_before > @now")} AS delayed,
            ${count("status = 'in_progress'")} AS running
       FROM tasks WHERE status IN ('pending', 'in_progress')
      GROUP BY agent_owner ORDER BY agent_owner`,
    { now: nowOf(scope) },
  );
  return rows.map((r) => ({
    role: r.role,
    ready: Number(r.ready),
    waitingOnDependencies: Number(r.waitingOnDependencies),
    delayed: Number(r.delayed),
    running: Number(r.running),
  }));
}

/** The running dispatch a token names, or null (a wrong token, a claim that ended). */
export async function dispatchIdentity(
  scope: Scope,
  token: string,
): Promise<DispatchIdentity | null> {
  const running = await scope.tx.all<{ id: string; agent_owner: string; claim_token: string }>(
    "SELECT id, agent_owner, claim_token FROM tasks WHERE status = 'in_progress'",
  );
  for (const { id, agent_owner, claim_token } of running) {
    if (claim_token && dispatchTokenFor(claim_token) === token)
      return { taskId: id, role: agent_owner };
  }
  return null;
}
