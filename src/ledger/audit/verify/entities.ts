import type { Dialect, Tx } from "../../storage.js";
import { AUDITED_ENTITIES, type AuditedEntity, digestColumns, digestOf } from "../canonical.js";
import { CHUNK_ROWS, chunkStatements, inOrder } from "./chunks.js";
import type { Hashers } from "./hashers.js";
import type { AuditProblem } from "./index.js";
import type { RecordedDigest } from "./walk.js";

const NL = "'\n'";

/** A type's rows in chunks, in filing order: the fast form and the reference form. */
function statements(d: Dialect, type: AuditedEntity) {
  const columns = AUDITED_ENTITIES[type].columns.map(([name]) => name);
  const from = (where: string) =>
    `FROM ${AUDITED_ENTITIES[type].table} ${where}ORDER BY ${d.filingOrder} LIMIT ${CHUNK_ROWS}`;
  // The key goes back and forth as text: a rowid past 2^53 is not a JavaScript number.
  const after = `${d.filingOrder} > CAST(? AS BIGINT) `;
  return {
    // Per chunk: its size, its last key, its ids, and per row the JSON array of its digest
    // columns: what the hashers digest.
    chunk: chunkStatements(
      (where) => `SELECT count(*), CAST(max(k) AS TEXT), ${d.jsonAgg("CAST(id AS TEXT)", "k")},
          ${d.utf8(d.stringAgg(d.jsonArray(columns), NL, "k"))}
        FROM (SELECT ${d.filingOrder} AS k, ${digestColumns(type)} ${from(where)}) AS chunk`,
      after,
    ),
    rows: chunkStatements((where) => `SELECT ${digestColumns(type)} ${from(where)}`, after),
  };
}

interface EntityChunk {
  /** The key the chunk starts after; null for the first. */
  after: string | null;
  rows: number;
  ids: string[];
  /** False when some id has no audit history: the reference check names it. */
  verdict: Promise<boolean | null>;
}

/**
 * Compares every audited row (tasks, decisions, assets) with the digest its last audit row
 * recorded, type by type in the order of {@link AUDITED_ENTITIES}, rows in filing order; then
 * names an entity the chain knows that is gone. Takes the entities it matched out of
 * `recorded`. The hashers digest chunks of rows while this thread reads the next; a chunk
 * they do not pass is compared again row by row by the reference check, which names the
 * problem or finds none (the database may write a number differently from JavaScript).
 */
export async function verifyEntities(
  tx: Tx,
  recordedByType: Map<AuditedEntity, Map<string, RecordedDigest>>,
  hashers: Hashers,
): Promise<{ checked: number; problem: AuditProblem | null }> {
  let checked = 0;
  for (const [type, recorded] of recordedByType) {
    const sql = statements(tx.dialect, type);
    let after: string | null = null;
    const read = async (): Promise<EntityChunk | null> => {
      const row = (await tx.tuple(
        after === null ? sql.chunk.first : sql.chunk.next,
        after === null ? [] : [after],
      ))!;
      const rows = Number(row[0]);
      if (rows === 0) return null;
      if (rows === CHUNK_ROWS) hashers.start();
      const ids = JSON.parse(String(row[2])) as string[];
      const expected = ids.map((id) => recorded.get(id)?.digest);
      const audited = expected.every((digest) => digest !== undefined);
      const chunk: EntityChunk = {
        after,
        rows,
        ids,
        verdict: audited
          ? hashers.digests({ bytes: row[3] as Buffer, expected: expected as (string | null)[] })
          : Promise.resolve(false),
      };
      after = String(row[1]);
      return chunk;
    };
    // The reference check of one row, as it stands: the problem, or null after taking it in.
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
    const settle = async (chunk: EntityChunk): Promise<AuditProblem | null> => {
      if ((await chunk.verdict) && chunk.ids.every((id) => recorded.has(id))) {
        for (const id of chunk.ids) recorded.delete(id);
        checked += chunk.rows;
        return null;
      }
      let problem: AuditProblem | null = null;
      const { rows } = sql;
      await tx.scan(
        chunk.after === null ? rows.first : rows.next,
        chunk.after === null ? [] : [chunk.after],
        (values) => {
          problem = compare(values);
          return problem === null;
        },
      );
      return problem;
    };
    const problem = await inOrder(read, settle);
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
