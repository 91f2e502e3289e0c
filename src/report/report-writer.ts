/** Writes the morning report; the Producer calls it every `report_interval_hours`. */
export interface ReportWriter {
  /** Writes the report for a UTC day (default today) and resolves to its path. */
  write(day?: string): Promise<string>;
  /**
   * Whether the report of `day` on file is its final one: written after the day ended. The
   * Producer then leaves it be on a restart; without this method it writes the previous day's
   * final report each time it starts on a new day.
   */
  isFinal?(day: string): Promise<boolean>;
}
