import type { QueueSummaryRow } from "../ledger/task-queries.js";

/** How an idle spell starts or ends, as {@link IdleTracker.observe} reports it. */
export type IdleChange =
  | { change: "went_idle"; quietForMs: number }
  | { change: "back_online"; idleForMs: number };

/**
 * Says when the Producer goes idle and when it comes back. Idleness is a span of time on the
 * injected clock, not a number of polls: the loop wakes early on every ledger commit, so while
 * another process wrote, "12 polls of 10 s" shrank to a few seconds and the notices flapped.
 * Idle once `thresholdMs` has passed since the Producer last had anything to do (a claim, a
 * call running, work waiting on money held by calls in flight); one `went_idle` per spell and
 * one `back_online` when there is something to do again. An empty poll, however early it
 * woke, only compares the time: it cannot start a spell before the threshold, nor end one.
 */
export class IdleTracker {
  private lastBusyMs: number;
  private idleSinceMs: number | null = null;

  constructor(
    /** `idle_threshold_polls × poll_interval_seconds`, in ms. */
    readonly thresholdMs: number,
    startMs: number,
  ) {
    this.lastBusyMs = startMs;
  }

  /** True while the Producer is considered idle. */
  get idle(): boolean {
    return this.idleSinceMs !== null;
  }

  /**
   * Starts the quiet period afresh (a new `run()`): time between two runs of the loop is not
   * time the loop sat idle. A spell already under way stays, so its back-online still comes.
   */
  restart(nowMs: number): void {
    if (this.idleSinceMs === null) this.lastBusyMs = nowMs;
  }

  /**
   * Notes activity between polls (a call ended): the quiet time is measured from it, not from
   * the poll before, which may be a whole poll interval earlier.
   */
  touch(nowMs: number): void {
    if (this.idleSinceMs === null) this.lastBusyMs = Math.max(this.lastBusyMs, nowMs);
  }

  /**
   * Records one poll: whether it found anything to do, at `nowMs`. Returns the change it
   * makes, if any.
   */
  observe(busy: boolean, nowMs: number): IdleChange | null {
    if (busy) {
      this.lastBusyMs = nowMs;
      if (this.idleSinceMs === null) return null;
      const idleForMs = Math.max(0, nowMs - this.idleSinceMs);
      this.idleSinceMs = null;
      return { change: "back_online", idleForMs };
    }
    if (this.idleSinceMs !== null) return null;
    const quietForMs = nowMs - this.lastBusyMs;
    if (quietForMs < this.thresholdMs) return null;
    // The spell began when the work ran out, not when this poll noticed.
    this.idleSinceMs = this.lastBusyMs;
    return { change: "went_idle", quietForMs };
  }
}

/** A span of time in words a notice can carry: "45 s", "2 min", "1 h 5 min". */
export function spanInWords(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

/** Why nothing could be dispatched, in words a human can act on. */
export function idleReason(facts: {
  killSwitch: string | null;
  queue: QueueSummaryRow[];
  cappedRoles: string[];
}): string {
  if (facts.killSwitch)
    return `the kill switch is armed (${facts.killSwitch}); run \`producer resume\` to continue`;
  const sum = (pick: (r: QueueSummaryRow) => number) =>
    facts.queue.reduce((n, r) => n + pick(r), 0);
  const ready = facts.queue.filter((r) => r.ready > 0).map((r) => r.role);
  if (ready.length > 0 && ready.every((role) => facts.cappedRoles.includes(role))) {
    return `every role with work is at its budget cap today (${ready.join(", ")}); caps reset at UTC midnight, or raise daily_cap_usd / project_ceiling_usd`;
  }
  const waiting = sum((r) => r.waitingOnDependencies);
  const delayed = sum((r) => r.delayed);
  if (waiting + delayed === 0) {
    return "the queue is empty: no agent filed follow-up work (check that each role's prompt files its downstream tasks), or add tasks with `producer task add`";
  }
  const parts: string[] = [];
  if (waiting > 0) parts.push(`${waiting} waiting on dependencies that are not done`);
  if (delayed > 0) parts.push(`${delayed} waiting for a retry backoff`);
  return `nothing is ready to run: ${parts.join(", ")}; check escalated or failed tasks they depend on with \`producer status\``;
}
