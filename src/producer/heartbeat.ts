import type { Clock } from "../clock.js";
import { asError } from "../errors.js";
import type { Ledger } from "../ledger/ledger.js";
import type { ProducerBeat } from "../ledger/producers.js";

/** What a Producer's heartbeat row says about it now. */
export type ProducerLiveness = "running" | "stale" | "stopped";

/** The shortest silence taken for a dead Producer: a poll can itself take a moment. */
const MIN_STALE_MS = 2_000;

/**
 * How long a Producer may go without a beat before it is called stale: three of its own poll
 * intervals (it beats about once per poll), never less than {@link MIN_STALE_MS}.
 */
export function staleAfterMs(pollMs: number): number {
  return Math.max(3 * pollMs, MIN_STALE_MS);
}

/** Running, stale (no beat for a while and no clean exit: killed, hung, host down), or stopped. */
export function livenessOf(beat: ProducerBeat, nowMs: number): ProducerLiveness {
  if (beat.stoppedAt !== null) return "stopped";
  return nowMs - Date.parse(beat.lastBeatAt) > staleAfterMs(beat.pollMs) ? "stale" : "running";
}

/** A Producer's heartbeat row with its {@link livenessOf} at one instant: what status shows. */
export interface ProducerLine extends ProducerBeat {
  state: ProducerLiveness;
}

/** The Producers the ledger knows of (those that beat in the last day), with their state. */
export async function producerLines(
  ledger: Pick<Ledger, "listProducers">,
  nowMs: number,
): Promise<ProducerLine[]> {
  const beats = await ledger.listProducers();
  return beats.map((beat) => ({ ...beat, state: livenessOf(beat, nowMs) }));
}

/**
 * Keeps this Producer's row in the ledger: written at start, refreshed at most once per poll
 * interval (one small write), marked stopped on a clean exit. A failed write is reported and
 * never stops the loop: the heartbeat is for humans looking, not for the work.
 */
export class ProducerHeartbeat {
  private lastBeatMs = Number.NEGATIVE_INFINITY;
  private once = false;

  constructor(
    private readonly ledger: Pick<Ledger, "producerStarted" | "producerBeat" | "producerStopped">,
    private readonly clock: Clock,
    private readonly pollMs: number,
    private readonly warn: (message: string) => void,
  ) {}

  async start(once: boolean): Promise<void> {
    this.once = once;
    this.lastBeatMs = this.clock.now();
    await this.guarded("record this Producer as running", async () => {
      await this.ledger.producerStarted({ once, pollMs: this.pollMs });
    });
  }

  /** Beats when a poll interval has passed since the last beat. */
  async beat(): Promise<void> {
    const now = this.clock.now();
    if (now - this.lastBeatMs < this.pollMs) return;
    this.lastBeatMs = now;
    await this.guarded("record a heartbeat", async () => {
      // A row pruned or lost (a ledger restored from a backup) is written afresh.
      if (!(await this.ledger.producerBeat())) {
        await this.ledger.producerStarted({ once: this.once, pollMs: this.pollMs });
      }
    });
  }

  async stop(): Promise<void> {
    await this.guarded("record this Producer as stopped", () => this.ledger.producerStopped());
  }

  private async guarded(what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.warn(`could not ${what}: ${asError(error).message}`);
    }
  }
}
