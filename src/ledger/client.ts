import { hostname } from "node:os";
import type { Clock } from "../clock.js";
import { systemClock } from "../clock.js";
import { LedgerError, TaskClaimRace } from "../errors.js";
import {
  DISPATCH_TOKEN_VARIABLE,
  dispatchTokenFor,
  findDispatchToken,
} from "../identity/dispatch-token.js";
import type { AuditVerification } from "./audit.js";
import {
  type BudgetLimits,
  type BudgetUsage,
  dayBudgetSync,
  orphanHoldsSync,
  type Reservation,
  type ReserveOutcome,
  type RoleBudgetRow,
  releaseOrphanHoldsSync,
  releaseSync,
  reserveSync,
  type Settlement,
  settleSync,
  spendByDaySync,
  usageSync,
} from "./budget.js";
import { LedgerCore } from "./core.js";
import { type Db, openDatabase, type SyncMode, withBusyRetry } from "./database.js";
import {
  listNotificationsSync,
  type NewNotification,
  type NotificationRecord,
  recordNotificationSync,
  setDeliverySync,
} from "./notifications.js";
import {
  listAssetsSync,
  listDecisionsSync,
  recordDecisionSync,
  registerAssetSync,
} from "./records.js";
import { type ReportData, reportDataSync } from "./report-queries.js";
import { TASK_COLUMNS, type TaskRow, toAttempt, toTask } from "./rows.js";
import { GuardrailRefusal, type Guardrails, insertTasksSync } from "./task-insert.js";
import {
  type ClaimEnd,
  changeTaskSync,
  claimNextSync,
  endClaimSync,
  heartbeatSync,
  recordLateCostSync,
  recoverClaimSync,
} from "./task-transitions.js";
import type {
  Asset,
  AuditRow,
  Decision,
  DispatchOutcome,
  NewAsset,
  NewDecision,
  NewTask,
  Task,
  TaskAttempt,
  TaskFilter,
  TaskStatus,
} from "./types.js";

/** How to open a ledger. Only `dbPath` is required. */
export interface LedgerOptions {
  /** Path of the SQLite file (`ledger_db` in producer.yaml). */
  dbPath: string;
  /** Where "now" comes from; inject one in tests. */
  clock?: Clock;
  /** The configured roles; when given, tasks for any other role are refused. */
  roles?: readonly string[];
  /** Who this client acts as in the audit log and `created_by` (default `library`). */
  actor?: string;
  /** Create the file and schema if missing (default true; the CLI passes false). */
  create?: boolean;
  /** SQLite durability: NORMAL (default; safe in WAL against crashes) or FULL. */
  synchronous?: SyncMode;
  /** Give up when another process holds the write lock this long (default 30 s). */
  lockTimeoutMs?: number;
  /** Limits on tasks filed by agents (created by one of `roles`); none when omitted. */
  guardrails?: Guardrails;
}

/** The running dispatch a client acts for: its task and its role. */
export interface DispatchIdentity {
  taskId: string;
  role: string;
}

/** What `claimAndReserve` found: nothing to do, a budget refusal, or a claimed, funded task. */
export type ClaimAndReserve =
  | { kind: "empty" }
  | { kind: "refused"; taskId: string; refusal: Extract<ReserveOutcome, { ok: false }> }
  | { kind: "claimed"; task: Task; reservation: Reservation };

/** One role's line of {@link LedgerClient.queueSummary}. */
export interface QueueSummaryRow {
  role: string;
  ready: number;
  waitingOnDependencies: number;
  delayed: number;
  running: number;
}

/** What `finishClaim` recorded. */
export interface FinishedClaim {
  task: Task;
  settlement: Settlement | null;
  /**
   * The claim had been lost meanwhile (killed by a human, or recovered after its lease ran
   * out): the cost was still recorded on the task and the budget, the status left alone.
   */
  claimLost: boolean;
}

/** Per-call attribution override. */
export interface ActorOption {
  actor?: string;
}

/** Options of claim recovery. */
export interface RecoveryOptions extends ActorOption {
  /** Retries a task may use (`retry.max_retries`); past them a recovered claim escalates. */
  maxRetries?: number;
}

const DEFAULT_LEASE_MS = 30_000;

/** A task as reads show it: without its claim token, which would let a reader end the claim. */
function hidden(task: Task): Task {
  return task.claimToken === null ? task : { ...task, claimToken: null };
}

/** The roles and guardrails of the project a dispatch belongs to (its producer.yaml). */
async function projectLimits(
  configPath: string,
): Promise<{ roles: string[]; guardrails: Guardrails } | null> {
  try {
    const { loadConfig } = await import("../config/load.js");
    const config = await loadConfig(configPath);
    return { roles: Object.keys(config.agents), guardrails: config.guardrails };
  } catch {
    // No readable config: the ledger's own checks still apply.
    return null;
  }
}

/**
 * The ledger: the project's durable task bus. Every method returns a Promise (today's
 * backend is synchronous SQLite; a networked one must fit behind the same calls). Every state
 * change commits together with its hash-chained audit row.
 */
export class LedgerClient {
  private closed = false;
  /** Set when this process runs inside a dispatch: every write is that dispatch's. */
  private dispatch: DispatchIdentity | null = null;

  private constructor(
    private readonly core: LedgerCore,
    private readonly options: Required<Pick<LedgerOptions, "actor" | "lockTimeoutMs">> &
      Pick<LedgerOptions, "guardrails">,
  ) {}

  /** Opens (creating when allowed) the ledger file and migrates it to the current schema. */
  static async open(options: LedgerOptions): Promise<LedgerClient> {
    if (!options || typeof options.dbPath !== "string" || options.dbPath === "") {
      throw new LedgerError("LedgerClient.open needs a dbPath");
    }
    const lockTimeoutMs = options.lockTimeoutMs ?? 30_000;
    const db: Db = await withBusyRetry(options.dbPath, lockTimeoutMs, () =>
      openDatabase(options.dbPath, {
        create: options.create ?? true,
        synchronous: options.synchronous ?? "NORMAL",
        busyTimeoutMs: 1_000,
      }),
    );
    // Inside a dispatch (found by its token, see identity/) every write is the dispatch's:
    // there is deliberately no option to opt out, or an agent's own script would take it.
    const found = findDispatchToken();
    // Inside a dispatch the project's roles and guardrails apply, whatever the caller passed.
    const project = found?.config && !options.guardrails ? await projectLimits(found.config) : null;
    const core = new LedgerCore(
      db,
      options.dbPath,
      options.clock ?? systemClock,
      options.roles ?? project?.roles ?? null,
    );
    const client = new LedgerClient(core, {
      actor: options.actor ?? "library",
      lockTimeoutMs,
      guardrails: options.guardrails ?? project?.guardrails,
    });
    if (found) {
      const who = await client.dispatchIdentity(found.token);
      if (!who) {
        await client.close();
        throw new LedgerError(
          `this process belongs to a dispatch that has ended (its ${DISPATCH_TOKEN_VARIABLE} names no running dispatch): it may not write to the ledger`,
        );
      }
      client.dispatch = who;
    }
    return client;
  }

  /** The running dispatch a token names, or null (a wrong token, a claim that ended). */
  dispatchIdentity(token: string): Promise<DispatchIdentity | null> {
    return this.run((core) => {
      const running = core
        .prepare("SELECT id, agent_owner, claim_token FROM tasks WHERE status = 'in_progress'")
        .raw()
        .all() as [string, string, string | null][];
      for (const [id, role, claim] of running) {
        if (claim && dispatchTokenFor(claim) === token) return { taskId: id, role };
      }
      return null;
    });
  }

  /** The file this client has open. */
  get dbPath(): string {
    return this.core.file;
  }

  /** `host:pid` of this process, as recorded on its claims. */
  static processIdentity(): string {
    return `${hostname()}:${process.pid}`;
  }

  private run<T>(work: (core: LedgerCore) => T): Promise<T> {
    if (this.closed) return Promise.reject(new LedgerError("the ledger client is closed"));
    return withBusyRetry(this.core.file, this.options.lockTimeoutMs, () => work(this.core));
  }

  private write<T>(work: (core: LedgerCore) => T): Promise<T> {
    return this.run((core) => core.write(() => work(core)));
  }

  private actorOf(options?: ActorOption): string {
    return this.dispatch?.role ?? options?.actor ?? this.options.actor;
  }

  // ---- tasks: filing -----------------------------------------------------------------

  /** Files one task. Unknown roles, empty titles, bad payloads and missing ids are refused. */
  async insertTask(task: NewTask, options?: ActorOption): Promise<Task> {
    const [created] = await this.insertTasks([task], options);
    return created!;
  }

  /** Files many tasks in one transaction: all of them, or none when any is invalid. */
  async insertTasks(tasks: readonly NewTask[], options?: ActorOption): Promise<Task[]> {
    const actor = this.actorOf(options);
    const dispatch = this.dispatch;
    // Inside a dispatch its role files the work, under the dispatched task unless another
    // parent is named: the guardrails then count it like the agent's MCP filings.
    const filed = dispatch
      ? tasks.map((t) => ({
          ...t,
          createdBy: dispatch.role,
          parentTaskId: t.parentTaskId ? t.parentTaskId : dispatch.taskId,
        }))
      : tasks;
    try {
      return await this.write((core) =>
        insertTasksSync(core, filed, actor, this.options.guardrails ?? null),
      );
    } catch (error) {
      const refusal = error instanceof GuardrailRefusal ? error : (error as Error).cause;
      if (refusal instanceof GuardrailRefusal) {
        // The batch was rolled back; the refusal itself is kept, for the report and the audit.
        await this.appendAudit({
          action: "guardrail.refused",
          entityType: "guardrail",
          entityId: refusal.details.parentTaskId,
          actor,
          details: {
            reason: refusal.message,
            role: refusal.details.role,
            title: refusal.details.title,
            created_by: refusal.details.createdBy,
          },
        });
      }
      throw error;
    }
  }

  // ---- tasks: reading ----------------------------------------------------------------

  /**
   * The task, or null when no task has that id. Reads never show a claim token: it is the
   * claim's owner's alone (see `claimNext`).
   */
  getTask(id: string): Promise<Task | null> {
    return this.run((core) => {
      const row = core.stmt.getTask.get(String(id));
      return row ? hidden(toTask(row)) : null;
    });
  }

  /** Tasks matching the filter, newest first. */
  listTasks(filter: TaskFilter = {}): Promise<Task[]> {
    return this.run((core) => {
      const { where, params } = taskWhere(filter);
      const rows = core
        .prepare(
          `SELECT ${TASK_COLUMNS} FROM tasks ${where} ORDER BY id DESC LIMIT @limit OFFSET @offset`,
        )
        .all({ ...params, limit: filter.limit ?? -1, offset: filter.offset ?? 0 }) as TaskRow[];
      return rows.map((r) => hidden(toTask(r)));
    });
  }

  /** How many tasks match the filter (limit/offset ignored). */
  countTasks(filter: TaskFilter = {}): Promise<number> {
    return this.run((core) => {
      const { where, params } = taskWhere(filter);
      return (core.prepare(`SELECT COUNT(*) AS n FROM tasks ${where}`).get(params) as { n: number })
        .n;
    });
  }

  /** Task counts by role and status, in one aggregate query. */
  countByRoleAndStatus(): Promise<{ role: string; status: TaskStatus; count: number }[]> {
    return this.run(
      (core) =>
        core
          .prepare(
            "SELECT agent_owner AS role, status, COUNT(*) AS count FROM tasks GROUP BY agent_owner, status ORDER BY agent_owner, status",
          )
          .all() as { role: string; status: TaskStatus; count: number }[],
    );
  }

  /** The children a task's agent filed, oldest first. */
  listChildren(id: string): Promise<Task[]> {
    return this.run((core) =>
      (
        core
          .prepare(`SELECT ${TASK_COLUMNS} FROM tasks WHERE parent_task_id = ? ORDER BY id`)
          .all(id) as TaskRow[]
      ).map((r) => hidden(toTask(r))),
    );
  }

  /** Every dispatch attempt of a task, oldest first. */
  listAttempts(id: string): Promise<TaskAttempt[]> {
    return this.run((core) =>
      (
        core
          .prepare("SELECT * FROM task_attempts WHERE task_id = ? ORDER BY started_at, attempt")
          .all(id) as Record<string, unknown>[]
      ).map(toAttempt),
    );
  }

  // ---- tasks: claims -----------------------------------------------------------------

  /**
   * Claims the highest-priority, oldest claimable task of `role` (pending, dependencies done,
   * not_before passed), or returns null. The claim carries a fresh token and a lease.
   * Throws TaskClaimRace when another worker took the row first.
   */
  claimNext(
    role: string,
    options: { leaseMs?: number; claimedBy?: string; actor?: string } = {},
  ): Promise<Task | null> {
    return this.write((core) =>
      claimNextSync(core, role, {
        leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
        claimedBy: options.claimedBy ?? LedgerClient.processIdentity(),
        actor: this.actorOf(options),
      }),
    );
  }

  /** Renews a claim's lease. Resolves false when the claim is no longer held. */
  heartbeat(id: string, claimToken: string, leaseMs = DEFAULT_LEASE_MS): Promise<boolean> {
    return this.write((core) => heartbeatSync(core, id, claimToken, leaseMs));
  }

  /** Marks a claimed task done and records what the dispatch cost and produced. */
  complete(
    id: string,
    claimToken: string,
    outcome: DispatchOutcome = {},
    options?: ActorOption,
  ): Promise<Task> {
    return this.endClaim(id, claimToken, { kind: "done" }, outcome, options);
  }

  /**
   * Records a failed dispatch. With `retryAt` the task goes back to pending, claimable from
   * that instant; without it the task is failed for good.
   */
  fail(
    id: string,
    claimToken: string,
    failure: { error: string; retryAt?: string | null },
    outcome: DispatchOutcome = {},
    options?: ActorOption,
  ): Promise<Task> {
    const end: ClaimEnd = failure.retryAt
      ? { kind: "retry", error: failure.error, notBefore: failure.retryAt }
      : { kind: "failed", error: failure.error };
    return this.endClaim(id, claimToken, end, outcome, options);
  }

  /** Hands a claimed task to a human: status `escalated`. */
  escalate(
    id: string,
    claimToken: string,
    error: string,
    outcome: DispatchOutcome = {},
    options?: ActorOption,
  ): Promise<Task> {
    return this.endClaim(id, claimToken, { kind: "escalated", error }, outcome, options);
  }

  /** Gives a claim back without counting the attempt (shutdown, `kill --now`). */
  release(
    id: string,
    claimToken: string,
    reason: string,
    outcome: DispatchOutcome = {},
    options?: ActorOption,
  ): Promise<Task> {
    return this.endClaim(id, claimToken, { kind: "released", reason }, outcome, options);
  }

  private endClaim(
    id: string,
    token: string,
    end: ClaimEnd,
    outcome: DispatchOutcome,
    options?: ActorOption,
  ): Promise<Task> {
    return this.write((core) => endClaimSync(core, id, token, end, outcome, this.actorOf(options)));
  }

  /**
   * Ends every claim whose lease ran out (its Producer died or hung): back to pending, or
   * escalated when the task has used up `maxRetries`. The attempt stays counted; each
   * recovery is audited.
   */
  recoverExpiredLeases(options?: RecoveryOptions): Promise<Task[]> {
    return this.write((core) =>
      core.stmt.expiredLeases
        .all(core.now())
        .map((id) =>
          recoverClaimSync(
            core,
            id,
            "lease expired: the worker holding it stopped renewing it",
            this.actorOf(options),
            options?.maxRetries,
          ),
        ),
    );
  }

  /**
   * Returns to pending the claims held by processes on this host that no longer exist, so a
   * restarted Producer need not wait for their leases to run out.
   */
  recoverDeadClaims(isAlive: (pid: number) => boolean, options?: RecoveryOptions): Promise<Task[]> {
    return this.write((core) => {
      const recovered: Task[] = [];
      for (const holder of core.stmt.claimedByHost.all(`${core.host}:%`)) {
        const pid = Number(holder.slice(core.host.length + 1));
        if (!Number.isInteger(pid) || isAlive(pid)) continue;
        for (const id of core.stmt.claimsBy.all(holder)) {
          recovered.push(
            recoverClaimSync(
              core,
              id,
              `the process holding it (${holder}) is gone`,
              this.actorOf(options),
              options?.maxRetries,
            ),
          );
        }
      }
      return recovered;
    });
  }

  /**
   * Ends a claim and, in the same transaction, settles its budget reservation, so the task's
   * recorded cost and the day's spend can never disagree. A claim lost meanwhile is not an
   * error here: its cost is still recorded (`claimLost: true`).
   */
  finishClaim(
    id: string,
    claimToken: string,
    end: ClaimEnd,
    outcome: DispatchOutcome,
    options: ActorOption & { settle?: { reservationId: string; limits: BudgetLimits } } = {},
  ): Promise<FinishedClaim> {
    return this.write((core) => {
      const actor = this.actorOf(options);
      const settlement = options.settle
        ? settleSync(
            core,
            options.settle.reservationId,
            outcome.costUsd ?? 0,
            options.settle.limits,
            actor,
          )
        : null;
      const current = core.requireTask(id);
      if (current.status !== "in_progress" || current.claimToken !== claimToken) {
        const why =
          current.status === "in_progress"
            ? "the claim was recovered and given to another worker"
            : `the task was ${current.status.replace("_", " ")} while the call ran`;
        return {
          task: recordLateCostSync(core, id, outcome, why, actor),
          settlement,
          claimLost: true,
        };
      }
      return {
        task: endClaimSync(core, id, claimToken, end, outcome, actor),
        settlement,
        claimLost: false,
      };
    });
  }

  // ---- budget ------------------------------------------------------------------------

  /**
   * Checks the role's cap and the project ceiling and holds money for one call, atomically:
   * concurrent callers, in this process or others, can never together hold past a limit.
   */
  reserveBudget(
    request: { day: string; role: string; taskId?: string | null; minimumUsd: number },
    limits: BudgetLimits,
    options?: ActorOption,
  ): Promise<ReserveOutcome> {
    return this.write((core) =>
      reserveSync(
        core,
        { ...request, taskId: request.taskId ?? null },
        limits,
        this.actorOf(options),
      ),
    );
  }

  /**
   * Claims the role's next task and reserves its budget in ONE transaction. When the budget
   * refuses, nothing is claimed: the task stays pending and the role is marked [CAP HIT].
   */
  claimAndReserve(
    role: string,
    budget: { day: string; minimumUsd: number; limits: BudgetLimits },
    options: { leaseMs?: number; claimedBy?: string; actor?: string } = {},
  ): Promise<ClaimAndReserve> {
    return this.write((core): ClaimAndReserve => {
      const candidate = core.stmt.nextClaimable.get(role, core.now());
      if (candidate === undefined) return { kind: "empty" };
      const actor = this.actorOf(options);
      const outcome = reserveSync(
        core,
        { day: budget.day, role, taskId: candidate, minimumUsd: budget.minimumUsd },
        budget.limits,
        actor,
      );
      if (!outcome.ok) return { kind: "refused", taskId: candidate, refusal: outcome };
      const task = claimNextSync(core, role, {
        leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
        claimedBy: options.claimedBy ?? LedgerClient.processIdentity(),
        actor,
      });
      if (task?.id !== candidate) throw new TaskClaimRace(candidate);
      return { kind: "claimed", task, reservation: outcome.reservation };
    });
  }

  /** Records a call's cost against its reservation; see {@link Settlement}. */
  settleBudget(
    reservationId: string,
    costUsd: number,
    limits: BudgetLimits,
    options?: ActorOption,
  ): Promise<Settlement> {
    return this.write((core) =>
      settleSync(core, reservationId, costUsd, limits, this.actorOf(options)),
    );
  }

  /** Gives a hold back unspent. */
  releaseBudget(reservationId: string): Promise<Reservation> {
    return this.write((core) => releaseSync(core, reservationId, this.options.actor));
  }

  /**
   * Releases every hold whose task is no longer claimed (see the Producer's poll), audited;
   * resolves to the released reservation ids.
   */
  async releaseOrphanHolds(options?: ActorOption): Promise<string[]> {
    // Checked with a read first: the Producer asks on every poll and there is rarely any.
    if ((await this.run((core) => orphanHoldsSync(core))).length === 0) return [];
    return this.write((core) => releaseOrphanHoldsSync(core, this.actorOf(options)));
  }

  /** One role's spend and holds for a UTC day, with the project's totals. */
  budgetUsage(day: string, role: string): Promise<BudgetUsage> {
    return this.run((core) => core.read(() => usageSync(core, day, role)));
  }

  /** Every role's budget row for a UTC day. */
  budgetForDay(day: string): Promise<RoleBudgetRow[]> {
    return this.run((core) => dayBudgetSync(core, day));
  }

  /** Spend per day and role between two UTC days, inclusive. */
  spendByDay(
    fromDay: string,
    toDay: string,
  ): Promise<{ day: string; role: string; spentUsd: number }[]> {
    return this.run((core) => spendByDaySync(core, fromDay, toDay));
  }

  // ---- tasks: human actions ----------------------------------------------------------

  /** Puts a failed, escalated or killed task back to pending with fresh retries. */
  requeue(id: string, options: ActorOption & { reason?: string } = {}): Promise<Task> {
    return this.write((core) =>
      changeTaskSync(core, id, { kind: "requeue", reason: options.reason }, this.actorOf(options)),
    );
  }

  /** Stops a task for good (pending, in progress, failed or escalated). */
  kill(id: string, options: ActorOption & { reason?: string } = {}): Promise<Task> {
    return this.write((core) =>
      changeTaskSync(core, id, { kind: "kill", reason: options.reason }, this.actorOf(options)),
    );
  }

  /** Gives a pending, failed or escalated task to another role, pending again. */
  reroute(
    id: string,
    role: string,
    options: ActorOption & { reason?: string } = {},
  ): Promise<Task> {
    return this.write((core) =>
      changeTaskSync(
        core,
        id,
        { kind: "reroute", role, reason: options.reason },
        this.actorOf(options),
      ),
    );
  }

  // ---- decisions and assets ----------------------------------------------------------

  /** Records a decision an agent made (what and why). */
  recordDecision(decision: NewDecision, options?: ActorOption): Promise<Decision> {
    return this.write((core) => recordDecisionSync(core, decision, this.actorOf(options)));
  }

  /** Registers a file an agent produced; the path must stay inside the project. */
  registerAsset(asset: NewAsset, options?: ActorOption): Promise<Asset> {
    return this.write((core) => registerAssetSync(core, asset, this.actorOf(options)));
  }

  /** Decisions, newest first. */
  listDecisions(filter: { taskId?: string; limit?: number } = {}): Promise<Decision[]> {
    return this.run((core) => listDecisionsSync(core, filter));
  }

  /** Assets, newest first. */
  listAssets(
    filter: { taskId?: string; since?: string; until?: string; limit?: number } = {},
  ): Promise<Asset[]> {
    return this.run((core) => listAssetsSync(core, filter));
  }

  // ---- notifications -----------------------------------------------------------------

  /** Keeps a notification (audited), before any attempt to push it. */
  recordNotification(notification: NewNotification): Promise<NotificationRecord> {
    return this.write((core) => recordNotificationSync(core, notification));
  }

  /** Records whether the push of a notification was delivered. */
  setNotificationDelivery(
    id: string,
    delivery: "sent" | "failed",
    error: string | null = null,
  ): Promise<void> {
    return this.write((core) => setDeliverySync(core, id, delivery, error));
  }

  /** Notifications, newest first. */
  listNotifications(
    filter: { limit?: number; since?: string; until?: string; delivery?: string } = {},
  ): Promise<NotificationRecord[]> {
    return this.run((core) => listNotificationsSync(core, filter));
  }

  // ---- reports -----------------------------------------------------------------------

  /** A report's facts for [since, until), from aggregate queries and short lists. */
  reportData(window: { since: string; until: string; limit?: number }): Promise<ReportData> {
    return this.run((core) =>
      core.read(() => reportDataSync(core, { ...window, limit: window.limit ?? 50 })),
    );
  }

  // ---- queue summary -----------------------------------------------------------------

  /**
   * Per role: tasks ready to claim now, waiting on dependencies, waiting for a backoff, and
   * running. One aggregate query; used to explain idleness and by `producer status`.
   */
  queueSummary(): Promise<QueueSummaryRow[]> {
    return this.run(
      (core) =>
        core
          .prepare(
            `SELECT agent_owner AS role,
                    SUM(status = 'pending' AND open_deps = 0 AND (not_before IS NULL OR not_before <= @now)) AS ready,
                    SUM(status = 'pending' AND open_deps > 0) AS waitingOnDependencies,
                    COALESCE(SUM(status = 'pending' AND open_deps = 0 AND not_before > @now), 0) AS delayed,
                    SUM(status = 'in_progress') AS running
               FROM tasks WHERE status IN ('pending', 'in_progress')
              GROUP BY agent_owner ORDER BY agent_owner`,
          )
          .all({ now: core.now() }) as QueueSummaryRow[],
    );
  }

  // ---- audit -------------------------------------------------------------------------

  /**
   * Walks the audit chain and checks audited rows against it. With `expectedHead` (a hash
   * printed earlier) it also proves the log was not truncated since.
   */
  verifyAuditChain(
    options: { expectedHead?: string; key?: string } = {},
  ): Promise<AuditVerification> {
    return this.run((core) => core.read(() => core.audit.verifySync(options)));
  }

  /**
   * Seals the audit chain with `key` (PRODUCER_AUDIT_KEY): rows up to the seal can no longer
   * be rewritten by anyone without the key. Resolves to false when the newest row was already
   * a seal.
   */
  async sealAudit(key: string): Promise<boolean> {
    // A read first: the Producer asks on every poll, and most polls changed nothing.
    if (await this.run((core) => core.audit.sealedSync())) return false;
    return this.write((core) => core.audit.sealSync(key, core.now(), this.actorOf()) !== null);
  }

  /** The audit chain's head hash and row count right now. */
  auditHead(): Promise<{ headHash: string; rowCount: number }> {
    return this.run((core) => core.read(() => core.audit.headSync()));
  }

  /** Newest audit rows first, optionally about one entity. */
  recentAudit(limit = 50, entityId?: string): Promise<AuditRow[]> {
    return this.run((core) => core.audit.recentSync(limit, entityId));
  }

  /** The newest audit row with `action` (e.g. `pricing.updated`), or null when there is none. */
  latestAudit(action: string): Promise<AuditRow | null> {
    return this.run((core) => core.audit.latestSync(action));
  }

  /** Appends a free-form audit event (kill switch, budget, notifications...). */
  appendAudit(event: {
    action: string;
    entityType: string;
    entityId?: string | null;
    details?: Record<string, unknown>;
    actor?: string;
  }): Promise<AuditRow> {
    return this.write((core) =>
      core.audit.appendSync({
        ts: core.now(),
        actor: event.actor ?? this.options.actor,
        action: event.action,
        entityType: event.entityType,
        entityId: event.entityId ?? null,
        details: event.details ?? {},
      }),
    );
  }

  /** Closes the database handle. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.core.db.close();
  }

  // ---- dashboard reads ---------------------------------------------------------------

  /**
   * Queue flow for the dashboard's queue-depth chart: tasks created and finished per bucket
   * (`day` = YYYY-MM-DD, `hour` = YYYY-MM-DDTHH, UTC) in [since, until), and how many were
   * open (created, not finished) at `since`. A task requeued after finishing counts by its
   * latest finish only, so depth derived from this is an approximation, never a ledger fact.
   */
  queueFlow(window: { since: string; until: string; bucket: "day" | "hour" }): Promise<{
    openBefore: number;
    buckets: { bucket: string; created: number; finished: number }[];
  }> {
    return this.run((core) =>
      core.read(() => {
        const params = {
          since: window.since,
          until: window.until,
          len: window.bucket === "day" ? 10 : 13,
        };
        const created = core
          .prepare(
            `SELECT substr(created_at, 1, @len) AS bucket, COUNT(*) AS n FROM tasks
              WHERE created_at >= @since AND created_at < @until GROUP BY bucket`,
          )
          .all(params) as { bucket: string; n: number }[];
        const finished = core
          .prepare(
            `SELECT substr(finished_at, 1, @len) AS bucket, COUNT(*) AS n FROM tasks
              WHERE finished_at >= @since AND finished_at < @until GROUP BY bucket`,
          )
          .all(params) as { bucket: string; n: number }[];
        const { n: openBefore } = core
          .prepare(
            `SELECT COUNT(*) AS n FROM tasks
              WHERE created_at < @since AND (finished_at IS NULL OR finished_at >= @since)`,
          )
          .get(params) as { n: number };
        const byBucket = new Map<string, { bucket: string; created: number; finished: number }>();
        const at = (bucket: string) => {
          const row = byBucket.get(bucket) ?? { bucket, created: 0, finished: 0 };
          byBucket.set(bucket, row);
          return row;
        };
        for (const r of created) at(r.bucket).created = r.n;
        for (const r of finished) at(r.bucket).finished = r.n;
        const buckets = [...byBucket.values()].sort((a, b) => a.bucket.localeCompare(b.bucket));
        return { openBefore, buckets };
      }),
    );
  }
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
