import type { Clock } from "../clock.js";
import { newId, utcIsoNow } from "../clock.js";
import { LedgerNotFound } from "../errors.js";
import { digestFromColumns } from "./audit/canonical.js";
import { TASK_COLUMN_NAMES, TASK_COLUMNS, taskFromTuple } from "./rows.js";
import type { AuditHead, Dialect, Tx } from "./storage.js";
import type { Task } from "./types.js";

/** Who did something: a role name, `producer`, `cli`, `ui`, `library`, ... */
export type Actor = string;

/** What every ledger operation works with: one transaction, the clock, the project's roles. */
export interface Scope {
  readonly tx: Tx;
  readonly clock: Clock;
  /** The configured roles; tasks for any other role are refused. Null: any role. */
  readonly roles: readonly string[] | null;
  /** Roles whose new tasks wait in `awaiting_approval` for a human (producer.yaml). */
  readonly approvalRoles?: readonly string[];
  /** This process's host, as claims record it. */
  readonly host: string;
  /**
   * The audit chain's head as this transaction last wrote it: a transaction that appends
   * several rows (a batch of tasks) reads the head once. Unset until the first append.
   */
  auditHead?: AuditHead;
}

export const nowOf = (scope: Scope): string => utcIsoNow(scope.clock);

export const newIdOf = (scope: Scope): string => newId(scope.clock);

const TASK_BY_ID = `SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ?`;

/** The audit digest of a task row read as an array of `TASK_COLUMNS`. */
export const taskDigest = digestFromColumns("task", TASK_COLUMN_NAMES);

/**
 * Runs a statement that ends in `RETURNING ${TASK_COLUMNS}`: the task as it now stands and its
 * audit digest, or null when no row matched.
 */
export async function writeTask(
  scope: Scope,
  sql: string,
  params: Record<string, unknown>,
): Promise<{ task: Task; digest: string } | null> {
  const row = await scope.tx.tuple(sql, params);
  return row ? { task: taskFromTuple(row), digest: taskDigest(row) } : null;
}

/** The task as stored (claim token included), or null. */
export async function findTask(scope: Scope, id: string): Promise<Task | null> {
  const row = typeof id === "string" ? await scope.tx.tuple(TASK_BY_ID, [id]) : undefined;
  return row ? taskFromTuple(row) : null;
}

/** The task, or a LedgerNotFound naming the id that does not exist. */
export async function requireTask(scope: Scope, id: string, what = "task"): Promise<Task> {
  const task = await findTask(scope, id);
  if (!task) throw new LedgerNotFound(`no ${what} with id ${JSON.stringify(id)}`);
  return task;
}

/** A statement whose text depends on the dialect, built once per dialect. */
export function perDialect(build: (dialect: Dialect) => string): (dialect: Dialect) => string {
  const built = new Map<string, string>();
  return (dialect) => {
    let sql = built.get(dialect.name);
    if (sql === undefined) {
      sql = build(dialect);
      built.set(dialect.name, sql);
    }
    return sql;
  };
}
