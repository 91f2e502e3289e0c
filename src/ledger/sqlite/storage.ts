import { type FSWatcher, watch } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname } from "node:path";
import type { Statement } from "better-sqlite3";
import { LedgerError } from "../../errors.js";
import type { Dialect, LockTarget, Params, Storage, Tx } from "../storage.js";
import { SqliteChainHead } from "./chain-head.js";
import { Checkpointer, type CheckpointPolicy, checkpointsFor } from "./checkpointer.js";
import {
  type Db,
  describeSqliteError,
  isBusy,
  openDatabase,
  type SyncMode,
  withBusyRetry,
} from "./database.js";

/** How to open a SQLite ledger. */
export interface SqliteOptions {
  file: string;
  create: boolean;
  synchronous: SyncMode;
  /** Give up when another process holds the write lock this long. */
  lockTimeoutMs: number;
  /** When WAL checkpoints run (tests shrink the thresholds); by default, by `synchronous`. */
  checkpoints?: CheckpointPolicy;
}

export const sqliteDialect: Dialect = {
  name: "sqlite",
  jsonText: (column, key) => `json_extract(${column}, '$.${key}')`,
  countIf: (condition) => `COUNT(CASE WHEN ${condition} THEN 1 END)`,
  insertIgnore: (table, columns) =>
    `INSERT OR IGNORE INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
  limit: (parameter) => `LIMIT @${parameter}`,
  unindexed: (column) => `+${column}`,
  filingOrder: "rowid",
  lockPicked: "",
  endedAttempt: `attempt_log = attempt_log || CASE
      WHEN status = 'in_progress' AND claim_token IS NOT NULL THEN
        json_object('attempt', length(attempt_log) - length(replace(attempt_log, char(10), '')) + 1,
                    'started_at', COALESCE(started_at, @now),
                    'finished_at', @now, 'outcome', @attempt_outcome, 'error', @attempt_error,
                    'cost_usd', @attempt_cost) || char(10)
      ELSE '' END`,
  // json_array reads a BLOB as JSONB (or fails on one): a BLOB must never pass for a value.
  jsonArray: (columns) =>
    `CASE WHEN 'blob' IN (${columns.map((c) => `typeof(${c})`).join(", ")}) THEN '!' ELSE json_array(${columns.join(", ")}) END`,
  hex: (column) => `CASE WHEN typeof(${column}) = 'blob' THEN lower(hex(${column})) ELSE '' END`,
  // SQLite aggregates rows in the order the FROM subquery hands them over, its ORDER BY: an
  // ORDER BY inside the aggregate sorts them again (200 ms more to verify 300,000 rows). Rows
  // out of order would only fail verify's hash check, and be checked again one by one.
  stringAgg: (expression, separator) => `group_concat(${expression}, ${separator})`,
  // A ledger file is UTF-8 (SQLite's default encoding, which the ledger never changes).
  utf8: (text) => `CAST(${text} AS BLOB)`,
  jsonAgg: (expression) => `json_group_array(${expression})`,
};

type AnyStatement = Statement<unknown[], unknown>;

/**
 * The ledger in one SQLite file in WAL mode, through one better-sqlite3 connection. Writes
 * take the file's write lock up front (`BEGIN IMMEDIATE`), which is what makes every rule
 * exact across processes, so `lock()` has nothing left to do.
 */
export class SqliteStorage implements Storage {
  readonly dialect = sqliteDialect;
  readonly host = hostname();
  readonly workerIdentity = `${this.host}:${process.pid}`;
  readonly sharedByHosts = false;
  /** Transactions of this connection run one after another (see `transaction`). */
  private busy = false;
  private closing: Promise<void> | null = null;
  private readonly waiting: (() => void)[] = [];
  private closed = false;
  /** This connection committed a write: closing it checkpoints. */
  private wrote = false;
  private readonly statements = new Map<string, AnyStatement>();
  private readonly rawStatements = new Map<string, AnyStatement>();
  private readonly control: Record<"write" | "read" | "commit" | "rollback", AnyStatement>;
  private readonly tx: Tx;
  private readonly chainHead: SqliteChainHead;
  /** Runs WAL checkpoints off the commit path (see Checkpointer). */
  readonly checkpointer: Checkpointer;

  private constructor(
    private readonly db: Db,
    readonly location: string,
    private readonly lockTimeoutMs: number,
    checkpoints: CheckpointPolicy,
  ) {
    db.pragma("wal_autocheckpoint = 0");
    this.checkpointer = new Checkpointer(location, () => this.checkpointHere(), checkpoints);
    this.control = {
      write: db.prepare("BEGIN IMMEDIATE"),
      read: db.prepare("BEGIN DEFERRED"),
      commit: db.prepare("COMMIT"),
      rollback: db.prepare("ROLLBACK"),
    };
    const dataVersion = db.prepare("PRAGMA data_version").pluck();
    this.chainHead = new SqliteChainHead(() => Number(dataVersion.get()));
    this.tx = this.makeTx();
  }

  static async open(options: SqliteOptions): Promise<SqliteStorage> {
    const db = await withBusyRetry(options.file, options.lockTimeoutMs, () =>
      openDatabase(options.file, {
        create: options.create,
        synchronous: options.synchronous,
        busyTimeoutMs: 1_000,
      }),
    );
    return new SqliteStorage(
      db,
      options.file,
      options.lockTimeoutMs,
      options.checkpoints ?? checkpointsFor(options.synchronous),
    );
  }

  async transaction<T>(mode: "write" | "read", work: (tx: Tx) => Promise<T>): Promise<T> {
    // A free, open connection is taken at once: most calls find it so.
    if (this.busy || this.closed) await this.acquire();
    else this.busy = true;
    try {
      return await this.once(mode, work);
    } catch (error) {
      if (!isBusy(error)) throw describeSqliteError(error, this.location);
      // Another process holds the lock past the busy timeout: wait for it without blocking.
      return await withBusyRetry(this.location, this.lockTimeoutMs, () => this.once(mode, work));
    } finally {
      this.releaseConnection();
    }
  }

  /**
   * Takes the connection: one transaction at a time, or the awaits inside one would let
   * another call's statements run inside it. Waiters are handed the connection in turn.
   */
  private async acquire(): Promise<void> {
    if (this.busy) await new Promise<void>((resolve) => this.waiting.push(resolve));
    // Checked after the wait too: the connection may have been closed meanwhile.
    if (this.closed) {
      this.releaseConnection();
      throw new LedgerError("the ledger client is closed");
    }
    this.busy = true;
  }

  private releaseConnection(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.busy = false;
  }

  private async once<T>(mode: "write" | "read", work: (tx: Tx) => Promise<T>): Promise<T> {
    this.control[mode].run();
    this.chainHead.began();
    try {
      const result = await work(this.tx);
      this.control.commit.run();
      this.chainHead.committedNow();
      if (mode === "write") {
        this.wrote = true;
        this.checkpointer.afterCommit();
      }
      return result;
    } catch (error) {
      if (this.db.inTransaction) this.control.rollback.run();
      throw error;
    }
  }

  /**
   * A compiled statement for `sql`, once per connection and mode: compiling costs more than
   * running most of the ledger's statements.
   */
  private statement(sql: string, raw = false): AnyStatement {
    // Two maps, not a prefixed key: the SQL text itself stays the key, its hash computed once.
    const cache = raw ? this.rawStatements : this.statements;
    let statement = cache.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql) as AnyStatement;
      if (raw) statement.raw(true);
      cache.set(sql, statement);
    }
    return statement;
  }

  private makeTx(): Tx {
    // Plain functions over resolved promises: no async frame per statement. A statement that
    // throws still rejects the awaiting operation.
    return {
      dialect: this.dialect,
      serialised: true,
      chainHead: this.chainHead,
      all: <R>(sql: string, params?: Params) =>
        Promise.resolve(this.statement(sql).all(...bind(params)) as R[]),
      one: <R>(sql: string, params?: Params) =>
        Promise.resolve(this.statement(sql).get(...bind(params)) as R | undefined),
      tuple: (sql: string, params?: Params) =>
        Promise.resolve(this.statement(sql, true).get(...bind(params)) as unknown[] | undefined),
      run: (sql: string, params?: Params) =>
        Promise.resolve(this.statement(sql).run(...bind(params)).changes),
      // In-process: nothing to save by not waiting.
      send: (sql: string, params?: Params) => {
        this.statement(sql).run(...bind(params));
        return Promise.resolve();
      },
      scan: async (sql: string, params: Params | undefined, visit: (row: unknown[]) => boolean) => {
        // One synchronous loop over the cursor: no array of rows, no promise per row.
        const rows = this.statement(sql, true).iterate(...bind(params)) as Iterator<unknown[]>;
        try {
          for (let next = rows.next(); !next.done; next = rows.next()) {
            if (!visit(next.value)) return;
          }
        } finally {
          // A reader that stops early must end the statement, or the connection stays busy.
          rows.return?.();
        }
      },
      // BEGIN IMMEDIATE holds the file's one write lock for the whole transaction.
      lock: async (_target: LockTarget) => undefined,
    };
  }

  watch(onChange: () => void, onError?: (message: string) => void): () => void {
    // Every commit in WAL mode appends to the -wal file (a checkpoint may rewrite the main
    // file): watching both, by name in their folder, sees every process's writes.
    const dir = dirname(this.location);
    const names = new Set([basename(this.location), `${basename(this.location)}-wal`]);
    let watcher: FSWatcher | null = null;
    try {
      watcher = watch(dir, { persistent: false }, (_event, name) => {
        if (name === null || names.has(String(name))) onChange();
      });
      watcher.on("error", (error) => onError?.(`watching ${dir} stopped: ${error.message}`));
    } catch (error) {
      onError?.(`cannot watch ${dir} (${(error as Error).message}); polling only`);
    }
    return () => watcher?.close();
  }

  exec(sql: string, params?: Params): Promise<unknown[]> {
    return this.exclusive(async () => {
      let statement: AnyStatement;
      try {
        statement = this.db.prepare(sql) as AnyStatement;
      } catch (error) {
        // Several statements in one string: a script, run as it is.
        if (params !== undefined || !/more than one statement/.test((error as Error).message)) {
          throw error;
        }
        this.db.exec(sql);
        return [];
      }
      if (statement.reader) return statement.all(...bind(params));
      statement.run(...bind(params));
      return [];
    });
  }

  close(): Promise<void> {
    // Whatever is running or waiting finishes first; a second call waits for the first.
    this.closing ??= this.exclusive(async () => {
      this.closed = true;
      await this.checkpointer.close();
      // What this connection wrote goes back into the database file before it leaves (the
      // last connection to close does that anyway; others may stay open for long). A reader
      // (a dashboard, a report) leaves that to the writers.
      if (this.wrote) this.checkpointHere();
      this.db.close();
    });
    return this.closing;
  }

  /** Every statement this connection has compiled: what the plan test explains. */
  compiledSql(): string[] {
    return [...this.statements.keys(), ...this.rawStatements.keys()];
  }

  /** A PASSIVE checkpoint on this connection: never waits for a writer or a reader. */
  private checkpointHere(): void {
    try {
      this.db.pragma("wal_checkpoint(PASSIVE)");
    } catch {
      // Busy or read-only: the next checkpoint, by anyone, catches up.
    }
  }

  /** Runs `work` with the connection to itself, outside any transaction of ours. */
  private async exclusive<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await work();
    } finally {
      this.releaseConnection();
    }
  }
}

/** better-sqlite3's arguments: positional parameters spread, named ones as one object. */
function bind(params: Params | undefined): unknown[] {
  return params === undefined ? [] : Array.isArray(params) ? params : [params];
}
