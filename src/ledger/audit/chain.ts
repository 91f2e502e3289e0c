import { createHmac } from "node:crypto";
import { LedgerError } from "../../errors.js";
import { nowOf, type Scope } from "../scope.js";
import type { AuditRow } from "../types.js";
import {
  auditedDigest,
  canonicalJson,
  canonicalWith,
  chainHash,
  hashedValues,
  isAuditedEntity,
} from "./canonical.js";

/** prev_hash of the first audit row: 64 zeros. */
export const AUDIT_GENESIS_PREV_HASH = "0".repeat(64);

/** The audit action of a keyed seal (see {@link sealChain}). */
export const AUDIT_SEAL_ACTION = "audit.sealed";

/** One event to append to the chain. */
export interface AuditEvent {
  ts: string;
  actor: string;
  action: string;
  entityType: string;
  entityId: string | null;
  details: Record<string, unknown>;
}

/** The MAC a seal carries: HMAC-SHA256 of the chain head it seals, under the audit key. */
export function sealMac(key: string, sealedHead: string): string {
  return createHmac("sha256", key).update(`seal:${sealedHead}`).digest("hex");
}

/**
 * The actions every task writes. They stay out of the `audit_by_action` index, so a query by
 * action uses that index only when it repeats {@link RARE_ACTION_TERM} word for word.
 */
export const FREQUENT_AUDIT_ACTIONS = [
  "task.created",
  "task.claimed",
  "task.done",
  "task.retry",
  "task.failed",
  "task.escalated",
  "task.released",
  "budget.held",
  "budget.settled",
] as const;

/**
 * The `WHERE` term of the partial `audit_by_action` index (as migration 0004 wrote it). A
 * chain of `<>`, not `NOT IN (...)`: SQLite builds a temporary index of an `IN` list each time
 * a statement tests it, and every audit row written tests this.
 */
export const RARE_ACTION_TERM = FREQUENT_AUDIT_ACTIONS.map((a) => `action <> '${a}'`).join(" AND ");

/** A stored hash (32 bytes; a driver may hand back a Uint8Array) as lower-case hex. */
export function hashHex(stored: unknown): string {
  return stored instanceof Uint8Array ? Buffer.from(stored).toString("hex") : String(stored);
}

/** A hex hash as the 32 bytes the log stores. */
export const hashBytes = (hex: string): Buffer => Buffer.from(hex, "hex");

/** The newest row's place, hash and action: what appending, sealing and the head all read. */
async function newestRow(scope: Scope) {
  const row = await scope.tx.tuple(
    "SELECT seq, row_hash, action FROM audit_log ORDER BY seq DESC LIMIT 1",
  );
  return row && { seq: Number(row[0]), rowHash: hashHex(row[1]), action: String(row[2]) };
}

/** An audit row as read back: the previous row's hash comes from that row (null before the first). */
const AUDIT_COLUMNS = `seq, ts, actor, action, entity_type, entity_id, details, row_hash,
  (SELECT p.row_hash FROM audit_log p WHERE p.seq = a.seq - 1) AS prev_hash`;

interface RawAuditRow {
  seq: number;
  ts: string;
  actor: string;
  action: string;
  entity_type: string;
  entity_id: string | null;
  details: string;
  prev_hash: Uint8Array | null;
  row_hash: Uint8Array;
}

function toAuditRow(r: RawAuditRow): AuditRow {
  return {
    seq: Number(r.seq),
    ts: r.ts,
    actor: r.actor,
    action: r.action,
    entityType: r.entity_type,
    entityId: r.entity_id,
    details: r.details,
    prevHash: r.prev_hash === null ? AUDIT_GENESIS_PREV_HASH : hashHex(r.prev_hash),
    rowHash: hashHex(r.row_hash),
  };
}

/**
 * Appends one row inside the caller's write transaction, so a state change and its audit row
 * commit together or not at all. When `entityType` is audited (task, decision, asset) the
 * details also carry a digest of the row as it stands now, so an edit made behind the
 * ledger's back is caught by `verify`.
 */
export async function appendAudit(
  scope: Scope,
  event: AuditEvent,
  /** The digest of the entity's row as it stands now, when the caller just wrote it. */
  digest?: string,
  /**
   * For a task: the seq the caller's write already added to the task row's `audit_seqs`
   * (from {@link nextAuditSeq}), or null when it added none and this append must.
   */
  listedAs: number | null = null,
): Promise<AuditRow> {
  const { tx } = scope;
  let current: string | null | undefined;
  if (event.entityId && isAuditedEntity(event.entityType)) {
    current = digest ?? (await auditedDigest(tx, event.entityType, event.entityId));
  }
  // The head last: on a server database it is the lock every writer queues on.
  await tx.lock({ kind: "audit-head" });
  const last = await headOf(scope);
  const seq = (last?.seq ?? 0) + 1;
  if (listedAs !== null && listedAs !== seq) {
    // A write between the task's and its audit row appended another row: a bug here, and a
    // history that would list the wrong row. Refused, so the transaction rolls back.
    throw new LedgerError(
      `audit row for task ${event.entityId} would be row ${seq}, but the task row listed row ${listedAs}`,
    );
  }
  const prevHash = last?.rowHash ?? AUDIT_GENESIS_PREV_HASH;
  const row = {
    seq,
    ts: event.ts,
    actor: event.actor,
    action: event.action,
    entityType: event.entityType,
    entityId: event.entityId,
    details: current
      ? canonicalWith(event.details, "digest", current)
      : canonicalJson(event.details),
  };
  // The hashed values, then the hash: the row's columns in order, from one array.
  const values = hashedValues(row);
  const hash = chainHash(prevHash, values);
  values.push(hashBytes(hash));
  await tx.send(
    "INSERT INTO audit_log (seq, ts, actor, action, entity_type, entity_id, details, row_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    values,
  );
  scope.auditHead = { seq, rowHash: hash };
  tx.chainHead?.left(scope.auditHead);
  // A task's row lists its audit rows (`audit_seqs`): most task writes added this one already.
  if (event.entityType === "task" && event.entityId !== null && listedAs === null) {
    await tx.send("UPDATE tasks SET audit_seqs = audit_seqs || ? WHERE id = ?", [
      `${seq},`,
      event.entityId,
    ]);
  }
  // Written out, not `{ ...row, prevHash, rowHash }`: measured in paired runs, the spread cost
  // a lifecycle 16 µs of CPU a task (130 against 114 in NORMAL).
  return {
    seq,
    ts: row.ts,
    actor: row.actor,
    action: row.action,
    entityType: row.entityType,
    entityId: row.entityId,
    details: row.details,
    prevHash,
    rowHash: hash,
  };
}

/** Appends the audit row for a task change, stamped now. */
export function auditTask(
  scope: Scope,
  actor: string,
  action: string,
  taskId: string,
  details: Record<string, unknown>,
  digest?: string,
  listedAs: number | null = null,
) {
  return appendAudit(
    scope,
    { ts: nowOf(scope), actor, action, entityType: "task", entityId: taskId, details },
    digest,
    listedAs,
  );
}

/**
 * The seq the transaction's next audit row will get, when that can be known before it is
 * written (one writer at a time), else null. A task write puts it into `audit_seqs` itself,
 * saving a second write of the row; its `auditTask` must then be the next row appended.
 */
export async function nextAuditSeq(scope: Scope): Promise<number | null> {
  if (!scope.tx.serialised) return null;
  return ((await headOf(scope))?.seq ?? 0) + 1;
}

/**
 * The chain's head as this transaction sees it: read once (or carried over from this
 * connection's last append, when nobody else wrote since), then kept by each append.
 */
async function headOf(scope: Scope) {
  scope.auditHead ??= scope.tx.chainHead?.known() ?? (await newestRow(scope));
  return scope.auditHead;
}

/** True when the newest row is a seal (or there is no row): nothing to seal. */
export async function isSealed(scope: Scope): Promise<boolean> {
  return !sealable(await newestRow(scope));
}

/** A newest row exists and is not itself a seal. */
function sealable<T extends { action: string }>(newest: T | undefined): newest is T {
  return newest !== undefined && newest.action !== AUDIT_SEAL_ACTION;
}

/**
 * Seals the chain as it stands: appends a row whose MAC, under `key`, covers the head hash
 * before it. Whoever lacks the key cannot rewrite any row up to a seal, even by recomputing
 * every later hash, without `verify` (given the key) noticing. Null when already sealed.
 */
export async function sealChain(scope: Scope, key: string, ts: string, actor: string) {
  // The head first: the MAC must cover the row the seal will follow, not one another writer
  // has appended after since (several writers at once on a server database).
  await scope.tx.lock({ kind: "audit-head" });
  const last = await newestRow(scope);
  if (!sealable(last)) return null;
  return appendAudit(scope, {
    ts,
    actor,
    action: AUDIT_SEAL_ACTION,
    entityType: "audit",
    entityId: null,
    details: { mac: sealMac(key, last.rowHash) },
  });
}

/**
 * The current head: last row_hash (genesis when empty) and row count. Rows are numbered from
 * 1 without gaps, so the count is the newest seq (a gap is tampering, which verify names).
 */
export async function chainHead(scope: Scope): Promise<{ headHash: string; rowCount: number }> {
  const last = await newestRow(scope);
  return { headHash: last?.rowHash ?? AUDIT_GENESIS_PREV_HASH, rowCount: last?.seq ?? 0 };
}

/** The newest `limit` rows, newest first, optionally about one entity. */
export async function recentAudit(
  scope: Scope,
  limit: number,
  entityId?: string,
): Promise<AuditRow[]> {
  if (entityId === undefined) {
    const rows = await scope.tx.all<RawAuditRow>(
      `SELECT ${AUDIT_COLUMNS} FROM audit_log a ORDER BY seq DESC LIMIT ?`,
      [limit],
    );
    return rows.map(toAuditRow);
  }
  const task = await scope.tx.one<{ audit_seqs: string }>(
    "SELECT audit_seqs FROM tasks WHERE id = ?",
    [entityId],
  );
  if (task) {
    const seqs = task.audit_seqs.split(",").filter(Boolean).map(Number).slice(-limit).reverse();
    if (seqs.length === 0) return [];
    const rows = await scope.tx.all<RawAuditRow>(
      `SELECT ${AUDIT_COLUMNS} FROM audit_log a WHERE seq IN (${seqs.map(() => "?").join(", ")})
        ORDER BY seq DESC`,
      seqs,
    );
    return rows.map(toAuditRow);
  }
  const rows = await scope.tx.all<RawAuditRow>(
    `SELECT ${AUDIT_COLUMNS} FROM audit_log a WHERE entity_type <> 'task' AND entity_id = ?
      ORDER BY seq DESC LIMIT ?`,
    [entityId, limit],
  );
  return rows.map(toAuditRow);
}

/**
 * The newest row with this rare action (served by the `audit_by_action` index), or null. The
 * actions every task writes are not indexed by action: asking for one is a programming error.
 */
export async function latestAudit(scope: Scope, action: string): Promise<AuditRow | null> {
  if ((FREQUENT_AUDIT_ACTIONS as readonly string[]).includes(action)) {
    throw new LedgerError(
      `latestAudit(${JSON.stringify(action)}): the log is not indexed by its most frequent actions; look rows up by task instead`,
    );
  }
  const row = await scope.tx.one<RawAuditRow>(
    `SELECT ${AUDIT_COLUMNS} FROM audit_log a WHERE ${RARE_ACTION_TERM} AND action = ?
      ORDER BY ts DESC, seq DESC LIMIT 1`,
    [action],
  );
  return row ? toAuditRow(row) : null;
}
