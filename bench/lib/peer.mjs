// plainjob, the peer queue, opened with the same durability settings as the ledger.
import { createRequire } from "node:module";
import { better, defineQueue } from "plainjob";

const require = createRequire(import.meta.url);
const Database = require("better-sqlite3");

const silent = { error() {}, warn() {}, info() {}, debug() {} };

/**
 * A plainjob queue on its own better-sqlite3 connection. plainjob sets WAL and
 * synchronous=NORMAL itself; the mode asked for is applied after it, so both sides match.
 */
export function openPlainjob(file, synchronous) {
  const db = new Database(file);
  const queue = defineQueue({ connection: better(db), logger: silent });
  db.pragma(`synchronous = ${synchronous}`);
  const mode = db.pragma("synchronous", { simple: true });
  const journal = db.pragma("journal_mode", { simple: true });
  return { queue, db, pragmas: { synchronous: mode, journal_mode: journal } };
}

/** What plainjob does for one job in the lifecycle benchmark, in words for results.json. */
export const PLAINJOB_LIFECYCLE =
  "queue.add(type, data) [autocommit INSERT, JSON.stringify of the data] -> " +
  "queue.getAndMarkJobAsProcessing(type) [BEGIN IMMEDIATE; SELECT id by (status,type,next_run_at) index; UPDATE status; COMMIT] -> " +
  "queue.getJobById(id) [read; what plainjob's own worker does before running a job] -> " +
  "queue.markJobAsDone(id) [autocommit UPDATE]. 3 write transactions per job, no audit log, no attempt history, no lease.";
