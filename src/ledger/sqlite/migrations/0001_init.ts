/**
 * 0001 — the initial schema. Shipped migrations are never edited: add 0002_... instead.
 *
 * Timestamps are ISO-8601 UTC text passed in by the application's clock, never SQLite's
 * `now`, so tests can move time.
 */
export const name = "init";

export const sql = `
CREATE TABLE tasks (
  id                    TEXT PRIMARY KEY,
  agent_owner           TEXT NOT NULL,
  title                 TEXT NOT NULL,
  description           TEXT NOT NULL DEFAULT '',
  payload               TEXT NOT NULL DEFAULT '{}',
  priority              INTEGER NOT NULL DEFAULT 5 CHECK (priority BETWEEN 1 AND 9),
  status                TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending','in_progress','done','failed','escalated','killed')),
  attempts              INTEGER NOT NULL DEFAULT 0,
  parent_task_id        TEXT REFERENCES tasks(id),
  depth                 INTEGER NOT NULL DEFAULT 0,
  depends_on            TEXT NOT NULL DEFAULT '[]',
  -- Dependencies not yet done; the claim only looks at rows where this is 0.
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
  finished_at           TEXT
);

-- The claim walks this index in (priority, id) order: id is a ULID, so that is oldest first.
CREATE INDEX tasks_claimable ON tasks (agent_owner, priority, id)
  WHERE status = 'pending' AND open_deps = 0;
CREATE INDEX tasks_by_status ON tasks (status, agent_owner);
CREATE INDEX tasks_by_parent ON tasks (parent_task_id) WHERE parent_task_id IS NOT NULL;
CREATE INDEX tasks_leases ON tasks (lease_expires_at) WHERE status = 'in_progress';
CREATE INDEX tasks_by_finish ON tasks (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX tasks_by_creator ON tasks (created_by, created_at);

CREATE TABLE task_deps (
  task_id    TEXT NOT NULL REFERENCES tasks(id),
  depends_on TEXT NOT NULL REFERENCES tasks(id),
  PRIMARY KEY (task_id, depends_on)
) WITHOUT ROWID;
CREATE INDEX task_deps_by_dependency ON task_deps (depends_on);

CREATE TABLE task_attempts (
  task_id     TEXT NOT NULL REFERENCES tasks(id),
  attempt     INTEGER NOT NULL,
  claim_token TEXT NOT NULL UNIQUE,
  started_at  TEXT NOT NULL,
  finished_at TEXT,
  outcome     TEXT NOT NULL DEFAULT 'running',
  error       TEXT,
  cost_usd    REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (task_id, claim_token)
) WITHOUT ROWID;

CREATE TABLE decisions (
  id            TEXT PRIMARY KEY,
  task_id       TEXT REFERENCES tasks(id),
  agent_owner   TEXT NOT NULL,
  kind          TEXT NOT NULL,
  decision_text TEXT NOT NULL,
  rationale     TEXT NOT NULL DEFAULT '',
  created_at    TEXT NOT NULL
);
CREATE INDEX decisions_by_task ON decisions (task_id);

CREATE TABLE asset_registry (
  id          TEXT PRIMARY KEY,
  task_id     TEXT REFERENCES tasks(id),
  agent_owner TEXT NOT NULL,
  path        TEXT NOT NULL,
  kind        TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  created_at  TEXT NOT NULL
);
CREATE INDEX assets_by_task ON asset_registry (task_id);
CREATE INDEX assets_by_time ON asset_registry (created_at);

-- Spend per role per UTC day. Project totals are the sum over a day's rows.
CREATE TABLE budget (
  day          TEXT NOT NULL,
  role         TEXT NOT NULL,
  spent_usd    REAL NOT NULL DEFAULT 0,
  soft_cap_at  TEXT,
  cap_hit_at   TEXT,
  cap_hit_reason TEXT,
  PRIMARY KEY (day, role)
) WITHOUT ROWID;

-- Money set aside before a dispatch; released or settled when the call ends.
CREATE TABLE budget_reservations (
  id          TEXT PRIMARY KEY,
  day         TEXT NOT NULL,
  role        TEXT NOT NULL,
  task_id     TEXT REFERENCES tasks(id),
  amount_usd  REAL NOT NULL,
  state       TEXT NOT NULL DEFAULT 'held' CHECK (state IN ('held','settled','released')),
  cost_usd    REAL,
  created_at  TEXT NOT NULL,
  closed_at   TEXT
);
CREATE INDEX reservations_held ON budget_reservations (day, role) WHERE state = 'held';

CREATE TABLE audit_log (
  seq         INTEGER PRIMARY KEY,
  ts          TEXT NOT NULL,
  actor       TEXT NOT NULL,
  action      TEXT NOT NULL,
  entity_type TEXT NOT NULL,
  entity_id   TEXT,
  details     TEXT NOT NULL,
  prev_hash   TEXT NOT NULL,
  row_hash    TEXT NOT NULL
);
CREATE INDEX audit_by_entity ON audit_log (entity_type, entity_id, seq);
CREATE INDEX audit_by_time ON audit_log (ts);

CREATE TABLE notifications (
  id             TEXT PRIMARY KEY,
  created_at     TEXT NOT NULL,
  kind           TEXT NOT NULL,
  title          TEXT NOT NULL,
  message        TEXT NOT NULL,
  priority       INTEGER NOT NULL DEFAULT 3,
  tags           TEXT NOT NULL DEFAULT '[]',
  needs_human    INTEGER NOT NULL DEFAULT 0,
  sequence_id    TEXT,
  delivery       TEXT NOT NULL DEFAULT 'not_sent',
  delivery_error TEXT,
  delivered_at   TEXT
);
CREATE INDEX notifications_by_time ON notifications (created_at);
`;
