/**
 * 0003 — fewer pages per write. Every index a transaction touches adds a 4 KiB page to its
 * commit, so the write path keeps only the indexes some read needs:
 *
 * - `tasks_leases` goes: expired leases are found through `tasks_by_status` (few rows are in
 *   progress at any time).
 * - `tasks_by_creator` goes: the hourly filing limit counts the last hour's tasks through the
 *   primary key, whose ULIDs begin with their creation time.
 * - `audit_by_action` covers only the rare actions reports and lookups ask for; the actions
 *   every task writes (listed in `FREQUENT_AUDIT_ACTIONS`) stay out of it. A query uses it only
 *   when it repeats the index's `WHERE` term word for word.
 * - An attempt row is written once, when its claim ends; the running attempt is the task row
 *   itself. Its claim token is no longer UNIQUE (the key holds it already).
 * - An audit row keeps its hash as 32 bytes and no copy of the previous row's hash: the chain
 *   is the row before it. A stored hash that is not 64 hex characters is kept as its bytes, so
 *   verify still reports it.
 */
export const name = "lean_writes";

export const sql = `
DROP INDEX tasks_leases;
DROP INDEX tasks_by_creator;

CREATE TABLE task_attempts_v3 (
  task_id     TEXT NOT NULL REFERENCES tasks(id),
  claim_token TEXT NOT NULL,
  attempt     INTEGER NOT NULL,
  started_at  TEXT NOT NULL,
  finished_at TEXT,
  outcome     TEXT NOT NULL,
  error       TEXT,
  cost_usd    REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (task_id, claim_token)
) WITHOUT ROWID;
INSERT INTO task_attempts_v3
  SELECT a.task_id, a.claim_token, a.attempt, a.started_at, a.finished_at, a.outcome, a.error,
         a.cost_usd
    FROM task_attempts a
   WHERE NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = a.task_id
                       AND t.status = 'in_progress' AND t.claim_token = a.claim_token);
DROP TABLE task_attempts;
ALTER TABLE task_attempts_v3 RENAME TO task_attempts;

CREATE TABLE audit_log_v3 (
  seq         INTEGER PRIMARY KEY,
  ts          TEXT NOT NULL,
  actor       TEXT NOT NULL,
  action      TEXT NOT NULL,
  entity_type TEXT NOT NULL,
  entity_id   TEXT,
  details     TEXT NOT NULL,
  row_hash    BLOB NOT NULL
);
INSERT INTO audit_log_v3
  SELECT seq, ts, actor, action, entity_type, entity_id, details,
         CASE WHEN length(row_hash) = 64 AND unhex(row_hash) IS NOT NULL THEN unhex(row_hash)
              ELSE CAST(row_hash AS BLOB) END
    FROM audit_log ORDER BY seq;
DROP TABLE audit_log;
ALTER TABLE audit_log_v3 RENAME TO audit_log;
CREATE INDEX audit_by_entity ON audit_log (entity_type, entity_id, seq);
CREATE INDEX audit_by_action ON audit_log (action, ts)
  WHERE action NOT IN ('task.created', 'task.claimed', 'task.done', 'task.retry', 'task.failed',
                       'task.escalated', 'task.released', 'budget.held', 'budget.settled');
`;
