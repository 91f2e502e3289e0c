import type { Dialect } from "../storage.js";

/** The parts of the ledger's SQL that PostgreSQL writes differently from SQLite. */
export const postgresDialect: Dialect = {
  name: "postgres",
  // JSON lives in text columns on both backends: the same bytes are hashed and compared.
  jsonText: (column, key) => `(${column}::json ->> '${key}')`,
  countIf: (condition) => `COUNT(CASE WHEN ${condition} THEN 1 END)`,
  insertIgnore: (table, columns) =>
    `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")}) ON CONFLICT DO NOTHING`,
  // LIMIT NULL is no limit; the ledger passes -1 for that.
  limit: (parameter) =>
    `LIMIT CASE WHEN CAST(@${parameter} AS BIGINT) < 0 THEN NULL ELSE CAST(@${parameter} AS BIGINT) END`,
  unindexed: (column) => column,
  // A real column here (an identity), named as SQLite's implicit one so queries read the same.
  filingOrder: "rowid",
  lockPicked: "FOR UPDATE SKIP LOCKED",
  endedAttempt: `attempt_log = attempt_log || CASE
      WHEN status = 'in_progress' AND claim_token IS NOT NULL THEN
        json_build_object('attempt', length(attempt_log) - length(replace(attempt_log, chr(10), '')) + 1,
                          'started_at', COALESCE(started_at, CAST(@now AS TEXT)),
                          'finished_at', CAST(@now AS TEXT), 'outcome', CAST(@attempt_outcome AS TEXT),
                          'error', CAST(@attempt_error AS TEXT),
                          'cost_usd', CAST(@attempt_cost AS DOUBLE PRECISION))::text || chr(10)
      ELSE '' END`,
  // Typed columns: no value here can be bytes where text belongs, so no '!' case.
  jsonArray: (columns) =>
    `'[' || ${columns.map((c) => `COALESCE(to_json(${c})::text, 'null')`).join(" || ',' || ")} || ']'`,
  hex: (column) => `encode(${column}, 'hex')`,
  stringAgg: (expression, separator, order) =>
    `string_agg(${expression}, ${separator} ORDER BY ${order})`,
  utf8: (text) => `convert_to(${text}, 'UTF8')`,
  jsonAgg: (expression, order) => `COALESCE(json_agg(${expression} ORDER BY ${order})::text, '[]')`,
};
