import type { QueueSummaryRow } from "../ledger/task-queries.js";

/** Counts consecutive polls with nothing to do, and says when idleness starts and ends. */
export class IdleTracker {
  private emptyPolls = 0;
  private idleSinceMs: number | null = null;

  constructor(private readonly threshold: number) {}

  /** True while the Producer is considered idle. */
  get idle(): boolean {
    return this.idleSinceMs !== null;
  }

  get polls(): number {
    return this.emptyPolls;
  }

  /**
   * Records one poll. Returns `went_idle` on the poll that reaches the threshold,
   * `back_online` on the first busy poll after idleness, else null.
   */
  observe(
    busy: boolean,
    nowMs: number,
  ): { change: "went_idle" } | { change: "back_online"; idleForMs: number } | null {
    if (busy) {
      this.emptyPolls = 0;
      if (this.idleSinceMs === null) return null;
      const idleForMs = nowMs - this.idleSinceMs;
      this.idleSinceMs = null;
      return { change: "back_online", idleForMs };
    }
    this.emptyPolls++;
    if (this.emptyPolls === this.threshold && this.idleSinceMs === null) {
      this.idleSinceMs = nowMs;
      return { change: "went_idle" };
    }
    return null;
  }
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
