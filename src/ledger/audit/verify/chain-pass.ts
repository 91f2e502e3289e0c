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

/**
 * One chunk of the chain, as one row: its size and seqs, and the UTF-8 text the hashers check
 * and read (per row its JSON array, a newline, its stored hash in hex). The database writes
 * the text, so this thread handles four values per chunk rather than eight per row.
 */
function chainChunkSql(d: Dialect): { first: string; next: string } {
  const line = `${d.jsonArray(HASHED_COLUMNS)} || ${NL} || ${d.hex("row_hash")}`;
  return chunkStatements(
    (where) => `SELECT count(*), min(seq), max(seq), ${d.utf8(d.stringAgg(line, NL, "seq"))}
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
  const { expectedHead, key } = walk.options;
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
    const bytes = row[3] as Buffer;
    const chunk: ChainChunk = {
      after,
      rows,
      first: Number(row[1]),
      last: Number(row[2]),
      prevHash,
      // Read before the bytes move to the worker.
      lastHash: bytes.toString("latin1", bytes.lastIndexOf(10) + 1),
      verdict: hashers.chain({
        bytes,
        rows,
        prev: prevHash,
        head: expectedHead ?? null,
        seal: key ? AUDIT_SEAL_ACTION : null,
        types: TYPES,
        money: MONEY_ACTIONS,
      }),
    };
    after = chunk.last;
    prevHash = chunk.lastHash;
    return chunk;
  };
  const settle = async (chunk: ChainChunk): Promise<AuditProblem | null> => {
    const verdict = await chunk.verdict;
    if (verdict?.intact && walk.accept(await intact(tx, chunk, verdict))) return null;
    return checkRows(tx, walk, chunk.after);
  };
  return inOrder(read, settle);
}

/** An intact chunk as the walk takes it in, from what the hashers read from its rows. */
async function intact(
  tx: Tx,
  chunk: ChainChunk,
  verdict: ChainVerdict & { intact: true },
): Promise<IntactChunk> {
  const entities = [];
  for (const [t, { ids, rows, digests }] of verdict.entities.entries()) {
    const seqs = rows.map((row) => chunk.first + row);
    for (const [i, digest] of digests.entries()) {
      // The details decide: they nest a digest of their own, or escape what follows the key.
      if (digest === 0) digests[i] = recordedDigest(await detailsOf(tx, seqs[i]!));
    }
    entities.push({ type: TYPES[t]!, ids, seqs, digests: digests as (string | null)[] });
  }
  return {
    rows: chunk.rows,
    first: chunk.first,
    last: chunk.last,
    prevHash: chunk.prevHash,
    lastHash: chunk.lastHash,
    headAt: verdict.headAt,
    seals: verdict.seals.map(({ row, details, prev }) => ({
      seq: chunk.first + row,
      details,
      prevHash: prev,
    })),
    entities,
    notices: verdict.notices,
    money: verdict.money,
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
