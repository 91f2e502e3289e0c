import type postgres from "postgres";
import type { Clock } from "../../clock.js";

type Sql = postgres.Sql<Record<string, never>>;

/** How often the offset to the server's clock is measured again. */
const RESYNC_MS = 30_000;

/**
 * The database server's clock, read through this host's: the host clock plus the offset
 * measured against the server (the sample with the shortest round trip of a few). Every host
 * of a shared ledger stamps leases, budget days and recoveries in the same time, so a host
 * whose clock runs ahead cannot expire a live lease early or book spend on another day.
 * Error: half the round trip, plus what the host clock drifts between two measurements.
 */
export class DatabaseClock implements Clock {
  private offsetMs = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly sql: Sql,
    private readonly host: Clock,
  ) {}

  now(): number {
    return Math.round(this.host.now() + this.offsetMs);
  }

  /** The current offset (server minus host), in milliseconds. */
  get offset(): number {
    return this.offsetMs;
  }

  /** Measures the offset now, then again every half minute until `stop`. */
  async start(): Promise<void> {
    await this.measure();
    this.timer = setInterval(() => void this.measure().catch(() => {}), RESYNC_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async measure(): Promise<void> {
    let best: { rtt: number; offset: number } | null = null;
    for (let i = 0; i < 3; i++) {
      const sent = this.host.now();
      const [row] = await this.sql.unsafe(
        "SELECT CAST(extract(epoch FROM clock_timestamp()) * 1000 AS DOUBLE PRECISION) AS ms",
      );
      const received = this.host.now();
      const rtt = received - sent;
      const offset = Number(row?.ms) - (sent + received) / 2;
      if (!best || rtt < best.rtt) best = { rtt, offset };
    }
    if (best) this.offsetMs = best.offset;
  }
}
