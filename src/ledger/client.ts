import { type Clock, systemClock } from "../clock.js";
import { LedgerError } from "../errors.js";
import * as attention from "./attention.js";
import * as audit from "./audit/chain.js";
import { verifyChain } from "./audit/verify/index.js";
import * as budget from "./budget.js";
import * as funded from "./claim-and-fund.js";
import { queueFlow } from "./dashboard-reads.js";
import type {
  ActorOption,
  AuditAppend,
  ClaimRequest,
  ClientSettings,
  Ledger,
  RecoveryOptions,
} from "./ledger.js";
import * as notices from "./notifications.js";
import * as producers from "./producers.js";
import * as records from "./records.js";
import { reportData } from "./report-queries.js";
import type { BudgetLimits } from "./rules/allowance.js";
import type { ClaimEnd, ManualChange } from "./rules/transitions.js";
import { nowOf, type Scope } from "./scope.js";
import type { Storage, Tx } from "./storage.js";
import { insertTasks, refusalEvent } from "./task-insert.js";
import * as queries from "./task-queries.js";
import * as transitions from "./task-transitions.js";
import type { DispatchOutcome, NewAsset, NewDecision, NewTask, TaskFilter } from "./types.js";

type Change = { reason?: string } & ActorOption;
type Window = { since: string; until: string };

const DEFAULT_LEASE_MS = 30_000;

/**
 * The ledger over any {@link Storage}. Every rule lives here and in the operations it calls,
 * so a backend only moves rows. Open one with `openLedger` (from the project's config) or
 * `LedgerClient.open` (from a file path). The methods are documented on {@link Ledger}.
 */
/** Audit actions the ledger, the Producer and humans write; an agent may append others. */
const RESERVED_ACTIONS =
  /^(?:task|approval|attention|producer|budget|notification|audit|pricing|guardrail|decision|asset)\.|^killswitch\.disarmed$/;

export class StoredLedger implements Ledger {
  readonly clock: Clock;
  private readonly roles: readonly string[] | null;

  constructor(
    private readonly storage: Storage,
    private readonly settings: ClientSettings = {},
  ) {
    this.clock = settings.clock ?? storage.clock ?? systemClock;
    this.roles = settings.roles ?? null;
  }

  get workerIdentity(): string {
    return this.storage.workerIdentity;
  }
  get sharedByHosts(): boolean {
    return this.storage.sharedByHosts;
  }

  get host(): string {
    return this.storage.host;
  }

  get location(): string {
    return this.storage.location;
  }

  private scopeOf(tx: Tx): Scope {
    return {
      tx,
      clock: this.clock,
      roles: this.roles,
      host: this.storage.host,
      approvalRoles: this.settings.approvalRoles,
    };
  }
  private read<T>(work: (scope: Scope) => Promise<T>): Promise<T> {
    return this.storage.transaction("read", (tx) => work(this.scopeOf(tx)));
  }
  private write<T>(work: (scope: Scope) => Promise<T>): Promise<T> {
    return this.storage.transaction("write", (tx) => work(this.scopeOf(tx)));
  }
  private actorOf(options?: ActorOption): string {
    return this.settings.dispatch?.role ?? options?.actor ?? this.settings.actor ?? "library";
  }
  private claimOptions(options: ClaimRequest = {}): transitions.ClaimOptions {
    return {
      leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
      claimedBy: options.claimedBy ?? this.workerIdentity,
      actor: this.actorOf(options),
    };
  }

  async insertTask(task: NewTask, options?: ActorOption) {
    const [created] = await this.insertTasks([task], options);
    return created!;
  }
  async insertTasks(tasks: readonly NewTask[], options?: ActorOption) {
    const actor = this.actorOf(options);
    const dispatch = this.settings.dispatch;
    // Inside a dispatch its role files the work, under the dispatched task unless another
    // parent is named: the guardrails then count it like the agent's MCP filings.
    const filed = dispatch
      ? tasks.map((t) => ({
          ...t,
          createdBy: dispatch.role,
          parentTaskId: t.parentTaskId ? t.parentTaskId : dispatch.taskId,
        }))
      : tasks;
    const guardrails = this.settings.guardrails ?? null;
    try {
      return await this.write((s) => insertTasks(s, filed, actor, guardrails));
    } catch (error) {
      // The batch was rolled back; a guardrail's refusal is kept, for the report and audit.
      const refused = refusalEvent(error, actor);
      if (refused) await this.recordAudit(refused);
      throw error;
    }
  }
  getTask(id: string) {
    return this.read((s) => queries.getTask(s, id));
  }
  resolveTaskId(idOrSuffix: string) {
    return this.read((s) => queries.resolveTaskId(s, idOrSuffix));
  }
  listTasks(filter: TaskFilter = {}) {
    return this.read((s) => queries.listTasks(s, filter));
  }
  countTasks(filter: TaskFilter = {}) {
    return this.read((s) => queries.countTasks(s, filter));
  }
  countByRoleAndStatus() {
    return this.read((s) => queries.countByRoleAndStatus(s));
  }
  listChildren(id: string) {
    return this.read((s) => queries.listChildren(s, id));
  }
  listAttempts(id: string) {
    return this.read((s) => queries.listAttempts(s, id));
  }
  queueSummary() {
    return this.read((s) => queries.queueSummary(s));
  }
  queueFlow(window: Window & { bucket: "day" | "hour" }) {
    return this.read((s) => queueFlow(s, window));
  }
  dispatchIdentity(token: string) {
    return this.read((s) => queries.dispatchIdentity(s, token));
  }

  claimNext(role: string, options?: ClaimRequest) {
    return this.write((s) => transitions.claimNext(s, role, this.claimOptions(options)));
  }
  heartbeat(id: string, claimToken: string, leaseMs = DEFAULT_LEASE_MS) {
    return this.write((s) => transitions.heartbeat(s, id, claimToken, leaseMs));
  }
  endClaim(id: string, token: string, end: ClaimEnd, outcome = {}, options?: ActorOption) {
    const actor = this.actorOf(options);
    return this.write((s) => transitions.endClaim(s, id, token, end, outcome, actor));
  }
  complete(id: string, token: string, outcome: DispatchOutcome = {}, options?: ActorOption) {
    return this.endClaim(id, token, { kind: "done" }, outcome, options);
  }
  fail(
    id: string,
    token: string,
    failure: { error: string; retryAt?: string | null },
    outcome: DispatchOutcome = {},
    options?: ActorOption,
  ) {
    const { error, retryAt } = failure;
    const end: ClaimEnd = retryAt
      ? { kind: "retry", error, notBefore: retryAt }
      : { kind: "failed", error };
    return this.endClaim(id, token, end, outcome, options);
  }
  escalate(id: string, token: string, error: string, outcome = {}, options?: ActorOption) {
    return this.endClaim(id, token, { kind: "escalated", error }, outcome, options);
  }
  release(id: string, token: string, reason: string, outcome = {}, options?: ActorOption) {
    return this.endClaim(id, token, { kind: "released", reason }, outcome, options);
  }
  recoverExpiredLeases(options?: RecoveryOptions) {
    const actor = this.actorOf(options);
    return this.write((s) => transitions.recoverExpired(s, actor, options?.maxRetries));
  }
  recoverDeadClaims(isAlive: (pid: number) => boolean, options?: RecoveryOptions) {
    const actor = this.actorOf(options);
    return this.write((s) => transitions.recoverDead(s, isAlive, actor, options?.maxRetries));
  }
  finishClaim(
    id: string,
    token: string,
    end: ClaimEnd,
    outcome: DispatchOutcome,
    options: ActorOption & { settle?: { reservationId: string; limits: BudgetLimits } } = {},
  ) {
    const actor = this.actorOf(options);
    const claim = { id, token, end, outcome };
    return this.write((s) => funded.finishClaim(s, claim, options.settle, actor));
  }

  reserveBudget(
    request: { day: string; role: string; taskId?: string | null; minimumUsd: number },
    limits: BudgetLimits,
    options?: ActorOption,
  ) {
    const asked = { ...request, taskId: request.taskId ?? null };
    return this.write((s) => budget.reserve(s, asked, limits, this.actorOf(options)));
  }
  claimAndReserve(
    role: string,
    funding: { day: string; minimumUsd: number; limits: BudgetLimits },
    options?: ClaimRequest,
  ) {
    const claim = this.claimOptions(options);
    return this.write((s) => funded.claimAndReserve(s, role, funding, claim));
  }
  settleBudget(id: string, costUsd: number, limits: BudgetLimits, options?: ActorOption) {
    return this.write((s) => budget.settle(s, id, costUsd, limits, this.actorOf(options)));
  }
  releaseBudget(reservationId: string) {
    return this.write((s) => budget.releaseHold(s, reservationId, this.actorOf()));
  }
  async releaseOrphanHolds(options?: ActorOption) {
    // Checked with a read first: the Producer asks on every poll and there is rarely any.
    if ((await this.read((s) => budget.orphanHolds(s))).length === 0) return [];
    return this.write((s) => budget.releaseOrphanHolds(s, this.actorOf(options)));
  }
  budgetUsage(day: string, role: string) {
    return this.read((s) => budget.usageOf(s, day, role));
  }
  budgetForDay(day: string) {
    return this.read((s) => budget.dayBudget(s, day));
  }
  spendByDay(fromDay: string, toDay: string) {
    return this.read((s) => budget.spendByDay(s, fromDay, toDay));
  }
  spendPace(day: string, since: string) {
    return this.read((s) => budget.spendPace(s, day, since));
  }

  private change(id: string, change: ManualChange, options?: ActorOption) {
    return this.write((s) => transitions.changeTask(s, id, change, this.actorOf(options)));
  }
  // Steering is a human's: an agent that could requeue or reroute would walk a task past its
  // approval gate (a killed gated task requeued, an ungated one rerouted into a gated role),
  // and one that could kill would lose other roles' work.
  async requeue(id: string, options: Change = {}) {
    this.refuseInsideDispatch("requeue tasks");
    return this.change(id, { kind: "requeue", reason: options.reason }, options);
  }
  async kill(id: string, options: Change = {}) {
    this.refuseInsideDispatch("kill tasks");
    return this.change(id, { kind: "kill", reason: options.reason }, options);
  }
  async reroute(id: string, role: string, options: Change = {}) {
    this.refuseInsideDispatch("reroute tasks");
    return this.change(id, { kind: "reroute", role, reason: options.reason }, options);
  }
  async approve(id: string, options: Change = {}) {
    this.refuseInsideDispatch("approve tasks");
    return this.change(id, { kind: "approve", reason: options.reason }, options);
  }
  async deny(id: string, options: { reason: string } & ActorOption) {
    this.refuseInsideDispatch("deny tasks");
    return this.change(id, { kind: "deny", reason: options?.reason }, options);
  }
  /**
   * What only a human or the Producer may do. A gate an agent could open is no gate: inside a
   * dispatch the ledger itself refuses, so an agent's own script using the library is refused
   * as well as its CLI call.
   */
  private refuseInsideDispatch(what: string): void {
    const dispatch = this.settings.dispatch;
    if (dispatch) {
      throw new LedgerError(
        `agents may not ${what}: role ${dispatch.role} is running task ${dispatch.taskId}; a human does it from the CLI, the page or the ntfy link`,
      );
    }
  }

  recordDecision(decision: NewDecision, options?: ActorOption) {
    const owned = { ...decision, ...this.dispatchOwner() };
    return this.write((s) => records.recordDecision(s, owned, this.actorOf(options)));
  }
  registerAsset(asset: NewAsset, options?: ActorOption) {
    const owned = { ...asset, ...this.dispatchOwner() };
    return this.write((s) => records.registerAsset(s, owned, this.actorOf(options)));
  }
  /**
   * Inside a dispatch, a record is its role's, about its task, whatever the caller passed: an
   * agent cannot put words in another role's mouth or file them under another task.
   */
  private dispatchOwner(): { agentOwner: string; taskId: string } | Record<string, never> {
    const dispatch = this.settings.dispatch;
    return dispatch ? { agentOwner: dispatch.role, taskId: dispatch.taskId } : {};
  }
  listDecisions(filter: { taskId?: string; limit?: number } = {}) {
    return this.read((s) => records.listDecisions(s, filter));
  }
  listAssets(filter: Partial<Window> & { taskId?: string; limit?: number } = {}) {
    return this.read((s) => records.listAssets(s, filter));
  }
  recordNotification(notification: notices.NewNotification) {
    return this.write((s) => notices.recordNotification(s, notification));
  }
  setNotificationDelivery(id: string, delivery: "sent" | "failed", error: string | null = null) {
    return this.write((s) => notices.setDelivery(s, id, delivery, error));
  }
  listNotifications(filter: Partial<Window> & { limit?: number; delivery?: string } = {}) {
    return this.read((s) => notices.listNotifications(s, filter));
  }
  listAttention(filter: { all?: boolean; limit?: number } = {}) {
    return this.read((s) => attention.listAttention(s, filter));
  }
  attentionOverview() {
    return this.read((s) => attention.attentionOverview(s));
  }
  resolveAttention(
    selector: attention.AttentionSelector,
    options: ActorOption & Omit<attention.AttentionResolution, "actor"> = {},
  ) {
    this.refuseInsideDispatch("resolve attention items");
    const resolution = { ...options, actor: this.actorOf(options) };
    return this.write((s) => attention.resolveAttention(s, selector, resolution));
  }
  reportData(window: Window & { limit?: number }) {
    return this.read((s) => reportData(s, { ...window, limit: window.limit ?? 50 }));
  }

  // A Producer's heartbeat written by an agent would show a dead team as running.
  async producerStarted(options: { once: boolean; pollMs: number }) {
    this.refuseInsideDispatch("record Producer heartbeats");
    const start = {
      ...options,
      identity: this.workerIdentity,
      host: this.host,
      pid: process.pid,
    };
    return this.write((s) => producers.producerStarted(s, start));
  }
  async producerBeat() {
    this.refuseInsideDispatch("record Producer heartbeats");
    return this.write((s) => producers.producerBeat(s, this.workerIdentity));
  }
  async producerStopped() {
    this.refuseInsideDispatch("record Producer heartbeats");
    return this.write((s) => producers.producerStopped(s, this.workerIdentity));
  }
  listProducers(filter: { since?: string } = {}) {
    const since = filter.since ?? new Date(this.clock.now() - 86_400_000).toISOString();
    return this.read((s) => producers.listProducers(s, since));
  }

  verifyAuditChain(options: { expectedHead?: string; key?: string } = {}) {
    return this.read((s) => verifyChain(s, options));
  }
  async sealAudit(key: string) {
    // A read first: the Producer asks on every poll, and most polls changed nothing.
    if (await this.read((s) => audit.isSealed(s))) return false;
    const actor = this.actorOf();
    return this.write(async (s) => (await audit.sealChain(s, key, nowOf(s), actor)) !== null);
  }
  auditHead() {
    return this.read((s) => audit.chainHead(s));
  }
  recentAudit(limit = 50, entityId?: string) {
    return this.read((s) => audit.recentAudit(s, limit, entityId));
  }
  latestAudit(action: string) {
    return this.read((s) => audit.latestAudit(s, action));
  }
  async appendAudit(event: AuditAppend) {
    const { action } = event;
    const dispatch = this.settings.dispatch;
    // Inside a dispatch a row is the agent's, and the ledger's own actions are not its to
    // write: a forged `approval.requested` or `killswitch.disarmed` would open a gate or
    // release the brake in a human's name. Pulling the brake stays open to anyone.
    if (dispatch && RESERVED_ACTIONS.test(action)) {
      this.refuseInsideDispatch(`write ${JSON.stringify(action)} audit rows`);
    }
    return this.recordAudit(event);
  }
  /** Appends a row as the ledger's own code writes it; inside a dispatch, as its role. */
  private recordAudit(event: AuditAppend) {
    const { action, entityType } = event;
    const dispatch = this.settings.dispatch;
    const actor = dispatch ? dispatch.role : (event.actor ?? this.settings.actor ?? "library");
    const details = event.details ?? {};
    const entityId = event.entityId ?? null;
    return this.write((s) =>
      audit.appendAudit(s, { ts: nowOf(s), actor, action, entityType, entityId, details }),
    );
  }

  watch(onChange: () => void, onError?: (message: string) => void) {
    return this.storage.watch(onChange, onError);
  }
  close() {
    return this.storage.close();
  }
}
