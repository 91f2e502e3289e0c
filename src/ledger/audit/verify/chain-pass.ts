import type { Dialect, Tx } from "../../storage.js";
import { AUDITED_ENTITIES, type AuditedEntity } from "../canonical.js";
import { AUDIT_SEAL_ACTION } from "../chain.js";
import { CHUNK_ROWS, chunkStatements, inOrder } from "./chunks.js";
import type { ChainVerdict, Hashers } from "./hashers.js";
import type { AuditProblem } from "./index.js";
import { MONEY_ACTIONS } from "./money.js";
import {
  type ChainRow,
  type ChainWalk,
  HASHED_COLUMNS,
  type IntactChunk,
  recordedDigest,
} from "./walk.js";

const NL = "'\n'";
const TYPES = Object.keys(AUDITED_ENTITIES) as AuditedEntity[];
const JSON_TYPES = TYPES.map((type) => JSON.stringify(type));
const list = (values: readonly string[]) => values.map((v) => `'${v}'`).join(", ");

/**
 * One chunk of the chain, as one row: its size and seqs, the UTF-8 the hashers check (per row
 * its JSON array, a newline, its stored hash in hex), and, as JSON arrays, what the walk
 * gathers from its rows (the hashers read the recorded digests). The database builds the
 * strings, so this thread handles a few values per chunk rather than eight per row.
 */
function chainChunkSql(d: Dialect): { first: string; next: string } {
  const details = "CAST(details AS TEXT)";
  const id = "CAST(entity_id AS TEXT)";
  const seal = `action = '${AUDIT_SEAL_ACTION}'`;
  const notice = `action = 'notification.recorded' AND entity_id IS NOT NULL
    AND (entity_type IS NULL OR entity_type NOT IN (${list(TYPES)}))`;
  const money = `action IN (${list(MONEY_ACTIONS)})`;
  const entities = TYPES.flatMap((type) => {
    const about = `entity_type = '${type}' AND entity_id IS NOT NULL`;
    return [d.jsonAgg(id, "seq", about), d.jsonAgg("seq", "seq", about)];
  });
  const line = `${d.jsonArray(HASHED_COLUMNS)} || ${NL} || ${d.hex("row_hash")}`;
  return chunkStatements(
    (where) => `SELECT count(*), min(seq), max(seq), ${d.utf8(d.stringAgg(line, NL, "seq"))},
        ${d.jsonAgg("seq", "seq", seal)}, ${d.jsonAgg(details, "seq", seal)},
        ${d.jsonAgg(id, "seq", notice)},
        ${d.jsonAgg("action", "seq", money)}, ${d.jsonAgg(id, "seq", money)},
        ${d.jsonAgg(details, "seq", money)},
        ${entities.join(", ")}
      FROM (SELECT ${HASHED_COLUMNS.join(", ")}, row_hash
              FROM audit_log ${where}ORDER BY seq LIMIT ${CHUNK_ROWS}) AS chunk`,
    "seq > ? ",
  );
}

/** The same rows, as the reference check reads them. */
const ROWS = chunkStatements(
  (where) => `SELECT ${HASHED_COLUMNS.join(", ")}, row_hash
    FROM audit_log ${where}ORDER BY seq LIMIT ${CHUNK_ROWS}`,
  "seq > ? ",
);

interface ChainChunk {
  /** The seq the chunk starts after; null for the first. */
  after: number | null;
  rows: number;
  first: number;
  last: number;
  prevHash: string;
  lastHash: string;
  /** The aggregates of {@link chainChunkSql} after the text. */
  gathered: unknown[];
  sealSeqs: number[];
  verdict: Promise<ChainVerdict | null>;
}

/**
 * Walks the chain in chunks: the hashers check each chunk while this thread reads the next,
 * and the walk takes in each intact chunk whole. A chunk they do not find intact (an edited
 * row, or one the database writes differently from JavaScript) is checked again row by row
 * by the reference check, which names the problem or finds none. Returns the first problem.
 */
export function walkChain(tx: Tx, walk: ChainWalk, hashers: Hashers): Promise<AuditProblem | null> {
  const sql = chainChunkSql(tx.dialect);
  const head = walk.options.expectedHead ?? null;
  const sealed = Boolean(walk.options.key);
  let after: number | null = null;
  let prevHash = walk.prevHash;
  const read = async (): Promise<ChainChunk | null> => {
    const row = (await tx.tuple(
      after === null ? sql.first : sql.next,
      after === null ? [] : [after],
    ))!;
    const rows = Number(row[0]);
    if (rows === 0) return null;
    if (rows === CHUNK_ROWS) hashers.start();
    const [, first, last, bytes, seals, ...gathered] = row as [
      number,
      number,
      number,
      Buffer,
      string,
    ];
    const sealSeqs = sealed ? (JSON.parse(seals) as number[]) : [];
    // Read before the bytes move to the worker.
    const lastHash = bytes.toString("latin1", bytes.lastIndexOf(10) + 1);
    const job = {
      bytes,
      rows,
      prev: prevHash,
      head,
      seals: sealSeqs.map((seq) => seq - first),
      types: JSON_TYPES,
    };
    const chunk: ChainChunk = {
      after,
      rows,
      first: Number(first),
      last: Number(last),
      prevHash,
      lastHash,
      gathered,
      sealSeqs,
      verdict: hashers.chain(job),
    };
    after = chunk.last;
    prevHash = chunk.lastHash;
    return chunk;
  };
  const settle = async (chunk: ChainChunk): Promise<AuditProblem | null> => {
    const verdict = await chunk.verdict;
    const taken = verdict?.intact ? await intact(tx, chunk, verdict) : null;
    if (taken && walk.accept(taken)) return null;
    return checkRows(tx, walk, chunk.after);
  };
  return inOrder(read, settle);
}

/**
 * An intact chunk as the walk takes it in, from the aggregates the database gathered and the
 * digests the hashers read; null when the two do not list the same rows.
 */
async function intact(
  tx: Tx,
  chunk: ChainChunk,
  verdict: ChainVerdict & { intact: true },
): Promise<IntactChunk | null> {
  const [sealDetails, notices, moneyActions, moneyIds, moneyDetails, ...entities] =
    chunk.gathered.map((json) => JSON.parse(String(json)) as unknown[]);
  const seals = chunk.sealSeqs.map((seq, i) => ({
    seq,
    details: sealDetails![i] as string,
    prevHash: verdict.sealPrev[i]!,
  }));
  const money = moneyActions!.map(
    (action, i) => [action, moneyIds![i], moneyDetails![i]] as [string, string | null, string],
  );
  const byType = [];
  for (const [t, type] of TYPES.entries()) {
    const ids = entities[2 * t] as string[];
    const seqs = entities[2 * t + 1] as number[];
    const digests = verdict.digests[t]!;
    if (digests.length !== seqs.length) return null;
    for (const [i, digest] of digests.entries()) {
      if (digest === 0) digests[i] = recordedDigest(await detailsOf(tx, seqs[i]!));
    }
    byType.push({ type, ids, seqs, digests: digests as (string | null)[] });
  }
  return {
    rows: chunk.rows,
    first: chunk.first,
    last: chunk.last,
    prevHash: chunk.prevHash,
    lastHash: chunk.lastHash,
    headAt: verdict.headAt,
    seals,
    entities: byType,
    notices: notices as string[],
    money,
  };
}

async function detailsOf(tx: Tx, seq: number): Promise<string> {
  const row = await tx.tuple("SELECT details FROM audit_log WHERE seq = ?", [seq]);
  return String(row![0]);
}

/** The reference check over one chunk's rows: the first problem, or null. */
async function checkRows(tx: Tx, walk: ChainWalk, after: number | null) {
  let problem: AuditProblem | null = null;
  await tx.scan(after === null ? ROWS.first : ROWS.next, after === null ? [] : [after], (row) => {
    problem = walk.check(row as ChainRow);
    return problem === null;
  });
  return problem as AuditProblem | null;
}
