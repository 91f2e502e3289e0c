/** Writes the morning report; the Producer calls it every `report_interval_hours`. */
export interface ReportWriter {
  /** Writes the report for a UTC day (default today) and resolves to its path. */
  write(day?: string): Promise<string>;
}
