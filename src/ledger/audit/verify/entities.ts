import type { Tx } from "../../storage.js";
import { AUDITED_ENTITIES, type AuditedEntity, digestColumns, digestOf } from "../canonical.js";
import type { AuditProblem } from "./index.js";
import type { RecordedDigest } from "./walk.js";

/**
 * Compares every audited row (tasks, decisions, assets) with the digest its last audit row
 * recorded, type by type in the order of {@link AUDITED_ENTITIES}, rows in filing order; then
 * names an entity the chain knows that is gone. Takes the entities it matched out of
 * `recorded`.
 */
export async function verifyEntities(
  tx: Tx,
  recordedByType: Map<AuditedEntity, Map<string, RecordedDigest>>,
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
