import { nowOf, type Scope } from "./scope.js";

/** One Producer process as its heartbeats left it in the ledger. */
export interface ProducerBeat {
  /** The ledger's worker identity of the process (`host:pid`), as its claims record it. */
  identity: string;
  host: string;
  pid: number;
  /** Started as `run --once`. */
  once: boolean;
  /** Its poll interval: it beats about this often while it runs. */
  pollMs: number;
  startedAt: string;
  lastBeatAt: string;
  /** Set on a clean exit; null while it runs or when it died without one. */
  stoppedAt: string | null;
}

/** What a Producer says about itself when it starts. */
export interface ProducerStart {
  identity: string;
  host: string;
  pid: number;
  once: boolean;
  pollMs: number;
}

interface Row {
  identity: string;
  host: string;
  pid: number;
  once: number;
  poll_ms: number;
  started_at: string;
  last_beat_at: string;
  stopped_at: string | null;
}

function toBeat(r: Row): ProducerBeat {
  return {
    identity: r.identity,
    host: r.host,
    pid: Number(r.pid),
    once: Number(r.once) === 1,
    pollMs: Number(r.poll_ms),
    startedAt: r.started_at,
    lastBeatAt: r.last_beat_at,
    stoppedAt: r.stopped_at,
  };
}

/** How long a row outlives its last beat before a start prunes it. */
const KEEP_MS = 7 * 86_400_000;

/**
 * Records a Producer as running (a row of its own, or the row of an earlier process with the
 * same identity, started afresh), and drops rows that stopped beating a week ago.
 */
export async function producerStarted(scope: Scope, start: ProducerStart): Promise<ProducerBeat> {
  const now = nowOf(scope);
  const row: Row = {
    identity: start.identity,
    host: start.host,
    pid: start.pid,
    once: start.once ? 1 : 0,
    poll_ms: Math.round(start.pollMs),
    started_at: now,
    last_beat_at: now,
    stopped_at: null,
  };
  await scope.tx.run("DELETE FROM producers WHERE last_beat_at < @cutoff", {
    cutoff: new Date(scope.clock.now() - KEEP_MS).toISOString(),
  });
  await scope.tx.run(
    `INSERT INTO producers (identity, host, pid, once, poll_ms, started_at, last_beat_at, stopped_at)
     VALUES (@identity, @host, @pid, @once, @poll_ms, @started_at, @last_beat_at, NULL)
     ON CONFLICT (identity) DO UPDATE SET host = @host, pid = @pid, once = @once,
       poll_ms = @poll_ms, started_at = @started_at, last_beat_at = @last_beat_at, stopped_at = NULL`,
    row,
  );
  return toBeat(row);
}

/** One beat: the Producer is still polling. False when its row is gone (pruned, or never made). */
export async function producerBeat(scope: Scope, identity: string): Promise<boolean> {
  const changed = await scope.tx.run(
    "UPDATE producers SET last_beat_at = @now WHERE identity = @identity",
    { now: nowOf(scope), identity },
  );
  return changed > 0;
}

/** Marks a Producer stopped (a clean exit). */
export async function producerStopped(scope: Scope, identity: string): Promise<void> {
  const now = nowOf(scope);
  await scope.tx.run(
    "UPDATE producers SET last_beat_at = @now, stopped_at = @now WHERE identity = @identity",
    { now, identity },
  );
}

/** Producers that beat at or after `since`, most recently started first. */
export async function listProducers(scope: Scope, since: string): Promise<ProducerBeat[]> {
  const rows = await scope.tx.all<Row>(
    `SELECT identity, host, pid, once, poll_ms, started_at, last_beat_at, stopped_at
       FROM producers WHERE last_beat_at >= @since ORDER BY started_at DESC, identity`,
    { since },
  );
  return rows.map(toBeat);
}
