import type { Scope } from "../scope.js";
import type { Tx } from "../storage.js";
import {
  AUDITED_ENTITIES,
  type AuditedEntity,
  digestColumns,
  digestOf,
  rowHash,
} from "./canonical.js";
import { AUDIT_GENESIS_PREV_HASH, AUDIT_SEAL_ACTION, hashHex, sealMac } from "./chain.js";

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

/** seq, ts, actor, action, entity_type, entity_id, details, row_hash. */
type ChainRow = [number, string, string, string, string, string | null, string, Uint8Array];

const DIGEST_KEY = '"digest":"';

/**
 * The digest an audit row recorded, read from its details without parsing them. Only called
 * once the row's hash has proved the details are the canonical JSON the ledger wrote, where
 * `"digest":"` is followed by 64 hex characters. When the key appears more than once (a
 * caller's details may nest their own `digest`), the details are parsed for the top level.
 */
function recordedDigest(details: string): string | null {
  const at = details.indexOf(DIGEST_KEY);
  if (at < 0) return null;
  if (details.indexOf(DIGEST_KEY, at + 1) >= 0) {
    const digest = (JSON.parse(details) as { digest?: unknown }).digest;
    return typeof digest === "string" ? digest : null;
  }
  return details.slice(at + DIGEST_KEY.length, at + DIGEST_KEY.length + 64);
}

/** What the walk over the log gathers for the checks that follow it. */
interface Gathered {
  /** Per audited entity type: each entity's last audit row and the digest it recorded. */
  recorded: Map<AuditedEntity, Map<string, { seq: number; digest: string | null }>>;
  /** The money rows (budget.*) in chain order: action, role, details. */
  money: [string, string | null, string][];
  /** Ids of the notifications the chain recorded. */
  notices: Set<string>;
}

const MONEY_ACTIONS = new Set([
  "budget.held",
  "budget.settled",
  "budget.exceeded",
  "budget.holds_released",
]);

/**
 * Walks the whole chain from genesis, then compares every audited row with the digest its
 * last audit row recorded, then rebuilds the money from the chain. Stops at the first problem
 * and names it. With `expectedHead` (a head hash printed earlier, e.g. in a morning report) it
 * also proves the log was not truncated or rewritten since. Run in a read transaction: one
 * snapshot, and one pass over each table.
 */
export async function verifyChain(
  scope: Scope,
  options: { expectedHead?: string; key?: string } = {},
): Promise<AuditVerification> {
  let prevHash = AUDIT_GENESIS_PREV_HASH;
  let prevSeq = 0;
  let rowsChecked = 0;
  let sealedThrough: number | null = null;
  let sawExpectedHead = options.expectedHead === AUDIT_GENESIS_PREV_HASH;
  const gathered: Gathered = {
    recorded: new Map(
      (Object.keys(AUDITED_ENTITIES) as AuditedEntity[]).map((type) => [type, new Map()]),
    ),
    money: [],
    notices: new Set(),
  };
  const result = (problem: AuditProblem | null, entitiesChecked = 0): AuditVerification => ({
    ok: problem === null,
    rowsChecked,
    sealedThrough,
    headHash: prevHash,
    rowCount: rowsChecked,
    entitiesChecked,
    problem,
  });
  // One row's check: the problem it shows, or null.
  const check = (row: ChainRow): AuditProblem | null => {
    const seq = Number(row[0]);
    const action = row[3];
    const entityType = row[4];
    const entityId = row[5];
    const details = row[6];
    const stored = hashHex(row[7]);
    if (seq !== prevSeq + 1) {
      return {
        seq,
        reason: `row ${seq} follows row ${prevSeq}: the rows between were removed, or rows were reordered`,
        expected: String(prevSeq + 1),
        actual: String(seq),
      };
    }
    const computed = rowHash(prevHash, {
      seq,
      ts: row[1],
      actor: row[2],
      action,
      entityType,
      entityId,
      details,
    });
    if (computed !== stored) {
      return {
        seq,
        reason: `row ${seq} was edited: its contents no longer match its hash`,
        expected: computed,
        actual: stored,
      };
    }
    if (options.key && action === AUDIT_SEAL_ACTION) {
      const mac = (JSON.parse(details) as { mac?: unknown }).mac;
      if (mac !== sealMac(options.key, prevHash)) {
        return {
          seq,
          reason: `seal row ${seq} does not match the chain before it: the chain was rewritten, or PRODUCER_AUDIT_KEY is not the key that sealed it`,
        };
      }
      sealedThrough = seq;
    }
    if (entityId !== null) {
      const byId = gathered.recorded.get(entityType as AuditedEntity);
      if (byId) byId.set(entityId, { seq, digest: recordedDigest(details) });
      else if (action === "notification.recorded") gathered.notices.add(entityId);
    }
    if (MONEY_ACTIONS.has(action)) gathered.money.push([action, entityId, details]);
    prevHash = stored;
    prevSeq = seq;
    rowsChecked++;
    if (stored === options.expectedHead) sawExpectedHead = true;
    return null;
  };
  let broken: AuditProblem | null = null;
  await scope.tx.scan(
    `SELECT seq, ts, actor, action, entity_type, entity_id, details, row_hash
       FROM audit_log ORDER BY seq`,
    undefined,
    (row) => {
      broken = check(row as ChainRow);
      return broken === null;
    },
  );
  if (broken) return result(broken);
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
  const entities = await verifyEntities(scope.tx, gathered.recorded);
  return result(entities.problem ?? (await verifyMoney(scope.tx, gathered)), entities.checked);
}

async function verifyEntities(
  tx: Tx,
  recordedByType: Gathered["recorded"],
): Promise<{ checked: number; problem: AuditProblem | null }> {
  let checked = 0;
  for (const [type, recorded] of recordedByType) {
    const compare = (values: unknown[]): AuditProblem | null => {
      const id = String(values[0]);
      const audit = recorded.get(id);
      if (!audit) {
        return {
          seq: null,
          entityId: id,
          reason: `${type} ${id} has no audit history: it was written behind the ledger's back`,
        };
      }
      const digest = digestOf(type, values);
      if (audit.digest !== null && digest !== audit.digest) {
        return {
          seq: audit.seq,
          entityId: id,
          reason: `${type} ${id} was edited behind the ledger's back: it no longer matches audit row ${audit.seq}`,
          expected: audit.digest,
          actual: digest,
        };
      }
      recorded.delete(id);
      checked++;
      return null;
    };
    let problem: AuditProblem | null = null;
    await tx.scan(
      `SELECT ${digestColumns(type)} FROM ${AUDITED_ENTITIES[type].table}`,
      undefined,
      (values) => {
        problem = compare(values);
        return problem === null;
      },
    );
    if (problem) return { checked, problem };
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

/**
 * Rebuilds the money from the chain and holds the tables to it: each day's spend per role
 * (the audited settlements), the holds still open (audited when taken, settled or released),
 * and the notifications recorded. A table edited behind the ledger's back (`UPDATE budget SET
 * spent_usd = 0`, a deleted hold or notice) disagrees with the chain.
 */
async function verifyMoney(tx: Tx, gathered: Gathered): Promise<AuditProblem | null> {
  const key = (day: unknown, role: unknown) => `${String(role)} on ${String(day)}`;
  const spent = new Map<string, number>();
  const open = new Map<string, string>();
  const closed = new Set<string>();
  for (const [action, role, text] of gathered.money) {
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
  const rows = await tx.all<{ day: string; role: string; spent_usd: number }>(
    "SELECT day, role, spent_usd FROM budget",
  );
  for (const { day, role, spent_usd } of rows) {
    const usd = Number(spent_usd);
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
  const held = await tx.all<{ id: string; day: string; role: string }>(
    "SELECT id, day, role FROM budget_reservations WHERE state = 'held'",
  );
  for (const { id, day, role } of held) {
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
  const { notices } = gathered;
  let unaudited: string | null = null;
  await tx.scan("SELECT id FROM notifications", undefined, (row) => {
    const id = String(row[0]);
    if (notices.delete(id)) return true;
    unaudited = id;
    return false;
  });
  if (unaudited !== null) {
    return {
      seq: null,
      entityId: unaudited,
      reason: `notification ${unaudited} has no audit row: it was written behind the ledger's back`,
    };
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
