/** The UTC day, `YYYY-MM-DD`, of an instant. */
function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Midnight UTC at the start of the day `ms` falls in. */
export function startOfUtcDay(ms: number): number {
  return Date.parse(`${dayOf(ms)}T00:00:00.000Z`);
}

/**
 * When a running Producer writes reports: today's every `report_interval_hours`, and once the
 * UTC date has changed, the previous day's final report. A timer alone misses the end of each
 * day (a report at 18:00 says nothing of the evening), so the day's close is its own due date.
 */
export class ReportSchedule {
  private lastPeriodicMs: number;
  private closedDay: string | null = null;

  constructor(
    private readonly intervalMs: number,
    startMs: number,
  ) {
    this.lastPeriodicMs = startMs;
  }

  /** True once per interval: today's report is due. */
  periodicDue(nowMs: number): boolean {
    if (nowMs - this.lastPeriodicMs < this.intervalMs) return false;
    this.lastPeriodicMs = nowMs;
    return true;
  }

  /**
   * The day before today, the first time it is asked on a new UTC day; null after that. The
   * caller decides whether that day still needs its final report (a restart finds it written).
   */
  dayToClose(nowMs: number): string | null {
    const yesterday = dayOf(startOfUtcDay(nowMs) - 1);
    if (this.closedDay === yesterday) return null;
    this.closedDay = yesterday;
    return yesterday;
  }
}
