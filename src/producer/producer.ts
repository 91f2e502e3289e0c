import { readFileSync } from "node:fs";
import { BudgetTracker } from "../budget/tracker.js";
import type { Clock } from "../clock.js";
import { systemClock, utcToday } from "../clock.js";
import type { ProducerConfig, RuntimeKind } from "../config/types.js";
import { asError } from "../errors.js";
import { FailureBurstDetector } from "../killswitch/auto-arm.js";
import { KillSwitchWatcher } from "../killswitch/kill-switch.js";
import type { Ledger } from "../ledger/ledger.js";
import type { Task } from "../ledger/types.js";
import { pushChannelFor } from "../notify/from-config.js";
import type { Notifier } from "../notify/notifier.js";
import { ProjectNotifier } from "../notify/notifier.js";
import { PriceBook, type PriceBookChange, recordedPriceDigest } from "../pricing/book.js";
import { isStale, tableAgeDays } from "../pricing/table.js";
import type { ReportWriter } from "../report/report-writer.js";
import { apiKey } from "../runtimes/claude/auth.js";
import type { Runtime } from "../runtimes/types.js";
import { AUDIT_KEY_VARIABLE, Redactor } from "../secrets/redactor.js";
import { CapForecastWatch } from "./cap-forecast.js";
import {
  announceEscalation,
  type DispatchContext,
  type RunningDispatch,
  startDispatch,
} from "./dispatch.js";
import { ProducerEventEmitter } from "./events.js";
import { ProducerHeartbeat } from "./heartbeat.js";
import { IdleTracker, idleReason, spanInWords } from "./idle.js";
import { ReportSchedule, startOfUtcDay } from "./report-schedule.js";
import { Waker } from "./wake.js";

/** Everything a Producer is built from. Only `config` and `ledger` are required. */
export interface ProducerOptions {
  config: ProducerConfig;
  /** An open ledger; give it `roles` and `guardrails` from the config. */
  ledger: Ledger;
  /** Runtimes by kind; the Claude runtime is created lazily when a role needs it. */
  runtimes?: Partial<Record<RuntimeKind, Runtime>>;
  clock?: Clock;
  /**
   * The environment agents start from (default: this process's), as it is when the Producer
   * is built: the secrets to redact are taken from it then too, so an agent never gets a
   * variable added later that the redactor would not know.
   */
  env?: NodeJS.ProcessEnv;
  notifier?: Notifier;
  reporter?: ReportWriter;
  events?: ProducerEventEmitter;
}

/** How a run ended. */
export interface RunSummary {
  dispatched: number;
}

/**
 * The long-running dispatcher: polls the ledger (waking early when it changes), recovers
 * lost claims, respects the kill switch, claims and funds tasks within the concurrency and
 * budget limits, dispatches them, and notices when there is nothing to do.
 */
export class Producer {
  readonly events: ProducerEventEmitter;
  private readonly clock: Clock;
  private readonly budget: BudgetTracker;
  private readonly killSwitch: KillSwitchWatcher;
  private readonly notifier: Notifier;
  private readonly idle: IdleTracker;
  private readonly running = new Map<string, RunningDispatch>();
  private readonly context: DispatchContext;
  private readonly prices: PriceBook;
  private readonly heartbeat: ProducerHeartbeat;
  private waker: Waker | null = null;
  private stopWatching: (() => void) | null = null;
  private stopping = false;
  private killSwitchSeen: string | null = null;
  private abortedForKillAt: string | null = null;
  private readonly refusalsReported = new Set<string>();
  private readonly reports: ReportSchedule;
  /** When this Producer, or the one before it on this ledger, first ran: see closeDay. */
  private ranSinceMs = Number.POSITIVE_INFINITY;
  /** performance.now() of the last lease and hold recovery: they run on the poll cadence. */
  private recoveredAt = Number.NEGATIVE_INFINITY;
  private readonly forecast: CapForecastWatch;
  /** performance.now() of the last cap forecast. */
  private forecastAt = Number.NEGATIVE_INFINITY;
  private rotation = 0;
  private dispatched = 0;

  constructor(private readonly options: ProducerOptions) {
    const { config, ledger } = options;
    this.clock = options.clock ?? options.ledger.clock ?? systemClock;
    this.events = options.events ?? new ProducerEventEmitter();
    this.budget = new BudgetTracker(ledger, config, {
      clock: this.clock,
      warn: (message) => this.events.emit("loop_error", { message }),
    });
    this.killSwitch = new KillSwitchWatcher(config.killSwitch, { clock: this.clock, ledger });
    // A plain copy: reading process.env goes through a native accessor per variable, which
    // cost more than the rest of building an agent's environment, on every dispatch.
    const env: NodeJS.ProcessEnv = { ...(options.env ?? process.env) };
    const redactor = Redactor.fromEnv(env, { ANTHROPIC_API_KEY: projectApiKey(env, config) });
    this.notifier =
      options.notifier ??
      new ProjectNotifier(ledger, config, {
        clock: this.clock,
        push: pushChannelFor(config, env),
        onError: (message) => this.events.emit("loop_error", { message }),
        redact: (text) => redactor.redact(text),
      });
    // Idleness is time with nothing to do, on the injected clock: the threshold is named in
    // polls only because that is how producer.yaml has always put it.
    this.idle = new IdleTracker(
      // Whole milliseconds: 3 × 0.05 s is 150.00000000000003 ms in floating point.
      Math.round(config.idleThresholdPolls * config.pollIntervalSeconds * 1000),
      this.clock.now(),
    );
    this.forecast = new CapForecastWatch(ledger, config, this.notifier, this.events, this.clock);
    this.reports = new ReportSchedule(config.reportIntervalHours * 3_600_000, this.clock.now());
    this.heartbeat = new ProducerHeartbeat(
      ledger,
      this.clock,
      config.pollIntervalSeconds * 1000,
      (message) => this.events.emit("loop_error", { message }),
    );
    this.prices = new PriceBook({
      overrideFile: config.pricing.overrideFile,
      clock: this.clock,
      recordedDigest: () => recordedPriceDigest(ledger),
    });
    this.context = {
      config,
      ledger,
      budget: this.budget,
      runtimes: { ...options.runtimes },
      clock: this.clock,
      env,
      events: this.events,
      notifier: this.notifier,
      failures: new FailureBurstDetector(this.killSwitch, { clock: this.clock }),
      leaseMs: config.leaseSeconds * 1000,
      prices: this.prices,
      redactor,
    };
  }

  /** Dispatches currently in flight. */
  get inFlight(): number {
    return this.running.size;
  }

  /**
   * Runs until `stop()` (or, with `once`, until nothing is claimable and nothing runs).
   * Resolves when every dispatch it started has finished.
   */
  async run(options: { once?: boolean } = {}): Promise<RunSummary> {
    const { config, ledger } = this.options;
    this.idle.restart(this.clock.now());
    await this.ensureRuntimes();
    const onWatchError = (message: string) => this.events.emit("loop_error", { message });
    this.waker = new Waker([config.killSwitch], onWatchError);
    // Any process's commit to the ledger wakes the loop; the backend knows how to see one.
    const waker = this.waker;
    this.stopWatching = ledger.watch(() => waker.poke("ledger"), onWatchError);
    this.events.emit("started", {
      pid: process.pid,
      roles: Object.keys(config.agents),
      once: Boolean(options.once),
    });
    try {
      const before = await ledger.latestAudit("producer.started");
      this.ranSinceMs = Math.min(
        this.ranSinceMs,
        this.clock.now(),
        before ? Date.parse(before.ts) : Number.POSITIVE_INFINITY,
      );
      // Audited, and the first write: a ledger this process cannot write to stops it here,
      // with the reason, instead of running on and recording nothing.
      await ledger.appendAudit({
        action: "producer.started",
        entityType: "producer",
        actor: "producer",
        details: { claimed_by: this.options.ledger.workerIdentity, once: Boolean(options.once) },
      });
      await this.heartbeat.start(Boolean(options.once));
      await this.recovered(
        await ledger.recoverDeadClaims(isAlive, {
          actor: "producer",
          maxRetries: config.retry.maxRetries,
        }),
      );
      await this.checkPrices();
      while (!this.stopping) {
        let poll = { claimed: 0, waiting: true, recovered: true };
        try {
          poll = await this.poll();
        } catch (error) {
          // A failed poll proves nothing about the queue: --once must not take it for empty.
          this.events.emit("loop_error", { message: `poll failed: ${asError(error).message}` });
        }
        await this.maybeReport();
        await this.checkForecast();
        await this.seal();
        await this.heartbeat.beat();
        if (options.once && poll.claimed === 0 && !poll.waiting && this.running.size === 0) {
          if (poll.recovered) break;
          // Recovery runs on the poll cadence and this poll skipped it: a lease that ran out
          // since may hold work, so look once more before calling the queue drained.
          this.recoveredAt = Number.NEGATIVE_INFINITY;
          continue;
        }
        await this.sleep(this.waker, config.pollIntervalSeconds * 1000);
      }
      this.events.emit("stopping", { inFlight: this.running.size, abort: false });
      await Promise.all([...this.running.values()].map((r) => r.done));
      await this.seal();
      await this.heartbeat.stop();
    } finally {
      this.stopWatching?.();
      this.stopWatching = null;
      this.waker.close();
      this.waker = null;
    }
    this.events.emit("stopped", { dispatched: this.dispatched });
    return { dispatched: this.dispatched };
  }

  /** Stops claiming; calls in flight finish. `run()` resolves once they have. */
  stop(): void {
    this.stopping = true;
    this.waker?.poke("stop");
  }

  /** Aborts every call in flight; their tasks go back to pending without counting an attempt. */
  abortInFlight(): void {
    if (this.running.size > 0)
      this.events.emit("stopping", { inFlight: this.running.size, abort: true });
    for (const dispatch of this.running.values()) {
      dispatch.abortReason ??= "release";
      dispatch.controller.abort();
    }
  }

  /**
   * One poll: recover, check the brake, claim and start what fits. Says how many tasks it
   * claimed, whether work is waiting for money held by calls in flight to settle, and whether
   * it looked for lost claims.
   */
  private async poll(): Promise<{ claimed: number; waiting: boolean; recovered: boolean }> {
    const { config, ledger } = this.options;
    await this.notePriceChange(await this.prices.refresh());
    // Leases expire and holds are orphaned with time (a Producer died), not because a slot
    // freed: looking once per poll interval finds them as soon as the timer alone would,
    // instead of costing two write transactions on every early wake (one per dispatch).
    const recovered = performance.now() - this.recoveredAt >= config.pollIntervalSeconds * 1000;
    if (recovered) {
      this.recoveredAt = performance.now();
      await this.recovered(
        await ledger.recoverExpiredLeases({
          actor: "producer",
          maxRetries: config.retry.maxRetries,
        }),
      );
      await ledger.releaseOrphanHolds({ actor: "producer" });
    }
    const brake = await this.killSwitch.refresh();
    if (brake) {
      if (this.killSwitchSeen === null) {
        this.killSwitchSeen = brake.reason;
        this.events.emit("kill_armed", {
          reason: brake.reason,
          by: brake.by,
          auto: brake.by === "producer",
        });
      }
      if (brake.mode === "now" && this.abortedForKillAt !== brake.at && this.running.size > 0) {
        this.abortedForKillAt = brake.at;
        this.abortInFlight();
      }
      await this.observeIdle(false, brake.reason);
      return { claimed: 0, waiting: false, recovered };
    }
    if (this.killSwitchSeen !== null) {
      this.killSwitchSeen = null;
      this.events.emit("kill_disarmed", {});
    }

    let claimed = 0;
    let waiting = false;
    const exhausted = new Set<string>();
    const capped: string[] = [];
    const roles = Object.keys(config.agents);
    this.rotation = (this.rotation + 1) % Math.max(1, roles.length);
    const order = [...roles.slice(this.rotation), ...roles.slice(0, this.rotation)];
    let progress = true;
    while (progress && !this.stopping && this.running.size < config.maxConcurrentDispatches) {
      progress = false;
      for (const role of order) {
        if (this.running.size >= config.maxConcurrentDispatches || this.stopping) break;
        if (exhausted.has(role) || this.runningOf(role) >= config.agents[role]!.maxConcurrent)
          continue;
        const funded = await this.budget.claimAndReserve(role, {
          leaseMs: config.leaseSeconds * 1000,
          claimedBy: this.options.ledger.workerIdentity,
        });
        if (funded.kind === "empty") {
          exhausted.add(role);
        } else if (funded.kind === "busy") {
          exhausted.add(role);
          waiting = true;
        } else if (funded.kind === "refused") {
          exhausted.add(role);
          capped.push(role);
          await this.reportRefusal(role, funded.taskId, funded.error);
        } else {
          claimed++;
          this.dispatched++;
          progress = true;
          const dispatch = startDispatch(this.context, funded.task, funded.reservation);
          this.running.set(funded.task.id, dispatch);
          void dispatch.done.then(() => {
            this.running.delete(funded.task.id);
            this.idle.touch(this.clock.now());
            this.waker?.poke("slot");
          });
        }
      }
    }
    await this.observeIdle(claimed > 0 || this.running.size > 0 || waiting, null, capped);
    return { claimed, waiting, recovered };
  }

  /**
   * Sleeps until the next poll: the poll interval, cut short by anything a poll could act on.
   * A ledger commit while every slot is taken is not such a thing: nothing could be claimed,
   * and the rest of a poll is watched for itself (the kill switch) or due by time (lease
   * recovery, the price file), so the sleep runs on to the end of the same interval. Most of
   * those commits are our own claims; each used to cost a whole extra poll. Two things that
   * poll did stay: the brake is looked at (`producer kill` writes the file, then audits: its
   * commit is the other way to notice it where the file's folder cannot be watched), and what
   * was written is sealed (an agent's rows are not left open to rewriting until the next poll).
   */
  private async sleep(waker: Waker, intervalMs: number) {
    const until = performance.now() + intervalMs;
    for (;;) {
      const reasons = await waker.wait(Math.max(0, until - performance.now()));
      const full = this.running.size >= this.options.config.maxConcurrentDispatches;
      if (this.stopping || !full || reasons.size !== 1 || !reasons.has("ledger")) return;
      if (await this.killSwitch.refresh()) return;
      await this.seal();
    }
  }

  /** Reports recovered claims; one that used up its retries is escalated like any other. */
  private async recovered(tasks: Task[]) {
    for (const task of tasks) {
      const reason = task.lastError ?? "";
      this.events.emit("recovered", { taskId: task.id, role: task.agentOwner, reason });
      if (task.status === "escalated") {
        await announceEscalation(
          this.context,
          task,
          `its worker died on every attempt (${reason})`,
        );
      }
    }
  }

  private runningOf(role: string): number {
    let n = 0;
    for (const r of this.running.values()) if (r.task.agentOwner === role) n++;
    return n;
  }

  private async reportRefusal(
    role: string,
    taskId: string,
    error: import("../errors.js").BudgetExceeded,
  ) {
    const key = `${utcToday(this.clock)}:${role}`;
    if (this.refusalsReported.has(key)) return;
    this.refusalsReported.add(key);
    this.events.emit("budget_refused", {
      taskId,
      role,
      message: error.message,
      firstToday: error.firstToday,
    });
    if (!error.firstToday) return;
    await this.notifier.notify({
      kind: "cap_hit",
      title: `[CAP HIT] ${role}`,
      message: `${error.message}. Task ${taskId} stays pending; dispatching for ${role} resumes when the budget allows (caps reset at UTC midnight).`,
      priority: 4,
      tags: ["money_with_wings"],
      needsHuman: true,
    });
  }

  private async observeIdle(busy: boolean, killReason: string | null, capped: string[] = []) {
    const change = this.idle.observe(busy, this.clock.now());
    if (!change) return;
    const sequenceId = `${this.options.config.projectName}-idle`.replace(/[^\w-]/g, "-");
    if (change.change === "went_idle") {
      const reason = idleReason({
        killSwitch: killReason,
        queue: await this.options.ledger.queueSummary(),
        cappedRoles: capped,
      });
      const quietForSeconds = Math.round(change.quietForMs / 1000);
      this.events.emit("idle", { reason, quietForSeconds });
      await this.notifier.notify({
        kind: "idle",
        title: "Agents are idle",
        message: `Nothing was dispatched for ${spanInWords(change.quietForMs)}: ${reason}.`,
        priority: 3,
        tags: ["zzz"],
        needsHuman: true,
        sequenceId,
      });
    } else {
      const seconds = Math.round(change.idleForMs / 1000);
      this.events.emit("back_online", { idleForSeconds: seconds });
      await this.notifier.notify({
        kind: "back_online",
        title: "Agents are back at work",
        message: `Dispatching again after ${spanInWords(change.idleForMs)} idle.`,
        priority: 2,
        tags: ["arrow_forward"],
        sequenceId,
      });
    }
  }

  /** Loads the prices once, at start, and flags a table too old to trust. */
  private async checkPrices() {
    try {
      await this.notePriceChange(await this.prices.load());
      const table = this.prices.current();
      if (!isStale(table, this.clock)) return;
      const ageDays = tableAgeDays(table, this.clock);
      this.events.emit("stale_prices", { checked: table.checked, ageDays });
      await this.notifier.notify({
        kind: "stale_prices",
        title: "Model prices may be out of date",
        message: `The price table was last checked on ${table.checked} (${ageDays} days ago). Run \`producer pricing update\` so spend is counted at current rates.`,
        priority: 2,
        tags: ["label"],
        needsHuman: true,
      });
    } catch (error) {
      this.events.emit("loop_error", { message: asError(error).message });
    }
  }

  /**
   * Seals the audit chain with PRODUCER_AUDIT_KEY when one is set, so rewriting it needs the
   * key (agents never see it). Once per poll, only when something was written.
   */
  private async seal() {
    const key = this.context.env[AUDIT_KEY_VARIABLE]?.trim();
    if (!key) return;
    try {
      await this.options.ledger.sealAudit(key);
    } catch (error) {
      this.events.emit("loop_error", {
        message: `could not seal the audit chain: ${asError(error).message}`,
      });
    }
  }

  /** Says what became of a changed price override: applied (a human's update) or refused. */
  private async notePriceChange(change: PriceBookChange | null) {
    if (!change) return;
    if (change.kind === "reloaded") {
      this.events.emit("prices_reloaded", { file: change.file, checked: change.table.checked });
      return;
    }
    this.events.emit("prices_refused", { file: change.file, reason: change.reason });
    await this.notifier.notify({
      kind: "prices_refused",
      title: "Price override not applied",
      message: change.reason,
      priority: 4,
      tags: ["warning"],
      needsHuman: true,
    });
  }

  /**
   * Warns of caps about to be reached, on the poll cadence (the early wakes of a busy loop
   * would read the same forecast again and again). A failure is logged; the loop carries on.
   */
  private async checkForecast() {
    if (performance.now() - this.forecastAt < this.options.config.pollIntervalSeconds * 1000)
      return;
    this.forecastAt = performance.now();
    try {
      await this.forecast.check();
    } catch (error) {
      this.events.emit("loop_error", {
        message: `could not forecast the budget: ${asError(error).message}`,
      });
    }
  }

  private async maybeReport() {
    const { reporter } = this.options;
    if (!reporter) return;
    const now = this.clock.now();
    const day = this.reports.dayToClose(now);
    if (day !== null) await this.closeDay(reporter, day, now);
    if (this.reports.periodicDue(now))
      await this.writeReport(reporter, utcToday(this.clock), false);
  }

  /**
   * Writes the final report of `day`, the UTC day that just ended, once: even if nothing ran
   * that day, but not again when a restart finds it written after the day ended, and not for
   * a day before any Producer ran on this ledger (a new project has no yesterday to report).
   */
  private async closeDay(reporter: ReportWriter, day: string, now: number) {
    if (this.ranSinceMs >= startOfUtcDay(now)) return;
    try {
      if (await reporter.isFinal?.(day)) return;
    } catch (error) {
      this.events.emit("loop_error", {
        message: `reading the report of ${day}: ${asError(error).message}`,
      });
    }
    await this.writeReport(reporter, day, true);
  }

  private async writeReport(reporter: ReportWriter, day: string, final: boolean) {
    try {
      this.events.emit("report_written", { path: await reporter.write(day), day, final });
    } catch (error) {
      this.events.emit("loop_error", {
        message: `the morning report failed: ${asError(error).message}`,
      });
    }
  }

  /** The Claude runtime is only loaded when a role uses it (it pulls in the Agent SDK). */
  private async ensureRuntimes() {
    const runtimes = this.context.runtimes;
    const kinds = new Set(Object.values(this.options.config.agents).map((r) => r.runtime));
    if (kinds.has("exec") && !runtimes.exec) {
      const { ExecRuntime } = await import("../runtimes/exec.js");
      runtimes.exec = new ExecRuntime();
    }
    if (kinds.has("claude") && !runtimes.claude) {
      const { ClaudeAgentInvoker } = await import("../runtimes/claude/invoker.js");
      runtimes.claude = new ClaudeAgentInvoker({
        warn: (message) => this.events.emit("loop_error", { message }),
      });
    }
  }
}

/** The API key of the project's .env (a secret to redact), or undefined when unreadable. */
function projectApiKey(env: NodeJS.ProcessEnv, config: ProducerConfig): string | undefined {
  try {
    return apiKey(env, config.projectRoot) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process on this host still exists (a zombie does not count). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}
