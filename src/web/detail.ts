import { existingAttemptLog, readAttemptLog } from "../attempts/output-log.js";
import type { Asset, AuditRow, Decision, Task, TaskAttempt } from "../ledger/types.js";
import type { DashboardDeps } from "./deps.js";
import { HttpError } from "./http-error.js";
import { type TaskLine, taskLine } from "./state.js";

/** Rows of each list in the detail panel, at most. */
const DETAIL_LIST_LIMIT = 100;

/** Everything the task panel shows about one task. */
export interface TaskDetail {
  task: Task;
  parent: TaskLine | null;
  /** Newest first, at most {@link DETAIL_LIST_LIMIT}; `childCount` has them all. */
  children: TaskLine[];
  childCount: number;
  /** Each with the address of what the agent printed, when it was kept. */
  attempts: (TaskAttempt & { logUrl: string | null })[];
  decisions: Decision[];
  assets: Asset[];
  audit: AuditRow[];
}

/** What the agent printed on one attempt of a task, as kept in its log file. */
export async function attemptOutput(
  deps: DashboardDeps,
  id: string,
  attempt: string,
): Promise<string> {
  const n = Number(attempt);
  const text =
    Number.isSafeInteger(n) && n > 0
      ? readAttemptLog(deps.config.agentStateDir, checkTaskId(id), n)
      : null;
  if (text === null)
    throw new HttpError(404, `no output kept for attempt ${attempt} of task ${id}`);
  return text;
}

/** Refuses ids that cannot be one before they reach the ledger. */
export function checkTaskId(id: string): string {
  if (id.length === 0 || id.length > 200) throw new HttpError(404, "no task with that id");
  return id;
}

/** The task with its attempts, decisions, assets, audit events, parent and children. */
export async function taskDetail(deps: DashboardDeps, id: string): Promise<TaskDetail> {
  const { ledger } = deps;
  const task = await ledger.getTask(checkTaskId(id));
  if (!task) throw new HttpError(404, `no task with id ${JSON.stringify(id)}`);
  const [parent, children, childCount, attempts, decisions, assets, audit] = await Promise.all([
    task.parentTaskId ? ledger.getTask(task.parentTaskId) : Promise.resolve(null),
    ledger.listTasks({ parentTaskId: id, limit: DETAIL_LIST_LIMIT }),
    ledger.countTasks({ parentTaskId: id }),
    ledger.listAttempts(id),
    ledger.listDecisions({ taskId: id, limit: DETAIL_LIST_LIMIT }),
    ledger.listAssets({ taskId: id, limit: DETAIL_LIST_LIMIT }),
    ledger.recentAudit(DETAIL_LIST_LIMIT, id),
  ]);
  return {
    task,
    parent: parent ? taskLine(parent) : null,
    children: children.map(taskLine),
    childCount,
    attempts: attempts.map((a) => ({
      ...a,
      logUrl: existingAttemptLog(deps.config.agentStateDir, id, a.attempt)
        ? `/api/tasks/${encodeURIComponent(id)}/attempts/${a.attempt}/log`
        : null,
    })),
    decisions,
    assets,
    audit,
  };
}
