import { createHmac } from "node:crypto";
import type { Statement } from "better-sqlite3";
import { canonicalJson, sha256Hex } from "./canonical.js";
import type { Db } from "./database.js";
import type { AuditRow } from "./types.js";

/** prev_hash of the first audit row: 64 zeros. */
export const AUDIT_GENESIS_PREV_HASH = "0".repeat(64);

/** One event to append to the chain. */
export interface AuditEvent {
  ts: string;
  actor: string;
  action: string;
  entityType: string;
  entityId: string | null;
  details: Record<string, unknown>;
}

/** Why verification failed, naming the first row that does not fit. */
export interface AuditProblem {
  /** seq of the first bad audit row, or null when the problem is a data row or the head. */
  seq: number | null;
  /** The audited entity concerned, when the problem is a data row edited behind the log. */
  entityId?: string;
  reason: string;
  expected?: string;
  actual?: string;
}

/** The audit action of a keyed seal (see {@link AuditLogger.sealSync}). */
export const AUDIT_SEAL_ACTION = "audit.sealed";

/** The MAC a seal carries: HMAC-SHA256 of the chain head it seals, under the audit key. */
export function sealMac(key: string, sealedHead: string): string {
  return createHmac("sha256", key).update(`seal:${sealedHead}`).digest("hex");
}

/** Result of walking the chain. */
export interface AuditVerification {
  ok: boolean;
  rowsChecked: number;
  /**
   * With a key: the seq of the newest seal that proved the chain up to it, or null (no key
   * given, or no seal). Rows after it are covered by the hash chain alone.
   */
  sealedThrough: number | null;
  /** row_hash of the last row (genesis when empty) and the number of rows. */
  headHash: string;
  rowCount: number;
  entitiesChecked: number;
  problem: AuditProblem | null;
}

/** What an audited entity's digest covers: these columns, in this order. */
const AUDITED_ENTITIES = {
  task: {
    table: "tasks",
    columns: [
      "id",
      "agent_owner",
      "title",
      "description",
      "payload",
      "priority",
      "status",
      "attempts",
      "parent_task_id",
      "depends_on",
      "cost_usd",
      "actual_cost_usd",
      "input_tokens",
      "output_tokens",
      "cache_creation_tokens",
      "cache_read_tokens",
      "result",
      "last_error",
      "created_by",
    ],
  },
  decision: {
    table: "decisions",
    columns: ["id", "task_id", "agent_owner", "kind", "decision_text", "rationale", "created_at"],
  },
  asset: {
    table: "asset_registry",
    columns: ["id", "task_id", "agent_owner", "path", "kind", "description", "created_at"],
  },
} as const;

/** Entity types whose rows carry a digest that `verify` compares with the live row. */
export type AuditedEntity = keyof typeof AUDITED_ENTITIES;

function digestOf(values: readonly unknown[]): string {
  return sha256Hex(JSON.stringify(values));
}

function rowHash(prevHash: string, row: Omit<AuditRow, "prevHash" | "rowHash">): string {
  return sha256Hex(
    prevHash +
      JSON.stringify([
        row.seq,
        row.ts,
        row.actor,
        row.action,
        row.entityType,
        row.entityId,
        row.details,
      ]),
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
    seq: r.seq,
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
 * The hash-chained audit log. `append` runs inside the caller's write transaction, so a
 * state change and its audit row commit together or not at all.
 */
export class AuditLogger {
  private readonly head: Statement<[], { seq: number; row_hash: string }>;
  private readonly insert: Statement<unknown[]>;
  private readonly digestStatements = new Map<AuditedEntity, Statement<[string], unknown[]>>();

  /** @internal Built by the LedgerClient; not for direct use. */
  constructor(private readonly db: Db) {
    this.head = db.prepare("SELECT seq, row_hash FROM audit_log ORDER BY seq DESC LIMIT 1");
    this.insert = db.prepare(
      "INSERT INTO audit_log (seq, ts, actor, action, entity_type, entity_id, details, prev_hash, row_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    for (const [type, spec] of Object.entries(AUDITED_ENTITIES)) {
      this.digestStatements.set(
        type as AuditedEntity,
        db
          .prepare(`SELECT ${spec.columns.join(", ")} FROM ${spec.table} WHERE id = ?`)
          .raw() as Statement<[string], unknown[]>,
      );
    }
  }

  /**
   * Appends one row. When `entityType` is audited (task, decision, asset) the details also
   * carry a digest of the row as it stands now, so an edit made behind the ledger's back is
   * caught by `verify`. Must run inside a write transaction.
   */
  appendSync(event: AuditEvent): AuditRow {
    const last = this.head.get();
    const prevHash = last?.row_hash ?? AUDIT_GENESIS_PREV_HASH;
    const details = { ...event.details };
    const digestStatement = this.digestStatements.get(event.entityType as AuditedEntity);
    if (digestStatement && event.entityId) {
      const values = digestStatement.get(event.entityId);
      if (values) details.digest = digestOf(values);
    }
    const row = {
      seq: (last?.seq ?? 0) + 1,
      ts: event.ts,
      actor: event.actor,
      action: event.action,
      entityType: event.entityType,
      entityId: event.entityId,
      details: canonicalJson(details),
    };
    const hash = rowHash(prevHash, row);
    this.insert.run(
      row.seq,
      row.ts,
      row.actor,
      row.action,
      row.entityType,
      row.entityId,
      row.details,
      prevHash,
      hash,
    );
    return { ...row, prevHash, rowHash: hash };
  }

  /**
   * Seals the chain as it stands: appends a row whose MAC, under `key`, covers the head hash
   * before it. Whoever lacks the key cannot rewrite any row up to a seal, even by recomputing
   * every later hash, without `verify` (given the key) noticing. A no-op when the newest row
   * is already a seal. Must run inside a write transaction.
   */
  sealSync(key: string, ts: string, actor: string): AuditRow | null {
    if (this.sealedSync()) return null;
    const head = this.head.get()?.row_hash ?? AUDIT_GENESIS_PREV_HASH;
    return this.appendSync({
      ts,
      actor,
      action: AUDIT_SEAL_ACTION,
      entityType: "audit",
      entityId: null,
      details: { mac: sealMac(key, head) },
    });
  }

  /** True when the newest row is a seal (or there is no row): nothing to seal. */
  sealedSync(): boolean {
    const last = this.db
      .prepare("SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1")
      .pluck()
      .get() as string | undefined;
    return last === undefined || last === AUDIT_SEAL_ACTION;
  }

  /** The current head: last row_hash (genesis when empty) and row count. */
  headSync(): { headHash: string; rowCount: number } {
    const last = this.head.get();
    const count = (this.db.prepare("SELECT COUNT(*) AS n FROM audit_log").get() as { n: number }).n;
    return { headHash: last?.row_hash ?? AUDIT_GENESIS_PREV_HASH, rowCount: count };
  }

  /** The newest `limit` rows, newest first. */
  recentSync(limit: number, entityId?: string): AuditRow[] {
    const rows = entityId
      ? this.db
          .prepare("SELECT * FROM audit_log WHERE entity_id = ? ORDER BY seq DESC LIMIT ?")
          .all(entityId, limit)
      : this.db.prepare("SELECT * FROM audit_log ORDER BY seq DESC LIMIT ?").all(limit);
    return (rows as RawAuditRow[]).map(toAuditRow);
  }

  /** The newest row with this action (served by the `audit_by_action` index), or null. */
  latestSync(action: string): AuditRow | null {
    const row = this.db
      .prepare("SELECT * FROM audit_log WHERE action = ? ORDER BY ts DESC, seq DESC LIMIT 1")
      .get(action) as RawAuditRow | undefined;
    return row ? toAuditRow(row) : null;
  }

  /**
   * Walks the whole chain from genesis and then compares every audited row with the digest
   * its last audit row recorded. Stops at the first problem and names it. With
   * `expectedHead` (a head hash printed earlier, e.g. in a morning report) it also proves the
   * log was not truncated or rewritten since.
   */
  verifySync(options: { expectedHead?: string; key?: string } = {}): AuditVerification {
    let prevHash = AUDIT_GENESIS_PREV_HASH;
    let prevSeq = 0;
    let rowsChecked = 0;
    let sealedThrough: number | null = null;
    let sawExpectedHead = options.expectedHead === AUDIT_GENESIS_PREV_HASH;
    const result = (problem: AuditProblem | null, entitiesChecked = 0): AuditVerification => ({
      ok: problem === null,
      rowsChecked,
      sealedThrough,
      headHash: prevHash,
      rowCount: rowsChecked,
      entitiesChecked,
      problem,
    });
    const rows = this.db
      .prepare(
        "SELECT seq, ts, actor, action, entity_type, entity_id, details, prev_hash, row_hash FROM audit_log ORDER BY seq",
      )
      .raw()
      .iterate() as IterableIterator<
      [number, string, string, string, string, string | null, string, string, string]
    >;
    for (const [
      seq,
      ts,
      actor,
      action,
      entityType,
      entityId,
      details,
      storedPrev,
      stored,
    ] of rows) {
      if (storedPrev !== prevHash) {
        return result({
          seq,
          reason:
            seq === prevSeq + 1
              ? `row ${seq} does not follow row ${prevSeq}: a row before it was removed, inserted or reordered`
              : `row ${seq} follows row ${prevSeq}: the rows between were removed, or rows were reordered`,
          expected: prevHash,
          actual: storedPrev,
        });
      }
      const computed = rowHash(storedPrev, {
        seq,
        ts,
        actor,
        action,
        entityType,
        entityId,
        details,
      });
      if (computed !== stored) {
        return result({
          seq,
          reason: `row ${seq} was edited: its contents no longer match its hash`,
          expected: computed,
          actual: stored,
        });
      }
      if (options.key && action === AUDIT_SEAL_ACTION) {
        const mac = (JSON.parse(details) as { mac?: unknown }).mac;
        if (mac !== sealMac(options.key, storedPrev)) {
          return result({
            seq,
            reason: `seal row ${seq} does not match the chain before it: the chain was rewritten, or PRODUCER_AUDIT_KEY is not the key that sealed it`,
          });
        }
        sealedThrough = seq;
      }
      prevHash = stored;
      prevSeq = seq;
      rowsChecked++;
      if (stored === options.expectedHead) sawExpectedHead = true;
    }
    if (options.expectedHead !== undefined && !sawExpectedHead) {
      return result({
        seq: null,
        reason: `the expected head ${options.expectedHead} is not in the chain: the log was truncated or rewritten after it was recorded (it now ends at row ${prevSeq})`,
        expected: options.expectedHead,
        actual: prevHash,
      });
    }
    if (options.key && sealedThrough === null && rowsChecked > 0) {
      return result({
        seq: null,
        reason:
          "no row of the chain is sealed with PRODUCER_AUDIT_KEY: it was never sealed (no Producer ran with the key), or it was rewritten without its seals",
      });
    }
    const entities = this.verifyEntities();
    return result(entities.problem ?? this.verifyMoney(), entities.checked);
  }

  /**
   * Rebuilds the money from the chain and holds the tables to it: each day's spend per role
   * (the audited settlements), the holds still open (audited when taken, settled or
   * released), and the notifications recorded. A table edited behind the ledger's back
   * (`UPDATE budget SET spent_usd = 0`, a deleted hold or notice) disagrees with the chain.
   */
  private verifyMoney(): AuditProblem | null {
    const key = (day: unknown, role: unknown) => `${String(role)} on ${String(day)}`;
    const spent = new Map<string, number>();
    const open = new Map<string, string>();
    const closed = new Set<string>();
    const money = this.db
      .prepare(
        `SELECT action, entity_id, details FROM audit_log
          WHERE action IN ('budget.held', 'budget.settled', 'budget.exceeded', 'budget.holds_released')
          ORDER BY seq`,
      )
      .raw()
      .iterate() as IterableIterator<[string, string | null, string]>;
    for (const [action, role, text] of money) {
      const d = JSON.parse(text) as Record<string, unknown>;
      if (action === "budget.held") {
        open.set(String(d.reservation_id), key(d.day, role));
      } else if (action === "budget.holds_released") {
        for (const id of d.reservations as string[]) {
          open.delete(id);
          closed.add(id);
        }
      } else {
        const k = key(d.day, role);
        spent.set(k, (spent.get(k) ?? 0) + Number(d.cost_usd));
        open.delete(String(d.reservation_id));
        closed.add(String(d.reservation_id));
      }
    }
    const rows = this.db.prepare("SELECT day, role, spent_usd FROM budget").raw().all() as [
      string,
      string,
      number,
    ][];
    for (const [day, role, usd] of rows) {
      const k = key(day, role);
      const audited = spent.get(k) ?? 0;
      spent.delete(k);
      if (Math.abs(usd - audited) > 1e-6) {
        return {
          seq: null,
          reason: `the budget of ${k} says $${usd} spent, but its audited settlements add up to $${audited}: the budget table was edited behind the ledger's back`,
        };
      }
    }
    for (const [k, audited] of spent) {
      if (audited > 1e-6) {
        return {
          seq: null,
          reason: `the budget of ${k} is missing, but its audited settlements add up to $${audited}: it was deleted behind the ledger's back`,
        };
      }
    }
    const held = this.db
      .prepare("SELECT id, day, role FROM budget_reservations WHERE state = 'held'")
      .raw()
      .all() as [string, string, string][];
    for (const [id, day, role] of held) {
      if (closed.has(id)) {
        return {
          seq: null,
          reason: `hold ${id} (${key(day, role)}) is held, but the chain closed it: the budget holds were edited behind the ledger's back`,
        };
      }
      // Not in the chain either way: a hold taken before holds were audited.
      open.delete(id);
    }
    const [missing] = open;
    if (missing) {
      return {
        seq: null,
        reason: `hold ${missing[0]} (${missing[1]}) is open in the chain but not held: it was released or deleted behind the ledger's back`,
      };
    }
    const notices = new Set(
      (
        this.db
          .prepare("SELECT entity_id FROM audit_log WHERE action = 'notification.recorded'")
          .raw()
          .all() as [string][]
      ).map(([id]) => id),
    );
    for (const [id] of this.db
      .prepare("SELECT id FROM notifications")
      .raw()
      .iterate() as IterableIterator<[string]>) {
      if (!notices.delete(id)) {
        return {
          seq: null,
          entityId: id,
          reason: `notification ${id} has no audit row: it was written behind the ledger's back`,
        };
      }
    }
    const [deleted] = notices;
    if (deleted) {
      return {
        seq: null,
        entityId: deleted,
        reason: `notification ${deleted} was deleted behind the ledger's back`,
      };
    }
    return null;
  }

  private verifyEntities(): { checked: number; problem: AuditProblem | null } {
    let checked = 0;
    for (const [type, spec] of Object.entries(AUDITED_ENTITIES)) {
      const recorded = new Map<string, { seq: number; digest: string | null }>();
      const latest = this.db
        .prepare(
          `SELECT a.entity_id, a.seq, json_extract(a.details, '$.digest') AS digest
             FROM audit_log a
             JOIN (SELECT MAX(seq) AS seq FROM audit_log WHERE entity_type = ? GROUP BY entity_id) l
               ON a.seq = l.seq`,
        )
        .raw()
        .iterate(type) as IterableIterator<[string, number, string | null]>;
      for (const [id, seq, digest] of latest) recorded.set(id, { seq, digest });
      const live = this.db
        .prepare(`SELECT ${spec.columns.join(", ")} FROM ${spec.table}`)
        .raw()
        .iterate() as IterableIterator<unknown[]>;
      for (const values of live) {
        const id = String(values[0]);
        const audit = recorded.get(id);
        if (!audit) {
          return {
            checked,
            problem: {
              seq: null,
              entityId: id,
              reason: `${type} ${id} has no audit history: it was written behind the ledger's back`,
            },
          };
        }
        const digest = digestOf(values);
        if (audit.digest !== null && digest !== audit.digest) {
          return {
            checked,
            problem: {
              seq: audit.seq,
              entityId: id,
              reason: `${type} ${id} was edited behind the ledger's back: it no longer matches audit row ${audit.seq}`,
              expected: audit.digest,
              actual: digest,
            },
          };
        }
        recorded.delete(id);
        checked++;
      }
      const [missing] = recorded;
      if (missing) {
        return {
          checked,
          problem: {
            seq: missing[1].seq,
            entityId: missing[0],
            reason: `${type} ${missing[0]} was deleted behind the ledger's back (last audited at row ${missing[1].seq})`,
          },
        };
      }
    }
    return { checked, problem: null };
  }
}
