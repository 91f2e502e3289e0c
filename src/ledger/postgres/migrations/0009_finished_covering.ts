/** 0009 — a day's finished tasks, read from the index alone: SQLite's 0009 (see there). */
export const name = "finished_covering";

export const sql = `
DROP INDEX tasks_by_finish;
CREATE INDEX tasks_by_finish ON tasks (finished_at, status, agent_owner, cost_usd) WHERE finished_at IS NOT NULL;
`;
