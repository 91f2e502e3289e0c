import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { asError, LedgerError, LedgerStorageError } from "../../errors.js";
import { MIGRATIONS } from "./migrations/index.js";

/** A better-sqlite3 handle. Only code under src/ledger/sqlite/ ever sees one. */
export type Db = Database.Database;

/** How hard SQLite works to make a commit durable; see SQLite's `PRAGMA synchronous`. */
export type SyncMode = "NORMAL" | "FULL";

export interface OpenOptions {
  /** Create the file (and schema) when it does not exist. */
  create: boolean;
  synchronous: SyncMode;
  /**
   * How long one statement may block on another process's write lock before we yield to the
   * event loop and try again. Short, so heartbeats and signals are not starved.
   */
  busyTimeoutMs: number;
}

/** The page size of a new ledger file (an existing file keeps its own). */
export const PAGE_SIZE = 2048;

/** Opens the ledger file, switches it to WAL and applies pending migrations. */
export function openDatabase(file: string, options: OpenOptions): Db {
  if (!options.create && !existsSync(file)) {
    throw new LedgerStorageError(
      `ledger not found at ${file}: run \`producer init\` in the project, or check ledger_db in producer.yaml`,
    );
  }
  let db: Db;
  try {
    if (options.create) mkdirSync(dirname(file), { recursive: true });
    db = new Database(file, { fileMustExist: !options.create, timeout: options.busyTimeoutMs });
  } catch (error) {
    throw describeSqliteError(error, file);
  }
  try {
    // A new file gets 2 KiB pages: every page a transaction touches is written whole to the
    // WAL (and synced in FULL), and the ledger's rows are small. Measured on the lifecycle
    // benchmark: 5-10% more tasks/s than 4 KiB. Only an empty file can take a page size.
    if (db.pragma("page_count", { simple: true }) === 0) db.pragma(`page_size = ${PAGE_SIZE}`);
    // journal_mode=WAL needs a write lock the first time; the busy timeout covers a race.
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${options.synchronous}`);
    db.pragma("foreign_keys = ON");
    migrate(db);
  } catch (error) {
    db.close();
    throw describeSqliteError(error, file);
  }
  return db;
}

function migrate(db: Db): void {
  db.exec(
    "CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
  );
  const applied = () =>
    new Set(
      (db.prepare("SELECT version FROM migrations").all() as { version: number }[]).map(
        (r) => r.version,
      ),
    );
  if (MIGRATIONS.every((m) => applied().has(m.version))) return;
  // A migration that rebuilds a table (0007) drops the old one, which with enforcement on
  // would delete through the keys that name it; the keys are checked whole before commit.
  // (The setting cannot change inside a transaction, hence here.)
  db.pragma("foreign_keys = OFF");
  try {
    migrateLocked(db, applied);
  } finally {
    db.pragma("foreign_keys = ON");
  }
}

function migrateLocked(db: Db, applied: () => Set<number>): void {
  // Re-check inside the write lock: another process may be migrating the same new file.
  db.transaction(() => {
    const done = applied();
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      db.exec(m.sql);
      db.prepare("INSERT INTO migrations (version, name, applied_at) VALUES (?, ?, ?)").run(
        m.version,
        m.name,
        new Date().toISOString(),
      );
    }
    const broken = db.pragma("foreign_key_check") as unknown[];
    if (broken.length > 0) {
      throw new LedgerStorageError(
        `migrating the ledger left ${broken.length} row(s) naming a missing row (first: ${JSON.stringify(broken[0])}); nothing was changed`,
      );
    }
  }).immediate();
}

/** SQLite error codes that mean "another connection holds the lock; try again". */
export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === "SQLITE_BUSY" || code === "SQLITE_BUSY_SNAPSHOT" || code === "SQLITE_LOCKED";
}

/**
 * Runs `work` and retries it while the database is busy, sleeping asynchronously between
 * tries so a long external lock (a backup, a `BEGIN EXCLUSIVE` in another tool) never
 * surfaces as SQLITE_BUSY and never freezes the process. Gives up after `deadlineMs`.
 */
export async function withBusyRetry<T>(
  file: string,
  deadlineMs: number,
  work: () => T | Promise<T>,
): Promise<T> {
  const started = Date.now();
  for (let tries = 0; ; tries++) {
    try {
      return await work();
    } catch (error) {
      if (!isBusy(error)) throw describeSqliteError(error, file);
      if (Date.now() - started >= deadlineMs) {
        throw new LedgerStorageError(
          `the ledger ${file} stayed locked by another process for ${Math.round(deadlineMs / 1000)} s; close whatever holds it (a sqlite3 shell, a backup) and retry`,
          { cause: error },
        );
      }
      await sleep(Math.min(5 + tries * 10, 100) * (0.5 + Math.random()));
    }
  }
}

/**
 * Turns a raw SQLite failure into a LedgerError that names the file and what to do; failures
 * of the store itself carry the `storage` code.
 */
export function describeSqliteError(error: unknown, file: string): Error {
  if (error instanceof LedgerError) return error;
  const err = asError(error);
  const code = (error as { code?: unknown })?.code;
  if (code === "ERR_DLOPEN_FAILED" || /Could not locate the bindings file/.test(err.message)) {
    // Not the file's fault: better-sqlite3's compiled part is missing or built for another
    // Node.js (after a Node upgrade, or an install whose native build failed).
    return new LedgerStorageError(
      `the SQLite driver better-sqlite3 cannot load its compiled part on Node.js ${process.versions.node} (${err.message.split("\n")[0]}): run \`npm rebuild better-sqlite3\` in the project (building it needs python3, make and a C++ compiler when no prebuilt binary fits)`,
      { cause: err },
    );
  }
  switch (code) {
    case "SQLITE_NOTADB":
      return new LedgerStorageError(
        `${file} is not a SQLite database: point ledger_db at the ledger`,
        {
          cause: err,
        },
      );
    case "SQLITE_READONLY":
    case "SQLITE_READONLY_DBMOVED":
    case "SQLITE_READONLY_RECOVERY":
    case "SQLITE_READONLY_CANTINIT":
    case "SQLITE_READONLY_DIRECTORY":
      return new LedgerStorageError(
        `the ledger ${file} is read-only: the producer needs write access to it and its folder`,
        { cause: err },
      );
    case "SQLITE_CANTOPEN":
      return new LedgerStorageError(
        `cannot open the ledger ${file}: check that the folder exists and is writable`,
        { cause: err },
      );
    case "SQLITE_CORRUPT":
      return new LedgerStorageError(`the ledger ${file} is corrupt (${err.message})`, {
        cause: err,
      });
    case "SQLITE_FULL":
      return new LedgerStorageError(`the disk holding ${file} is full`, { cause: err });
    default:
      return typeof code === "string" && code.startsWith("SQLITE_IOERR")
        ? new LedgerStorageError(`the ledger ${file} could not be read or written (${code})`, {
            cause: err,
          })
        : err;
  }
}
