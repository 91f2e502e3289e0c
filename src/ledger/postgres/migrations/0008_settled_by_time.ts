/** 0008 — a day's settled calls by when they were charged: SQLite's 0008 (see there). */
export const name = "settled_by_time";

export const sql = `
CREATE INDEX reservations_settled ON budget_reservations (day, closed_at, role, cost_usd) WHERE state = 'settled';
`;
