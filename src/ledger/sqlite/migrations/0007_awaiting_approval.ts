/**
 * 0007 — a task may wait for a human's sign-off: status `awaiting_approval`.
 *
 * The status CHECK of 0001 lists every status, and SQLite cannot alter a CHECK, so the table
 * is rebuilt: a new table with the wider CHECK, every row copied with its rowid (the status
 * index ends in the rowid, which orders a role's ready tasks by filing), the old table
 * dropped and the new one renamed. What dropping the old table took with it is recreated as
 * 0001-0006 left it: the status, parent, finish and id-tail indexes and the trigger that
 * opens the way for dependents. The columns 0003 and 0004 added at the end keep their place.
 *
 * Other tables' foreign keys name `tasks`, so they point at the new table once it has the
 * name. The runner turns foreign key enforcement off for a migration (a drop would otherwise
 * delete through them) and checks every key before it commits.
 */
export const name = "awaiting_approval";

export const sql = `
CREATE TABLE tasks_v7 (
  id                    TEXT PRIMARY KEY,
  agent_owner           TEXT NOT NULL,
  title                 TEXT NOT NULL,
  description           TEXT NOT NULL DEFAULT '',
  payload               TEXT NOT NULL DEFAULT '{}',
  priority              INTEGER NOT NULL DEFAULT 5 CHECK (priority BETWEEN 1 AND 9),
  status                TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('awaiting_approval','pending','in_progress','done','failed','escalated','killed')),
  attempts              INTEGER NOT NULL DEFAULT 0,
  parent_task_id        TEXT REFERENCES tasks(id),
  depth                 INTEGER NOT NULL DEFAULT 0,
  depends_on            TEXT NOT NULL DEFAULT '[]',
  open_deps             INTEGER NOT NULL DEFAULT 0,
  not_before            TEXT,
  claim_token           TEXT,
  claimed_by            TEXT,
  lease_expires_at      TEXT,
  cost_usd              REAL NOT NULL DEFAULT 0,
  actual_cost_usd       REAL,
  input_tokens          INTEGER NOT NULL DEFAULT 0,
  output_tokens         INTEGER NOT NULL DEFAULT 0,
  cache_creation_tokens INTEGER NOT NULL DEFAULT 0,
  cache_read_tokens     INTEGER NOT NULL DEFAULT 0,
  model                 TEXT,
  result                TEXT,
  last_error            TEXT,
  created_by            TEXT NOT NULL,
  created_at            TEXT NOT NULL,
  updated_at            TEXT NOT NULL,
  started_at            TEXT,
  finished_at           TEXT,
  audit_seqs            TEXT NOT NULL DEFAULT '',
  attempt_log           TEXT NOT NULL DEFAULT ''
);
INSERT INTO tasks_v7 (rowid, id, agent_owner, title, description, payload, priority, status,
    attempts, parent_task_id, depth, depends_on, open_deps, not_before, claim_token, claimed_by,
    lease_expires_at, cost_usd, actual_cost_usd, input_tokens, output_tokens,
    cache_creation_tokens, cache_read_tokens, model, result, last_error, created_by, created_at,
    updated_at, started_at, finished_at, audit_seqs, attempt_log)
  SELECT rowid, id, agent_owner, title, description, payload, priority, status,
    attempts, parent_task_id, depth, depends_on, open_deps, not_before, claim_token, claimed_by,
    lease_expires_at, cost_usd, actual_cost_usd, input_tokens, output_tokens,
    cache_creation_tokens, cache_read_tokens, model, result, last_error, created_by, created_at,
    updated_at, started_at, finished_at, audit_seqs, attempt_log
    FROM tasks ORDER BY rowid;
DROP TABLE tasks;
ALTER TABLE tasks_v7 RENAME TO tasks;

CREATE INDEX tasks_by_status ON tasks (status, agent_owner, open_deps, priority);
CREATE INDEX tasks_by_parent ON tasks (parent_task_id) WHERE parent_task_id IS NOT NULL;
CREATE INDEX tasks_by_finish ON tasks (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX tasks_by_id_tail ON tasks (substr(id, length(id) - 3));
CREATE TRIGGER done_releases_dependents AFTER UPDATE OF status ON tasks
  WHEN NEW.status = 'done' AND OLD.status <> 'done'
   AND EXISTS (SELECT 1 FROM task_deps WHERE depends_on = NEW.id)
BEGIN
  UPDATE tasks SET open_deps = open_deps - 1
   WHERE id IN (SELECT task_id FROM task_deps WHERE depends_on = NEW.id);
END;
`;
