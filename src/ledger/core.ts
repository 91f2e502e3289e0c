import { hostname } from "node:os";
import type { Statement } from "better-sqlite3";
import type { Clock } from "../clock.js";
import { newId, utcIsoNow } from "../clock.js";
import { LedgerError } from "../errors.js";
import { AuditLogger } from "./audit.js";
import type { Db } from "./database.js";
import { TASK_COLUMNS, type TaskRow, toTask } from "./rows.js";
import type { Task } from "./types.js";

/** Who did something: a role name, `producer`, `cli`, `ui`, `library`, ... */
export type Actor = string;

/**
 * The synchronous heart of the ledger: one connection, its prepared statements, the audit
 * logger and the clock. Everything here runs inside a transaction opened by the client.
 */
export class LedgerCore {
  readonly audit: AuditLogger;
  readonly host = hostname();
  /** @internal Prepared statements; internal to src/ledger. */
  readonly stmt: ReturnType<typeof prepareStatements>;
  private readonly tx: { immediate: <T>(work: () => T) => T; deferred: <T>(work: () => T) => T };

  constructor(
    readonly db: Db,
    readonly file: string,
    readonly clock: Clock,
    readonly roles: readonly string[] | null,
  ) {
    this.audit = new AuditLogger(db);
    this.stmt = prepareStatements(db);
    const run = db.transaction(<T>(work: () => T): T => work());
    this.tx = {
      immediate: (work) => run.immediate(work) as never,
      deferred: (work) => run.deferred(work) as never,
    };
  }

  private readonly statements = new Map<string, Statement<unknown[], unknown>>();

  /**
   * A prepared statement for `sql`, compiled once per connection: compiling costs more than
   * running most of the ledger's statements. The same SQL text is always used the same way
   * (plain, pluck or raw), so one cached statement serves every caller.
   */
  prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): Statement<P, R> {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql) as Statement<unknown[], unknown>;
      this.statements.set(sql, statement);
    }
    return statement as unknown as Statement<P, R>;
  }

  /** Runs `work` in a `BEGIN IMMEDIATE` transaction: the write lock is taken up front. */
  write<T>(work: () => T): T {
    return this.tx.immediate(work);
  }

  /** Runs `work` in a read transaction, so multi-statement reads see one snapshot. */
  read<T>(work: () => T): T {
    return this.tx.deferred(work);
  }

  now(): string {
    return utcIsoNow(this.clock);
  }

  newId(): string {
    return newId(this.clock);
  }

  /** The task, or a LedgerError naming the id that does not exist. */
  requireTask(id: string, what = "task"): Task {
    const row = typeof id === "string" ? this.stmt.getTask.get(id) : undefined;
    if (!row) throw new LedgerError(`no ${what} with id ${JSON.stringify(id)}`);
    return toTask(row);
  }

  /** Appends the audit row for a task change, stamped now. */
  auditTask(actor: Actor, action: string, taskId: string, details: Record<string, unknown>): void {
    this.audit.appendSync({
      ts: this.now(),
      actor,
      action,
      entityType: "task",
      entityId: taskId,
      details,
    });
  }
}

function prepareStatements(db: Db) {
  // Typed so the class's declaration can name it: better-sqlite3's namespace cannot be.
  const run = (sql: string) => db.prepare(sql) as Statement<unknown[], unknown>;
  return {
    getTask: db.prepare(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ?`) as Statement<
      [string],
      TaskRow
    >,
    taskExists: db.prepare("SELECT status, depth FROM tasks WHERE id = ?") as Statement<
      [string],
      { status: string; depth: number }
    >,
    insertTask: run(
      `INSERT INTO tasks (id, agent_owner, title, description, payload, priority, parent_task_id,
         depth, depends_on, open_deps, not_before, created_by, created_at, updated_at)
       VALUES (@id, @agent_owner, @title, @description, @payload, @priority, @parent_task_id,
         @depth, @depends_on, @open_deps, @not_before, @created_by, @created_at, @updated_at)`,
    ),
    insertDep: run("INSERT INTO task_deps (task_id, depends_on) VALUES (?, ?)"),
    nextClaimable: db
      .prepare(
        `SELECT id FROM tasks
          WHERE agent_owner = ? AND status = 'pending' AND open_deps = 0
            AND (not_before IS NULL OR not_before <= ?)
          ORDER BY priority, id LIMIT 1`,
      )
      .pluck() as Statement<[string, string], string>,
    claim: run(
      `UPDATE tasks SET status = 'in_progress', claim_token = ?, claimed_by = ?,
         lease_expires_at = ?, attempts = attempts + 1, started_at = ?, updated_at = ?
       WHERE id = ? AND status = 'pending'`,
    ),
    insertAttempt: run(
      "INSERT INTO task_attempts (task_id, attempt, claim_token, started_at) VALUES (?, ?, ?, ?)",
    ),
    closeAttempt: run(
      `UPDATE task_attempts SET finished_at = ?, outcome = ?, error = ?, cost_usd = ?
        WHERE task_id = ? AND claim_token = ?`,
    ),
    heartbeat: run(
      `UPDATE tasks SET lease_expires_at = ?
        WHERE id = ? AND status = 'in_progress' AND claim_token = ?`,
    ),
    finishClaimed: run(
      `UPDATE tasks SET status = @status, claim_token = NULL, claimed_by = NULL,
         lease_expires_at = NULL, not_before = @not_before, attempts = attempts - @uncount,
         cost_usd = cost_usd + @cost_usd,
         actual_cost_usd = CASE WHEN @actual_cost_usd IS NULL THEN actual_cost_usd
                                ELSE COALESCE(actual_cost_usd, 0) + @actual_cost_usd END,
         input_tokens = input_tokens + @input_tokens,
         output_tokens = output_tokens + @output_tokens,
         cache_creation_tokens = cache_creation_tokens + @cache_creation_tokens,
         cache_read_tokens = cache_read_tokens + @cache_read_tokens,
         model = COALESCE(@model, model), result = COALESCE(@result, result),
         last_error = COALESCE(@last_error, last_error),
         finished_at = @finished_at, updated_at = @now
       WHERE id = @id AND status = 'in_progress' AND claim_token = @claim_token`,
    ),
    releaseDependents: run(
      `UPDATE tasks SET open_deps = open_deps - 1
        WHERE id IN (SELECT task_id FROM task_deps WHERE depends_on = ?)`,
    ),
    setStatus: run(
      `UPDATE tasks SET status = @status, agent_owner = @agent_owner, attempts = @attempts,
         not_before = NULL, claim_token = NULL, claimed_by = NULL, lease_expires_at = NULL,
         last_error = COALESCE(@last_error, last_error), finished_at = @finished_at,
         updated_at = @now
       WHERE id = @id AND status = @from`,
    ),
    expiredLeases: db
      .prepare(
        `SELECT id FROM tasks WHERE status = 'in_progress' AND lease_expires_at < ?
          ORDER BY lease_expires_at`,
      )
      .pluck() as Statement<[string], string>,
    claimsBy: db
      .prepare("SELECT id FROM tasks WHERE status = 'in_progress' AND claimed_by = ?")
      .pluck() as Statement<[string], string>,
    claimedByHost: db
      .prepare(
        "SELECT DISTINCT claimed_by FROM tasks WHERE status = 'in_progress' AND claimed_by LIKE ?",
      )
      .pluck() as Statement<[string], string>,
  };
}
