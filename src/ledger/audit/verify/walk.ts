import { AUDITED_ENTITIES, type AuditedEntity, rowHash } from "../canonical.js";
import { AUDIT_GENESIS_PREV_HASH, AUDIT_SEAL_ACTION, hashHex, sealMac } from "../chain.js";
import type { AuditProblem } from "./index.js";
import { MONEY_ACTIONS, type MoneyRow } from "./money.js";

/** An audit row as the walk reads it: seq, ts, actor, action, entity_type, entity_id, details, row_hash. */
export type ChainRow = [number, string, string, string, string, string | null, string, Uint8Array];

/** The audited columns of a chain row, in the order its hash covers them. */
export const HASHED_COLUMNS = [
  "seq",
  "ts",
  "actor",
  "action",
  "entity_type",
  "entity_id",
  "details",
] as const;

/** The last audit row about an entity, and the digest it recorded (null: none recorded). */
export interface RecordedDigest {
  seq: number;
  digest: string | null;
}

const DIGEST_KEY = '"digest":"';

/**
 * The digest an audit row recorded, read from its details without parsing them. Only called
 * once the row's hash has proved the details are the canonical JSON the ledger wrote, where
 * `"digest":"` is followed by 64 hex characters. When the key appears more than once (a
 * caller's details may nest their own `digest`), the details are parsed for the top level.
 */
export function recordedDigest(details: string): string | null {
  const at = details.indexOf(DIGEST_KEY);
  if (at < 0) return null;
  if (details.indexOf(DIGEST_KEY, at + 1) >= 0) {
    const digest = (JSON.parse(details) as { digest?: unknown }).digest;
    return typeof digest === "string" ? digest : null;
  }
  return details.slice(at + DIGEST_KEY.length, at + DIGEST_KEY.length + 64);
}

/**
 * A chunk of consecutive rows the hashers found intact (each row's hash matches its contents
 * and the stored hash before it), with what they read from its rows.
 */
export interface IntactChunk {
  rows: number;
  first: number;
  last: number;
  /** The stored hash the chunk's first row was hashed after, and its last row's. */
  prevHash: string;
  lastHash: string;
  /** The first row whose stored hash is the expected head, or -1. */
  headAt: number;
  /** With a key: the seals among the rows and the stored hash of the row before each. */
  seals: { seq: number; details: string; prevHash: string }[];
  /** Per audited type: the rows about one of its entities, in chain order. */
  entities: { type: AuditedEntity; ids: string[]; seqs: number[]; digests: (string | null)[] }[];
  notices: string[];
  money: MoneyRow[];
}

/**
 * The walk along the chain from genesis: where it stands after the rows it took in, and what
 * it gathered from them for the checks that follow (entities, money, notifications).
 * {@link ChainWalk.check} is the reference every row is held to.
 */
export class ChainWalk {
  /** row_hash of the last row taken in (genesis before the first). */
  prevHash = AUDIT_GENESIS_PREV_HASH;
  prevSeq = 0;
  rowsChecked = 0;
  sealedThrough: number | null = null;
  sawExpectedHead: boolean;
  /** Per audited entity type: each entity's last audit row and the digest it recorded. */
  readonly recorded = new Map<AuditedEntity, Map<string, RecordedDigest>>(
    (Object.keys(AUDITED_ENTITIES) as AuditedEntity[]).map((type) => [type, new Map()]),
  );
  /** The money rows (budget.*) in chain order. */
  readonly money: MoneyRow[] = [];
  /** Ids of the notifications the chain recorded. */
  readonly notices = new Set<string>();

  constructor(readonly options: { expectedHead?: string; key?: string }) {
    this.sawExpectedHead = options.expectedHead === AUDIT_GENESIS_PREV_HASH;
  }

  /** Checks the next row and takes it in: the problem it shows (and then stays out), or null. */
  check(row: ChainRow): AuditProblem | null {
    const seq = Number(row[0]);
    const action = row[3];
    const entityType = row[4];
    const entityId = row[5];
    const details = row[6];
    const stored = hashHex(row[7]);
    if (seq !== this.prevSeq + 1) {
      return {
        seq,
        reason: `row ${seq} follows row ${this.prevSeq}: the rows between were removed, or rows were reordered`,
        expected: String(this.prevSeq + 1),
        actual: String(seq),
      };
    }
    const computed = rowHash(this.prevHash, {
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
    const { key, expectedHead } = this.options;
    if (key && action === AUDIT_SEAL_ACTION) {
      const mac = (JSON.parse(details) as { mac?: unknown }).mac;
      if (mac !== sealMac(key, this.prevHash)) {
        return {
          seq,
          reason: `seal row ${seq} does not match the chain before it: the chain was rewritten, or PRODUCER_AUDIT_KEY is not the key that sealed it`,
        };
      }
      this.sealedThrough = seq;
    }
    if (entityId !== null) {
      const byId = this.recorded.get(entityType as AuditedEntity);
      if (byId) byId.set(entityId, { seq, digest: recordedDigest(details) });
      else if (action === "notification.recorded") this.notices.add(entityId);
    }
    if (MONEY_ACTIONS.includes(action)) this.money.push([action, entityId, details]);
    this.prevHash = stored;
    this.prevSeq = seq;
    this.rowsChecked++;
    if (stored === expectedHead) this.sawExpectedHead = true;
    return null;
  }

  /**
   * Takes in a chunk as {@link check} would have, row by row. False, taking nothing in, when
   * the chunk does not follow on from the rows before or a seal in it does not match: the
   * caller then checks its rows one by one, which names the problem.
   */
  accept(chunk: IntactChunk): boolean {
    if (
      chunk.first !== this.prevSeq + 1 ||
      chunk.last - chunk.first + 1 !== chunk.rows ||
      chunk.prevHash !== this.prevHash
    ) {
      return false;
    }
    let sealedThrough = this.sealedThrough;
    const { key } = this.options;
    if (key) {
      for (const seal of chunk.seals) {
        const mac = (JSON.parse(seal.details) as { mac?: unknown }).mac;
        if (mac !== sealMac(key, seal.prevHash)) return false;
        sealedThrough = seal.seq;
      }
    }
    for (const { type, ids, seqs, digests } of chunk.entities) {
      const byId = this.recorded.get(type)!;
      for (let i = 0; i < ids.length; i++) {
        byId.set(ids[i]!, { seq: seqs[i]!, digest: digests[i] ?? null });
      }
    }
    for (const id of chunk.notices) this.notices.add(id);
    this.money.push(...chunk.money);
    this.prevHash = chunk.lastHash;
    this.prevSeq = chunk.last;
    this.rowsChecked += chunk.rows;
    this.sealedThrough = sealedThrough;
    if (chunk.headAt >= 0) this.sawExpectedHead = true;
    return true;
  }
}
