import { EventEmitter } from "node:events";
import type { RateBasis } from "../budget/forecast.js";
import type { CallProgress, InvocationErrorKind } from "../runtimes/types.js";

/** The least time between two `progress` events of one call: a log line, not a stream. */
export const PROGRESS_EVERY_MS = 5_000;

/** Everything the Producer reports as it works. Logs, notifications and tests feed on these. */
export interface ProducerEvents {
  started: { pid: number; roles: string[]; once: boolean };
  /** `attempt`: this attempt's number, 1..N over the task's life (requeues do not restart it). */
  claimed: { taskId: string; role: string; title: string; attempt: number; budgetUsd: number };
  succeeded: {
    taskId: string;
    role: string;
    title: string;
    costUsd: number;
    tokens: number;
    durationMs: number;
  };
  failed: {
    taskId: string;
    role: string;
    title: string;
    kind: InvocationErrorKind;
    error: string;
    /** What happens next: a retry, an escalation, or nothing (failed for good). */
    next: "retry" | "escalated" | "failed" | "released";
    costUsd: number;
    durationMs: number;
  };
  /**
   * A running call's progress (Claude calls): turns, tokens and spend so far, and whether it
   * is retrying a failing API; at most one every {@link PROGRESS_EVERY_MS} per call.
   */
  progress: {
    taskId: string;
    role: string;
    turns: number;
    tokens: number;
    costUsd: number;
    elapsedMs: number;
    apiRetry: CallProgress["apiRetry"];
  };
  retry_scheduled: { taskId: string; role: string; attempt: number; inSeconds: number; at: string };
  /** `attempts`: how many times it failed since it was last queued (escalation.ts, failedAttempts). */
  escalated: { taskId: string; role: string; title: string; file: string; attempts: number };
  budget_refused: { taskId: string; role: string; message: string; firstToday: boolean };
  soft_cap: { role: string; spentUsd: number; capUsd: number };
  /**
   * At today's burn rate the role reaches its cap within `budget.forecast_warning_minutes`;
   * once per role per UTC day (see cap-forecast.ts).
   */
  cap_forecast: {
    role: string;
    capUsd: number;
    hitsAt: string;
    minutesLeft: number;
    rateUsdPerHour: number;
    basis: RateBasis;
  };
  budget_exceeded: { role: string; message: string; overshootUsd: number };
  claim_lost: { taskId: string; role: string; why: string };
  recovered: { taskId: string; role: string; reason: string };
  kill_armed: { reason: string; by: string; auto: boolean };
  kill_disarmed: Record<string, never>;
  /** Nothing was dispatchable for `idle_threshold_polls × poll_interval_seconds` or more. */
  idle: { reason: string; quietForSeconds: number };
  back_online: { idleForSeconds: number };
  stale_prices: { checked: string; ageDays: number };
  /** A human's `producer pricing update` was noticed and its prices are in force. */
  prices_reloaded: { file: string; checked: string };
  /** The price override changed (or exists) without a recorded update: not applied. */
  prices_refused: { file: string; reason: string };
  /** A report was written: today's periodic one, or (`final`) the previous UTC day's last. */
  report_written: { path: string; day: string; final: boolean };
  config_changed: { valid: boolean; message: string };
  stopping: { inFlight: number; abort: boolean };
  stopped: { dispatched: number };
  /** Something went wrong in the loop itself (the loop carries on). */
  loop_error: { message: string };
}

/** The names of every event. */
export type ProducerEventName = keyof ProducerEvents;

/** A typed EventEmitter of {@link ProducerEvents}. */
export class ProducerEventEmitter {
  private readonly emitter = new EventEmitter();

  on<K extends ProducerEventName>(name: K, listener: (event: ProducerEvents[K]) => void): this {
    this.emitter.on(name, listener);
    return this;
  }

  /** Listens to every event: (name, payload). */
  onAny(listener: <K extends ProducerEventName>(name: K, event: ProducerEvents[K]) => void): this {
    this.anyListeners.push(listener as (name: ProducerEventName, event: unknown) => void);
    return this;
  }

  emit<K extends ProducerEventName>(name: K, event: ProducerEvents[K]): void {
    for (const listener of this.anyListeners) listener(name, event);
    this.emitter.emit(name, event);
  }

  private readonly anyListeners: ((name: ProducerEventName, event: unknown) => void)[] = [];
}
