import { createHmac } from "node:crypto";
import { nowOf, type Scope } from "../scope.js";
import type { AuditRow } from "../types.js";
import {
  auditedDigest,
  canonicalJson,
  hashedValues,
  isAuditedEntity,
  rowHash,
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

/** The newest row's place, hash and action: what appending, sealing and the head all read. */
function newestRow(scope: Scope) {
  return scope.tx.one<{ seq: number; row_hash: string; action: string }>(
    "SELECT seq, row_hash, action FROM audit_log ORDER BY seq DESC LIMIT 1",
  );
}

interface RawAuditRow {
  seq: number;
  ts: string;
  actor: string;
  action: string;
  entity_type: string;
  entity_id: string | null;
  details: string;
  prev_hash: string;
  row_hash: string;
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
    prevHash: r.prev_hash,
    rowHash: r.row_hash,
  };
}

/**
 * Appends one row inside the caller's write transaction, so a state change and its audit row
 * commit together or not at all. When `entityType` is audited (task, decision, asset) the
 * details also carry a digest of the row as it stands now, so an edit made behind the
 * ledger's back is caught by `verify`.
 */
export async function appendAudit(scope: Scope, event: AuditEvent): Promise<AuditRow> {
  const { tx } = scope;
  const details = { ...event.details };
  if (event.entityId && isAuditedEntity(event.entityType)) {
    const digest = await auditedDigest(tx, event.entityType, event.entityId);
    if (digest) details.digest = digest;
  }
  // The head last: on a server database it is the lock every writer queues on.
  await tx.lock({ kind: "audit-head" });
  const last = await newestRow(scope);
  const prevHash = last?.row_hash ?? AUDIT_GENESIS_PREV_HASH;
  const row = {
    seq: Number(last?.seq ?? 0) + 1,
    ts: event.ts,
    actor: event.actor,
    action: event.action,
    entityType: event.entityType,
    entityId: event.entityId,
    details: canonicalJson(details),
  };
  const hash = rowHash(prevHash, row);
  await tx.run(
    "INSERT INTO audit_log (seq, ts, actor, action, entity_type, entity_id, details, prev_hash, row_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [...hashedValues(row), prevHash, hash],
  );
  return { ...row, prevHash, rowHash: hash };
}

/** Appends the audit row for a task change, stamped now. */
export function auditTask(
  scope: Scope,
  actor: string,
  action: string,
  taskId: string,
  details: Record<string, unknown>,
) {
  return appendAudit(scope, {
    ts: nowOf(scope),
    actor,
    action,
    entityType: "task",
    entityId: taskId,
    details,
  });
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
  const last = await newestRow(scope);
  if (!sealable(last)) return null;
  return appendAudit(scope, {
    ts,
    actor,
    action: AUDIT_SEAL_ACTION,
    entityType: "audit",
    entityId: null,
    details: { mac: sealMac(key, last.row_hash) },
  });
}

/** The current head: last row_hash (genesis when empty) and row count. */
export async function chainHead(scope: Scope): Promise<{ headHash: string; rowCount: number }> {
  const last = await newestRow(scope);
  const count = await scope.tx.one<{ n: number }>("SELECT COUNT(*) AS n FROM audit_log");
  return {
    headHash: last?.row_hash ?? AUDIT_GENESIS_PREV_HASH,
    rowCount: Number(count?.n ?? 0),
  };
}

/** The newest `limit` rows, newest first, optionally about one entity. */
export async function recentAudit(
  scope: Scope,
  limit: number,
  entityId?: string,
): Promise<AuditRow[]> {
  const rows = entityId
    ? await scope.tx.all<RawAuditRow>(
        "SELECT * FROM audit_log WHERE entity_id = ? ORDER BY seq DESC LIMIT ?",
        [entityId, limit],
      )
    : await scope.tx.all<RawAuditRow>("SELECT * FROM audit_log ORDER BY seq DESC LIMIT ?", [limit]);
  return rows.map(toAuditRow);
}

/** The newest row with this action (served by the `audit_by_action` index), or null. */
export async function latestAudit(scope: Scope, action: string): Promise<AuditRow | null> {
  const row = await scope.tx.one<RawAuditRow>(
    "SELECT * FROM audit_log WHERE action = ? ORDER BY ts DESC, seq DESC LIMIT 1",
    [action],
  );
  return row ? toAuditRow(row) : null;
}
