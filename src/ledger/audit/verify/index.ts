import type { Scope } from "../../scope.js";
import { walkChain } from "./chain-pass.js";
import { verifyEntities } from "./entities.js";
import { Hashers } from "./hashers.js";
import { verifyMoney } from "./money.js";
import { ChainWalk } from "./walk.js";

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

/**
 * Walks the whole chain from genesis, then compares every audited row with the digest its
 * last audit row recorded, then rebuilds the money from the chain. Stops at the first problem
 * and names it. With `expectedHead` (a head hash printed earlier, e.g. in a morning report) it
 * also proves the log was not truncated or rewritten since. Run in a read transaction: one
 * snapshot, read by this thread; worker threads hash what it reads meanwhile.
 */
export async function verifyChain(
  scope: Scope,
  options: { expectedHead?: string; key?: string } = {},
  /** @internal Tests pass hashers without workers (the reference check alone), or spies. */
  hashers = new Hashers(),
): Promise<AuditVerification> {
  const walk = new ChainWalk(options);
  const result = (problem: AuditProblem | null, entitiesChecked = 0): AuditVerification => ({
    ok: problem === null,
    rowsChecked: walk.rowsChecked,
    sealedThrough: walk.sealedThrough,
    headHash: walk.prevHash,
    rowCount: walk.rowsChecked,
    entitiesChecked,
    problem,
  });
  try {
    const broken = await walkChain(scope.tx, walk, hashers);
    if (broken) return result(broken);
    if (options.expectedHead !== undefined && !walk.sawExpectedHead) {
      return result({
        seq: null,
        reason: `the expected head ${options.expectedHead} is not in the chain: the log was truncated or rewritten after it was recorded (it now ends at row ${walk.prevSeq})`,
        expected: options.expectedHead,
        actual: walk.prevHash,
      });
    }
    if (options.key && walk.sealedThrough === null && walk.rowsChecked > 0) {
      return result({
        seq: null,
        reason:
          "no row of the chain is sealed with PRODUCER_AUDIT_KEY: it was never sealed (no Producer ran with the key), or it was rewritten without its seals",
      });
    }
    const entities = await verifyEntities(scope.tx, walk.recorded, hashers);
    return result(
      entities.problem ?? (await verifyMoney(scope.tx, walk.money, walk.notices)),
      entities.checked,
    );
  } finally {
    await hashers.close();
  }
}
