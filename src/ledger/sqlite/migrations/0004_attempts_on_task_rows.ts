/**
 * 0004 — fewer b-trees and no temporary b-tree on the write path.
 *
 * A task's ended attempts move onto its own row (`attempt_log`, one JSON object per line),
 * which every claim end rewrites anyway: a separate `task_attempts` table cost one more
 * statement and one more page in every completion's commit, and only `task show` reads it.
 *
 * SQLite tests `x NOT IN (a, b, c, ...)` by building a temporary index of the list each time
 * a statement runs, and every insert into `audit_log` tested the `audit_by_action` index's
 * condition that way (as did the trigger below, for `IN (SELECT ...)`, on every claim and
 * completion). Written as a chain of `<>`, the same condition costs a few comparisons; the
 * trigger now does its work only for a task that others wait on. A task's row lists its audit
 * rows as before (`audit_seqs`), written by the task's own statement rather than by a trigger
 * that rewrote the row once more for each audit row.
 *
 * A query uses the index only when it repeats its `WHERE` word for word: `RARE_ACTION_TERM`
 * in audit/chain.ts is that text, and the plan test checks the two agree.
 */
export const name = "attempts_on_task_rows";

export const sql = `
ALTER TABLE tasks ADD COLUMN attempt_log TEXT NOT NULL DEFAULT '';
UPDATE tasks SET attempt_log = (
    SELECT group_concat(
             json_object('attempt', attempt, 'started_at', started_at,
                         'finished_at', finished_at, 'outcome', outcome, 'error', error,
                         'cost_usd', cost_usd) || char(10),
             '' ORDER BY started_at, attempt)
      FROM task_attempts WHERE task_id = tasks.id)
 WHERE id IN (SELECT task_id FROM task_attempts);
DROP TABLE task_attempts;

DROP INDEX audit_by_action;
CREATE INDEX audit_by_action ON audit_log (action, ts)
  WHERE action <> 'task.created' AND action <> 'task.claimed' AND action <> 'task.done' AND action <> 'task.retry' AND action <> 'task.failed' AND action <> 'task.escalated' AND action <> 'task.released' AND action <> 'budget.held' AND action <> 'budget.settled';

-- A task's write lists its coming audit row in audit_seqs itself (it knows the seq: one
-- writer at a time), so the trigger that rewrote the row once more per audit row goes.
DROP TRIGGER audit_lists_task_rows;

DROP TRIGGER done_releases_dependents;
CREATE TRIGGER done_releases_dependents AFTER UPDATE OF status ON tasks
  WHEN NEW.status = 'done' AND OLD.status <> 'done'
   AND EXISTS (SELECT 1 FROM task_deps WHERE depends_on = NEW.id)
BEGIN
  UPDATE tasks SET open_deps = open_deps - 1
   WHERE id IN (SELECT task_id FROM task_deps WHERE depends_on = NEW.id);
END;
`;
