/**
 * 0005 — attention items and Producer heartbeats.
 *
 * A notification that needs a human is an attention item: open until someone resolves it
 * (`producer attention resolve`, the page's "mark as read", or a back-online notice for its
 * idle notice). needs-attention.md is rendered from the open ones. Two partial indexes keep
 * the lists off the notifications nobody has to act on: the open items (few, read on every
 * status and page refresh) and every item ever (for `--all` and id lookups).
 *
 * `producers` holds one row per running (or recently stopped) Producer process, keyed by the
 * ledger's worker identity (`host:pid`), so `producer status` can tell whether one runs. A beat
 * rewrites one small row; `last_beat_at` is indexed for the window status shows and for
 * pruning old rows.
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
