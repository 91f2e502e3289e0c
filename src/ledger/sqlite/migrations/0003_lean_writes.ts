/**
 * 0003 — fewer pages per write. Every index a transaction touches adds a 4 KiB page to its
 * commit, so the write path keeps only the indexes some read needs:
 *
 * - One index over status serves the counts, the claim and the leases: `tasks_by_status` on
 *   (status, agent_owner, open_deps, priority), its entries ending in the rowid, so the claim
 *   walks one role's ready tasks by priority and then filing order without sorting.
 *   `tasks_claimable` (a second entry per pending task) and `tasks_leases` go; expired leases
 *   are found through the in-progress entries, few at any time.
 * - `tasks_by_creator` goes: the hourly filing limit counts the last hour's tasks through the
 *   primary key, whose ULIDs begin with their creation time.
 * - `audit_by_action` covers only the rare actions reports and lookups ask for; the actions
 *   every task writes (listed in `FREQUENT_AUDIT_ACTIONS`) stay out of it. A query uses it only
 *   when it repeats the index's `WHERE` term word for word.
 * - An attempt row is written once, when its claim ends; the running attempt is the task row
 *   itself. Its claim token is no longer UNIQUE (the key holds it already).
 * - A task's audit rows are listed by the seqs its row keeps (`audit_seqs`, "1,4,9,"), so
 *   `audit_by_entity` covers only the other entities (decisions, assets, roles' budgets).
 *   Two triggers do per-write bookkeeping inside the database: appending to `audit_seqs`,
 *   and counting down `open_deps` of the tasks waiting on one that is done.
 * - An audit row keeps its hash as 32 bytes and no copy of the previous row's hash: the chain
 *   is the row before it. A stored hash that is not 64 hex characters is kept as its bytes, so
 *   verify still reports it.
 */
export const name = "lean_writes";

export const sql = `
DROP INDEX tasks_claimable;
DROP INDEX tasks_leases;
DROP INDEX tasks_by_creator;
DROP INDEX tasks_by_status;
CREATE INDEX tasks_by_status ON tasks (status, agent_owner, open_deps, priority);

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

-- A task's audit history is listed by the seqs its row keeps: the row is written by every
-- change anyway, where an index entry per audit row would cost a page per commit.
ALTER TABLE tasks ADD COLUMN audit_seqs TEXT NOT NULL DEFAULT '';
UPDATE tasks SET audit_seqs = COALESCE(
  (SELECT group_concat(seq || ',', '' ORDER BY seq) FROM audit_log
    WHERE entity_type = 'task' AND entity_id = tasks.id), '');

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
CREATE INDEX audit_by_entity ON audit_log (entity_id, seq) WHERE entity_type <> 'task';

-- Kept by the database, not by a statement from the application per write: the row of a
-- task lists its audit rows, and a task done opens the way for the tasks waiting on it.
CREATE TRIGGER audit_lists_task_rows AFTER INSERT ON audit_log
  WHEN NEW.entity_type = 'task' AND NEW.entity_id IS NOT NULL
BEGIN
  UPDATE tasks SET audit_seqs = audit_seqs || NEW.seq || ',' WHERE id = NEW.entity_id;
END;
CREATE TRIGGER done_releases_dependents AFTER UPDATE OF status ON tasks
  WHEN NEW.status = 'done' AND OLD.status <> 'done'
BEGIN
  UPDATE tasks SET open_deps = open_deps - 1
   WHERE id IN (SELECT task_id FROM task_deps WHERE depends_on = NEW.id);
END;
CREATE INDEX audit_by_action ON audit_log (action, ts)
  WHERE action NOT IN ('task.created', 'task.claimed', 'task.done', 'task.retry', 'task.failed',
                       'task.escalated', 'task.released', 'budget.held', 'budget.settled');
`;
