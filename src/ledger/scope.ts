import type { Clock } from "../clock.js";
import { newId, utcIsoNow } from "../clock.js";
import { LedgerNotFound } from "../errors.js";
import { TASK_COLUMNS, type TaskRow, toTask } from "./rows.js";
import type { Tx } from "./storage.js";
import type { Task } from "./types.js";

/** Who did something: a role name, `producer`, `cli`, `ui`, `library`, ... */
export type Actor = string;

/** What every ledger operation works with: one transaction, the clock, the project's roles. */
export interface Scope {
  readonly tx: Tx;
  readonly clock: Clock;
  /** The configured roles; tasks for any other role are refused. Null: any role. */
  readonly roles: readonly string[] | null;
  /** This process's host, as claims record it. */
  readonly host: string;
}

export const nowOf = (scope: Scope): string => utcIsoNow(scope.clock);

export const newIdOf = (scope: Scope): string => newId(scope.clock);

const TASK_BY_ID = `SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ?`;

/** The task as stored (claim token included), or null. */
export async function findTask(scope: Scope, id: string): Promise<Task | null> {
  const row = typeof id === "string" ? await scope.tx.one<TaskRow>(TASK_BY_ID, [id]) : undefined;
  return row ? toTask(row) : null;
}

/** The task, or a LedgerNotFound naming the id that does not exist. */
export async function requireTask(scope: Scope, id: string, what = "task"): Promise<Task> {
  const task = await findTask(scope, id);
  if (!task) throw new LedgerNotFound(`no ${what} with id ${JSON.stringify(id)}`);
  return task;
}
