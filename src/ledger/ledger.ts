import type { Clock } from "../clock.js";
import type {
  AttentionItem,
  AttentionOverview,
  AttentionResolution,
  AttentionSelector,
} from "./attention.js";
import type { AuditVerification } from "./audit/verify/index.js";
import type { Reservation, ReserveOutcome, RoleBudgetRow, RolePace, Settlement } from "./budget.js";
import type { ClaimAndReserve, FinishedClaim } from "./claim-and-fund.js";
import type { QueueFlow } from "./dashboard-reads.js";
import type { NewNotification, NotificationRecord } from "./notifications.js";
import type { ProducerBeat } from "./producers.js";
import type { ReportData } from "./report-queries.js";
import type { BudgetLimits, BudgetUsage } from "./rules/allowance.js";
import type { Guardrails } from "./rules/guardrails.js";
import type { ClaimEnd } from "./rules/transitions.js";
import type { DispatchIdentity, QueueSummaryRow } from "./task-queries.js";
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

/** Who a client is: its clock, the project's roles and guardrails, and its default actor. */
export interface ClientSettings {
  clock?: Clock;
  /** The configured roles; when given, tasks for any other role are refused. */
  roles?: readonly string[];
  /** Who this client acts as in the audit log and `created_by` (default `library`). */
  actor?: string;
  /** Limits on tasks filed by agents (created by one of `roles`); none when omitted. */
  guardrails?: Guardrails;
  /**
   * Roles whose new tasks wait in `awaiting_approval` until a human approves them
   * (`agents.<role>.requires_approval`); see `approvalRoles` in config/approval.ts.
   */
  approvalRoles?: readonly string[];
  /** Set inside a dispatch: every write is that dispatch's, whatever a call says. */
  dispatch?: DispatchIdentity;
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

/** How a claim is taken: its lease, and who holds it (default this process). */
export interface ClaimRequest extends ActorOption {
  leaseMs?: number;
  claimedBy?: string;
}

/** An audit event a caller appends itself (kill switch, pricing, notifications...). */
export interface AuditAppend {
  action: string;
  entityType: string;
  entityId?: string | null;
  details?: Record<string, unknown>;
  actor?: string;
}

/**
 * The project's durable task bus, whatever database holds it. Every state change commits
 * together with its hash-chained audit row. Failures are `LedgerError`s whose `code` says
 * what kind (invalid, not_found, transition, conflict, storage).
 */
export interface Ledger {
  /** `host:pid` of this process, as its claims record it. */
  readonly workerIdentity: string;
  /** Where the ledger lives, for messages: a file path, or a URL without its password. */
  readonly location: string;
  /**
   * The time this ledger is written in: the client's clock if one was given, else the
   * database server's for a ledger shared by hosts, else this machine's. The Producer keeps
   * its budget days and leases in it.
   */
  readonly clock: Clock;
  /**
   * True when processes on several machines write this ledger (PostgreSQL): the brake is then
   * kept in the ledger too, so pulling it on one host stops them all.
   */
  readonly sharedByHosts: boolean;
  /** This machine's name as claims and escalations record it. */
  readonly host: string;

  // ---- tasks: filing
  /** Files one task. Unknown roles, empty titles, bad payloads and missing ids are refused. */
  insertTask(task: NewTask, options?: ActorOption): Promise<Task>;
  /** Files many tasks in one transaction: all of them, or none when any is invalid. */
  insertTasks(tasks: readonly NewTask[], options?: ActorOption): Promise<Task[]>;

  // ---- tasks: reading (never with a claim token: it is the claim holder's alone)
  getTask(id: string): Promise<Task | null>;
  /**
   * The full id of the task whose id is `idOrSuffix` or ends with it (at least 4 characters,
   * any case), for ids humans type; throws when none or several match.
   */
  resolveTaskId(idOrSuffix: string): Promise<string>;
  /** Tasks matching the filter, newest first. */
  listTasks(filter?: TaskFilter): Promise<Task[]>;
  /** How many tasks match the filter (limit/offset ignored). */
  countTasks(filter?: TaskFilter): Promise<number>;
  countByRoleAndStatus(): Promise<{ role: string; status: TaskStatus; count: number }[]>;
  /** The children a task's agent filed, oldest first. */
  listChildren(id: string): Promise<Task[]>;
  /** Every dispatch attempt of a task, oldest first. */
  listAttempts(id: string): Promise<TaskAttempt[]>;
  /** Per role: ready, waiting on dependencies, delayed by a backoff, running. */
  queueSummary(): Promise<QueueSummaryRow[]>;
  /** Tasks created and finished per bucket, for the dashboard's queue chart. */
  queueFlow(window: { since: string; until: string; bucket: "day" | "hour" }): Promise<QueueFlow>;
  /** The running dispatch a token names, or null (a wrong token, a claim that ended). */
  dispatchIdentity(token: string): Promise<DispatchIdentity | null>;

  // ---- tasks: claims
  /**
   * Claims the highest-priority, oldest claimable task of `role` (pending, dependencies done,
   * not_before passed), or returns null. The claim carries a fresh token and a lease.
   */
  claimNext(role: string, options?: ClaimRequest): Promise<Task | null>;
  /** Renews a claim's lease. Resolves false when the claim is no longer held. */
  heartbeat(id: string, claimToken: string, leaseMs?: number): Promise<boolean>;
  /** Ends a claim: done, failed, retried later, escalated, or released uncounted. */
  endClaim(
    id: string,
    claimToken: string,
    end: ClaimEnd,
    outcome?: DispatchOutcome,
    options?: ActorOption,
  ): Promise<Task>;
  complete(
    id: string,
    claimToken: string,
    outcome?: DispatchOutcome,
    options?: ActorOption,
  ): Promise<Task>;
  /** A failed dispatch: with `retryAt` back to pending from then, without it failed for good. */
  fail(
    id: string,
    claimToken: string,
    failure: { error: string; retryAt?: string | null },
    outcome?: DispatchOutcome,
    options?: ActorOption,
  ): Promise<Task>;
  escalate(
    id: string,
    claimToken: string,
    error: string,
    outcome?: DispatchOutcome,
    options?: ActorOption,
  ): Promise<Task>;
  /** Gives a claim back without counting the attempt (shutdown, `kill --now`). */
  release(
    id: string,
    claimToken: string,
    reason: string,
    outcome?: DispatchOutcome,
    options?: ActorOption,
  ): Promise<Task>;
  /** Ends every claim whose lease ran out: pending again, or escalated past `maxRetries`. */
  recoverExpiredLeases(options?: RecoveryOptions): Promise<Task[]>;
  /** Recovers the claims of processes on this host that no longer exist. */
  recoverDeadClaims(isAlive: (pid: number) => boolean, options?: RecoveryOptions): Promise<Task[]>;
  /** Ends a claim and settles its reservation in one transaction (see FinishedClaim). */
  finishClaim(
    id: string,
    claimToken: string,
    end: ClaimEnd,
    outcome: DispatchOutcome,
    options?: ActorOption & { settle?: { reservationId: string; limits: BudgetLimits } },
  ): Promise<FinishedClaim>;

  // ---- budget
  /** Checks the role's cap and the ceiling and holds money for one call, atomically. */
  reserveBudget(
    request: { day: string; role: string; taskId?: string | null; minimumUsd: number },
    limits: BudgetLimits,
    options?: ActorOption,
  ): Promise<ReserveOutcome>;
  /** Claims the role's next task and reserves its budget in one transaction. */
  claimAndReserve(
    role: string,
    budget: { day: string; minimumUsd: number; limits: BudgetLimits },
    options?: ClaimRequest,
  ): Promise<ClaimAndReserve>;
  /** Records a call's cost against its reservation. */
  settleBudget(
    reservationId: string,
    costUsd: number,
    limits: BudgetLimits,
    options?: ActorOption,
  ): Promise<Settlement>;
  /** Gives a hold back unspent. */
  releaseBudget(reservationId: string): Promise<Reservation>;
  /** Releases every hold whose task is no longer claimed; resolves to their ids. */
  releaseOrphanHolds(options?: ActorOption): Promise<string[]>;
  /** One role's spend and holds for a UTC day, with the project's totals. */
  budgetUsage(day: string, role: string): Promise<BudgetUsage>;
  /** Every role's budget row for a UTC day. */
  budgetForDay(day: string): Promise<RoleBudgetRow[]>;
  /** Spend per day and role between two UTC days, inclusive. */
  spendByDay(
    fromDay: string,
    toDay: string,
  ): Promise<{ day: string; role: string; spentUsd: number }[]>;
  /**
   * Per role on a UTC day: settled spend, the part of it charged since `since` (an instant),
   * and the money held by calls in flight; for the burn-rate forecast.
   */
  spendPace(day: string, since: string): Promise<RolePace[]>;

  // ---- tasks: human actions
  /**
   * Puts a failed, escalated or killed task back to pending with fresh retries; a denied task
   * goes back to awaiting approval instead.
   */
  requeue(id: string, options?: ActorOption & { reason?: string }): Promise<Task>;
  /** Stops a task for good (awaiting approval, pending, in progress, failed or escalated). */
  kill(id: string, options?: ActorOption & { reason?: string }): Promise<Task>;
  /**
   * Gives a pending, failed or escalated task to another role, pending again; a task awaiting
   * approval keeps waiting, for the new role.
   */
  reroute(id: string, role: string, options?: ActorOption & { reason?: string }): Promise<Task>;
  /**
   * A human signs off a task awaiting approval: it becomes pending and is dispatched as usual.
   * Refused inside a dispatch (no agent approves any task); audited as `task.approved`.
   */
  approve(id: string, options?: ActorOption & { reason?: string }): Promise<Task>;
  /**
   * A human refuses a task awaiting approval, saying why: it ends killed and never runs.
   * Refused inside a dispatch; audited as `task.denied`.
   */
  deny(id: string, options: ActorOption & { reason: string }): Promise<Task>;

  // ---- decisions, assets, notifications, reports
  recordDecision(decision: NewDecision, options?: ActorOption): Promise<Decision>;
  /** Registers a file an agent produced; the path must stay inside the project. */
  registerAsset(asset: NewAsset, options?: ActorOption): Promise<Asset>;
  listDecisions(filter?: { taskId?: string; limit?: number }): Promise<Decision[]>;
  listAssets(filter?: {
    taskId?: string;
    since?: string;
    until?: string;
    limit?: number;
  }): Promise<Asset[]>;
  /** Keeps a notification (audited), before any attempt to push it. */
  recordNotification(notification: NewNotification): Promise<NotificationRecord>;
  setNotificationDelivery(
    id: string,
    delivery: "sent" | "failed",
    error?: string | null,
  ): Promise<void>;
  listNotifications(filter?: {
    limit?: number;
    since?: string;
    until?: string;
    delivery?: string;
  }): Promise<NotificationRecord[]>;
  /** Attention items (notifications that need a human), newest first: open ones, or `all`. */
  listAttention(filter?: { all?: boolean; limit?: number }): Promise<AttentionItem[]>;
  /** How many attention items are open, and the newest. */
  attentionOverview(): Promise<AttentionOverview>;
  /**
   * Resolves attention items, all or none, each audited as `attention.resolved`; see
   * {@link AttentionSelector}. Resolves to the items resolved by this call.
   */
  resolveAttention(
    selector: AttentionSelector,
    options?: ActorOption & Omit<AttentionResolution, "actor">,
  ): Promise<AttentionItem[]>;
  /** A report's facts for [since, until), from aggregate queries and short lists. */
  reportData(window: { since: string; until: string; limit?: number }): Promise<ReportData>;

  // ---- Producer heartbeats
  /**
   * Records this process as a running Producer (identity {@link workerIdentity}), beating
   * about every `pollMs`; prunes rows that stopped beating long ago.
   */
  producerStarted(options: { once: boolean; pollMs: number }): Promise<ProducerBeat>;
  /** This Producer still runs: one small write. False when its row is missing. */
  producerBeat(): Promise<boolean>;
  /** This Producer exited cleanly. */
  producerStopped(): Promise<void>;
  /** Producers that beat since `since` (default: the last day), newest start first. */
  listProducers(filter?: { since?: string }): Promise<ProducerBeat[]>;

  // ---- audit
  /** Walks the chain and checks audited rows against it; see AuditVerification. */
  verifyAuditChain(options?: { expectedHead?: string; key?: string }): Promise<AuditVerification>;
  /** Seals the chain with PRODUCER_AUDIT_KEY; false when the newest row was already a seal. */
  sealAudit(key: string): Promise<boolean>;
  auditHead(): Promise<{ headHash: string; rowCount: number }>;
  /** Newest audit rows first, optionally about one entity. */
  recentAudit(limit?: number, entityId?: string): Promise<AuditRow[]>;
  /** The newest audit row with `action`, or null. */
  latestAudit(action: string): Promise<AuditRow | null>;
  appendAudit(event: AuditAppend): Promise<AuditRow>;

  // ---- life
  /**
   * Calls `onChange` soon after any process commits to the ledger (sometimes for nothing);
   * returns a function that stops watching. Where watching is impossible, `onError` says so
   * and the caller polls.
   */
  watch(onChange: () => void, onError?: (message: string) => void): () => void;
  /** Closes the connection. Safe to call twice. */
  close(): Promise<void>;
}

/** What the agents' ledger tools may do: file and read work, record what they decided. */
export type AgentLedger = Pick<
  Ledger,
  "getTask" | "insertTask" | "listTasks" | "recordDecision" | "registerAsset"
>;

/**
 * What the notifier needs: keep a notice, record its delivery, and read and resolve the
 * attention items it renders into needs-attention.md.
 */
export type NoticeLedger = Pick<
  Ledger,
  "recordNotification" | "setNotificationDelivery" | "listAttention" | "resolveAttention"
>;

/** What the kill switch (and other auditors of their own events) need. */
export type AuditLedger = Pick<Ledger, "appendAudit"> &
  Partial<Pick<Ledger, "latestAudit" | "sharedByHosts" | "host">>;
