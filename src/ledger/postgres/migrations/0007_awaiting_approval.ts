/**
 * 0007 — status `awaiting_approval`, as SQLite's 0007 (see there). PostgreSQL can change a
 * CHECK in place: 0001's column constraint got the default name `tasks_status_check`.
 */
export const name = "awaiting_approval";

export const sql = `
ALTER TABLE tasks DROP CONSTRAINT tasks_status_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_status_check
  CHECK (status IN ('awaiting_approval','pending','in_progress','done','failed','escalated','killed'));
`;
