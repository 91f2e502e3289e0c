/**
 * 0006 — tasks found by the end of their id.
 *
 * Logs show a task's last 8 characters, and a human types those back (`producer task show
 * TYNMXAF2`). The primary key orders ids by their start, so it cannot serve a suffix: this
 * index keys each task by its id's last 4 characters, and a lookup by suffix reads only the
 * tasks that share them (about one in a million random ULIDs) instead of every id. A query
 * uses it only when it writes the expression the same way: `ID_TAIL` in task-queries.ts.
 */
export const name = "task_id_tail";

export const sql = `
CREATE INDEX tasks_by_id_tail ON tasks (substr(id, length(id) - 3));
`;
