/**
 * 0008 — a day's settled calls by when they were charged.
 *
 * The burn-rate forecast asks what each role was charged in the last hour. A reservation's
 * `closed_at` is when its call settled; without this index that question reads every
 * reservation ever made. Partial, like `reservations_held`: only settled rows carry a cost.
 */
export const name = "settled_by_time";

export const sql = `
CREATE INDEX reservations_settled ON budget_reservations (day, closed_at, role, cost_usd) WHERE state = 'settled';
`;
