import { type FSWatcher, watch } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname } from "node:path";
import type { Statement } from "better-sqlite3";
import { LedgerError } from "../../errors.js";
import type { Dialect, LockTarget, Params, Storage, Tx } from "../storage.js";
import { type Db, openDatabase, type SyncMode, withBusyRetry } from "./database.js";

/** How to open a SQLite ledger. */
export interface SqliteOptions {
  file: string;
  create: boolean;
  synchronous: SyncMode;
  /** Give up when another process holds the write lock this long. */
  lockTimeoutMs: number;
}

export const sqliteDialect: Dialect = {
  name: "sqlite",
  jsonText: (column, key) => `json_extract(${column}, '$.${key}')`,
  countIf: (condition) => `COUNT(CASE WHEN ${condition} THEN 1 END)`,
  insertIgnore: (table, columns) =>
    `INSERT OR IGNORE INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
  limit: (parameter) => `LIMIT @${parameter}`,
  unindexed: (column) => `+${column}`,
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
  /** Transactions of this connection run one after another (see `transaction`). */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly statements = new Map<string, AnyStatement>();
  private readonly control: Record<"write" | "read" | "commit" | "rollback", AnyStatement>;
  private readonly tx: Tx;

  private constructor(
    private readonly db: Db,
    readonly location: string,
    private readonly lockTimeoutMs: number,
  ) {
    this.control = {
      write: db.prepare("BEGIN IMMEDIATE"),
      read: db.prepare("BEGIN DEFERRED"),
      commit: db.prepare("COMMIT"),
      rollback: db.prepare("ROLLBACK"),
    };
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
    return new SqliteStorage(db, options.file, options.lockTimeoutMs);
  }

  transaction<T>(mode: "write" | "read", work: (tx: Tx) => Promise<T>): Promise<T> {
    // One connection holds one transaction at a time; the awaits inside `work` would otherwise
    // let another call's statements run inside it.
    return this.serial(() =>
      withBusyRetry(this.location, this.lockTimeoutMs, () => this.once(mode, work)),
    );
  }

  private async once<T>(mode: "write" | "read", work: (tx: Tx) => Promise<T>): Promise<T> {
    this.control[mode].run();
    try {
      const result = await work(this.tx);
      this.control.commit.run();
      return result;
    } catch (error) {
      if (this.db.inTransaction) this.control.rollback.run();
      throw error;
    }
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new LedgerError("the ledger client is closed"));
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * A compiled statement for `sql`, once per connection and mode: compiling costs more than
   * running most of the ledger's statements.
   */
  private statement(sql: string, raw = false): AnyStatement {
    const key = raw ? `raw:${sql}` : sql;
    let statement = this.statements.get(key);
    if (!statement) {
      statement = this.db.prepare(sql) as AnyStatement;
      if (raw) statement.raw(true);
      this.statements.set(key, statement);
    }
    return statement;
  }

  private makeTx(): Tx {
    const bind = (params: Params | undefined): unknown[] =>
      params === undefined ? [] : Array.isArray(params) ? params : [params];
    return {
      dialect: this.dialect,
      all: async <R>(sql: string, params?: Params) =>
        this.statement(sql).all(...bind(params)) as R[],
      one: async <R>(sql: string, params?: Params) =>
        this.statement(sql).get(...bind(params)) as R | undefined,
      run: async (sql: string, params?: Params) => this.statement(sql).run(...bind(params)).changes,
      batches: (sql: string, params?: Params, size = 2_000) => {
        const rows = this.statement(sql, true).iterate(...bind(params)) as Iterator<unknown[]>;
        return (async function* () {
          try {
            for (;;) {
              const batch: unknown[][] = [];
              for (let next = rows.next(); !next.done; next = rows.next()) {
                batch.push(next.value);
                if (batch.length === size) break;
              }
              if (batch.length === 0) return;
              yield batch;
            }
          } finally {
            // A reader that stops early must end the statement, or the connection stays busy.
            rows.return?.();
          }
        })();
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
    return this.serial(async () => {
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
      const args = params === undefined ? [] : Array.isArray(params) ? params : [params];
      if (statement.reader) return statement.all(...args);
      statement.run(...args);
      return [];
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    this.db.close();
  }
}
