/**
 * 0006 — tasks found by the end of their id: the same index as SQLite's 0006 (see there),
 * written the same way, so one query serves both backends.
 */
export const name = "task_id_tail";

export const sql = `
CREATE INDEX tasks_by_id_tail ON tasks (substr(id, length(id) - 3));
`;
