/**
 * 0002 — reports look audit rows up by action and time (kill switch, recoveries, guardrail
 * refusals of one day). An index on (action, ts) finds them directly; the index on ts alone,
 * which reports were scanning a whole day of rows through, goes.
 */
export const name = "audit_by_action";

export const sql = `
DROP INDEX IF EXISTS audit_by_time;
CREATE INDEX audit_by_action ON audit_log (action, ts);
`;
