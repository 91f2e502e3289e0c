import { LedgerError, LedgerNotFound, LedgerTransitionRefused } from "../errors.js";
import { appendAudit } from "./audit/chain.js";
import { type Actor, nowOf, type Scope } from "./scope.js";
import { requireText } from "./validate.js";

/**
 * A notification that needs a human: open until someone resolves it. The ledger is where
 * its state lives; needs-attention.md and the page only show the open ones.
 */
export interface AttentionItem {
  id: string;
  createdAt: string;
  kind: string;
  title: string;
  message: string;
  sequenceId: string | null;
  /** Null while open. */
  resolvedAt: string | null;
  resolvedBy: string | null;
  resolutionNote: string | null;
}

/** Open items at a glance: how many, and the newest. */
export interface AttentionOverview {
  open: number;
  newest: AttentionItem | null;
}

/**
 * Which items to resolve: by id (the full id or a unique suffix of at least 4 characters,
 * any case), every open one, or the open ones of a notice sequence (an idle spell).
 */
export type AttentionSelector =
  | { ids: readonly string[] }
  | { all: true }
  | { sequenceId: string; kind?: string };

/** How a resolution is recorded. */
export interface AttentionResolution {
  actor: Actor;
  /** Why, kept on the item and in the audit log. */
  note?: string | null;
  /**
   * An id naming an item already resolved: refused (default, the CLI), or skipped (the page,
   * whose list may be older than a back-online notice that resolved one of its items).
   */
  alreadyResolved?: "refuse" | "skip";
}

/** The shortest id suffix accepted: fewer characters would match too much by chance. */
export const MIN_ATTENTION_SUFFIX = 4;

const COLUMNS =
  "id, created_at, kind, title, message, sequence_id, resolved_at, resolved_by, resolution_note";
// Both conditions repeat the partial indexes' WHERE word for word, so the planner uses them.
const OPEN = "needs_human = 1 AND resolved_at IS NULL";
const ITEM = "needs_human = 1";

interface Row {
  id: string;
  created_at: string;
  kind: string;
  title: string;
  message: string;
  sequence_id: string | null;
  resolved_at: string | null;
  resolved_by: string | null;
  resolution_note: string | null;
}

function toItem(r: Row): AttentionItem {
  return {
    id: r.id,
    createdAt: r.created_at,
    kind: r.kind,
    title: r.title,
    message: r.message,
    sequenceId: r.sequence_id,
    resolvedAt: r.resolved_at,
    resolvedBy: r.resolved_by,
    resolutionNote: r.resolution_note,
  };
}

/** Attention items, newest first: the open ones, or with `all` the resolved ones too. */
export async function listAttention(
  scope: Scope,
  filter: { all?: boolean; limit?: number },
): Promise<AttentionItem[]> {
  const { tx } = scope;
  const rows = await tx.all<Row>(
    `SELECT ${COLUMNS} FROM notifications WHERE ${filter.all ? ITEM : OPEN}
      ORDER BY id DESC ${tx.dialect.limit("limit")}`,
    { limit: filter.limit ?? -1 },
  );
  return rows.map(toItem);
}

/** How many items are open, and the newest of them. */
export async function attentionOverview(scope: Scope): Promise<AttentionOverview> {
  const { tx } = scope;
  const counted = await tx.one<{ n: number }>(
    `SELECT COUNT(*) AS n FROM notifications WHERE ${OPEN}`,
  );
  const open = Number(counted?.n ?? 0);
  const [newest] = open > 0 ? await listAttention(scope, { limit: 1 }) : [];
  return { open, newest: newest ?? null };
}

/** The item an id names: a full id, or a suffix that only one item ends with. */
async function findItem(scope: Scope, given: string): Promise<Row> {
  const id = typeof given === "string" ? given.trim().toUpperCase() : "";
  if (!/^[0-9A-Z]+$/.test(id) || id.length < MIN_ATTENTION_SUFFIX) {
    throw new LedgerError(
      `${JSON.stringify(String(given))} is not an attention id: give the id \`producer attention\` lists, or at least its last ${MIN_ATTENTION_SUFFIX} characters`,
    );
  }
  const { tx } = scope;
  // ULIDs are upper case: matching the upper-cased input makes the suffix case-insensitive
  // on both backends (PostgreSQL's LIKE is case-sensitive). The input holds letters and
  // digits only, so it carries no LIKE wildcard.
  const rows = await tx.all<Row>(
    `SELECT ${COLUMNS} FROM notifications WHERE ${ITEM} AND id LIKE @pattern
      ORDER BY id DESC ${tx.dialect.limit("limit")}`,
    { pattern: `%${id}`, limit: 2 },
  );
  if (rows.length === 0) {
    throw new LedgerNotFound(`no attention item with id ${JSON.stringify(String(given))}`);
  }
  if (rows.length > 1 && rows[0]!.id !== id) {
    throw new LedgerError(
      `attention id ${JSON.stringify(String(given))} matches more than one item: give more of it`,
    );
  }
  return rows[0]!;
}

/**
 * Resolves attention items in one transaction, each audited (`attention.resolved`, by the
 * actor, with the note). By ids: an unknown, ambiguous or (unless skipped) already resolved
 * id refuses the whole batch, so nothing changes. Resolves to the items resolved now.
 */
export async function resolveAttention(
  scope: Scope,
  selector: AttentionSelector,
  resolution: AttentionResolution,
): Promise<AttentionItem[]> {
  const { tx } = scope;
  const note = requireText("note", resolution.note, 2000).trim() || null;
  let targets: Row[];
  if ("ids" in selector) {
    if (selector.ids.length === 0) throw new LedgerError("name at least one attention id");
    const found = new Map<string, Row>();
    for (const given of selector.ids) {
      const row = await findItem(scope, given);
      if (row.resolved_at !== null) {
        if (resolution.alreadyResolved === "skip") continue;
        throw new LedgerTransitionRefused(
          `attention item ${row.id} was already resolved at ${row.resolved_at} by ${row.resolved_by}; nothing was resolved`,
        );
      }
      found.set(row.id, row);
    }
    targets = [...found.values()];
  } else if ("all" in selector) {
    targets = await tx.all<Row>(`SELECT ${COLUMNS} FROM notifications WHERE ${OPEN}`);
  } else {
    targets = await tx.all<Row>(
      `SELECT ${COLUMNS} FROM notifications WHERE ${OPEN} AND sequence_id = @sequence_id
        AND (CAST(@kind AS TEXT) IS NULL OR kind = @kind)`,
      { sequence_id: selector.sequenceId, kind: selector.kind ?? null },
    );
  }
  const now = nowOf(scope);
  const resolved: AttentionItem[] = [];
  for (const row of targets) {
    await tx.run(
      `UPDATE notifications SET resolved_at = @now, resolved_by = @actor, resolution_note = @note
        WHERE id = @id AND resolved_at IS NULL`,
      { now, actor: resolution.actor, note, id: row.id },
    );
    await appendAudit(scope, {
      ts: now,
      actor: resolution.actor,
      action: "attention.resolved",
      entityType: "notification",
      entityId: row.id,
      details: { kind: row.kind, title: row.title, note },
    });
    resolved.push(
      toItem({ ...row, resolved_at: now, resolved_by: resolution.actor, resolution_note: note }),
    );
  }
  return resolved;
}
