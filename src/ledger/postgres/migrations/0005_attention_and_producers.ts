/**
 * 0005 on PostgreSQL: attention items and Producer heartbeats, as SQLite's 0005 (see its
 * note in ../../sqlite/migrations): the same columns, tables and indexes.
 */
export const name = "attention_and_producers";

export const sql = `
ALTER TABLE notifications ADD COLUMN resolved_at TEXT;
ALTER TABLE notifications ADD COLUMN resolved_by TEXT;
ALTER TABLE notifications ADD COLUMN resolution_note TEXT;
CREATE INDEX attention_open ON notifications (id) WHERE needs_human = 1 AND resolved_at IS NULL;
CREATE INDEX attention_items ON notifications (id) WHERE needs_human = 1;

CREATE TABLE producers (
  identity      TEXT PRIMARY KEY,
  host          TEXT NOT NULL,
  pid           INTEGER NOT NULL,
  once          INTEGER NOT NULL DEFAULT 0,
  poll_ms       INTEGER NOT NULL,
  started_at    TEXT NOT NULL,
  last_beat_at  TEXT NOT NULL,
  stopped_at    TEXT
);
CREATE INDEX producers_by_beat ON producers (last_beat_at);
`;
