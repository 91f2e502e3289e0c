import { smallestIdAt } from "../clock.js";
import type { Scope } from "./scope.js";

/** Tasks created and finished per time bucket, and how many were open before the window. */
export interface QueueFlow {
  openBefore: number;
  buckets: { bucket: string; created: number; finished: number }[];
}

/**
 * Queue flow for the dashboard's queue-depth chart: tasks created and finished per bucket
 * (`day` = YYYY-MM-DD, `hour` = YYYY-MM-DDTHH, UTC) in [since, until), and how many were
 * open (created, not finished) at `since`. A task requeued after finishing counts by its
 * latest finish only, so depth derived from this is an approximation, never a ledger fact.
 */
export async function queueFlow(
  scope: Scope,
  window: { since: string; until: string; bucket: "day" | "hour" },
): Promise<QueueFlow> {
  const { tx } = scope;
  const params = {
    since: window.since,
    until: window.until,
    len: window.bucket === "day" ? 10 : 13,
    // Ids are ULIDs stamped at filing: the window's new tasks are a range of the primary key
    // (from a minute earlier, in case a clock stepped back between stamping and filing).
    first_id: smallestIdAt(Date.parse(window.since) - 60_000),
  };
  const created = await tx.all<{ bucket: string; n: number }>(
    `SELECT substr(created_at, 1, @len) AS bucket, COUNT(*) AS n FROM tasks
      WHERE id >= @first_id AND created_at >= @since AND created_at < @until GROUP BY bucket`,
    params,
  );
  const finished = await tx.all<{ bucket: string; n: number }>(
    `SELECT substr(finished_at, 1, @len) AS bucket, COUNT(*) AS n FROM tasks
      WHERE finished_at >= @since AND finished_at < @until GROUP BY bucket`,
    params,
  );
  // Open at `since`: still open now (only pending and running tasks have no finish time), or
  // finished since then. Two index ranges instead of a pass over every task.
  const open = await tx.one<{ n: number }>(
    `SELECT (SELECT COUNT(*) FROM tasks
              WHERE status IN ('pending', 'in_progress') AND finished_at IS NULL
                AND created_at < @since)
          + (SELECT COUNT(*) FROM tasks WHERE finished_at >= @since AND created_at < @since)
         AS n`,
    params,
  );
  const byBucket = new Map<string, { bucket: string; created: number; finished: number }>();
  const at = (bucket: string) => {
    const row = byBucket.get(bucket) ?? { bucket, created: 0, finished: 0 };
    byBucket.set(bucket, row);
    return row;
  };
  for (const r of created) at(r.bucket).created = Number(r.n);
  for (const r of finished) at(r.bucket).finished = Number(r.n);
  const buckets = [...byBucket.values()].sort((a, b) => a.bucket.localeCompare(b.bucket));
  return { openBefore: Number(open?.n ?? 0), buckets };
}
