/**
 * The seam between the ledger's rules and a database. Everything above it (the operations in
 * src/ledger/*.ts) is written once against these few calls; a backend (src/ledger/sqlite/,
 * later PostgreSQL) only moves rows.
 *
 * SQL above the seam is a portable subset: `?` or `@name` parameters, ISO-8601 text for
 * instants, and the {@link Dialect} for what differs between engines.
 */

import type { Clock } from "../clock.js";

/** Positional (`?`) or named (`@name`) parameters. */
export type Params = readonly unknown[] | object;

/**
 * What a rule must hold before it reads and writes, so it stays exact on a database without
 * one global write lock. SQLite's `BEGIN IMMEDIATE` already serialises every writer, so there
 * these are no-ops; a server database takes a row or advisory lock. Taken in this order only:
 * budget day, then a filing role, then task rows, then the audit head (last, before commit).
 */
export type LockTarget =
  | { kind: "budget-day"; day: string }
  /** The tasks one role files: its hourly guardrail counts them. */
  | { kind: "filer"; role: string }
  | { kind: "task"; id: string }
  | { kind: "audit-head" };

/** The parts of SQL that differ between engines. */
export interface Dialect {
  readonly name: "sqlite" | "postgres";
  /** The text of JSON member `key` of a JSON text column, as SQL. */
  jsonText(column: string, key: string): string;
  /** How many rows satisfy `condition`, as an aggregate expression (0 over no rows). */
  countIf(condition: string): string;
  /** An INSERT that does nothing when the key already exists. */
  insertIgnore(table: string, columns: readonly string[]): string;
  /** A LIMIT clause for the `@name` parameter; a negative value means no limit. */
  limit(parameter: string): string;
  /** `column`, written so the planner will not pick its index (a hint only SQLite needs). */
  unindexed(column: string): string;
  /**
   * The column that orders tasks by filing (oldest first) and ends the status index's
   * entries, so a claim needs no sort: SQLite's rowid. It orders decisions and assets too.
   */
  readonly filingOrder: string;
  /**
   * What ends a one-row `SELECT` that picks a task to claim, so writers on several
   * connections never pick the same row: `FOR UPDATE SKIP LOCKED` on a server database,
   * nothing on SQLite (one writer at a time already).
   */
  readonly lockPicked: string;
  /**
   * An `UPDATE tasks SET` term that appends the running claim's attempt to `attempt_log` (one
   * JSON object and a newline) when the row, before the update, is in progress under a claim;
   * otherwise appends nothing. The attempt's number is its place in the log (lines so far + 1),
   * never the `attempts` count, which a requeue resets and a release takes back: numbers run
   * 1..N over the task's whole life. It reads the row's old `attempt_log` and `started_at`
   * and the named parameters `@now`, `@attempt_outcome`, `@attempt_error`, `@attempt_cost`.
   */
  readonly endedAttempt: string;
  /**
   * The text of a JSON array of these columns' values, for `audit verify` to hash in bulk:
   * ideally exactly what `JSON.stringify` writes for the values the driver returns. Where it
   * differs (SQLite writes 1.0 for the float 1), verify restates the text in JavaScript or
   * checks the row the slow way: a difference costs time, never a wrong answer. Numbers must
   * read back as the same value. A value JSON cannot hold (a BLOB in SQLite) makes the whole
   * text `!`: never an error, never a JSON array. (PostgreSQL: `'[' || ... || ']'` over
   * `coalesce(to_json(column)::text, 'null')`.)
   */
  jsonArray(columns: readonly string[]): string;
  /**
   * A stored hash as lower-case hex; `''` when the column does not hold bytes. (PostgreSQL:
   * `encode(column, 'hex')`.)
   */
  hex(column: string): string;
  /**
   * `expression` over the rows, joined by `separator`, in `order`. (PostgreSQL:
   * `string_agg(expression, separator ORDER BY order)`.)
   */
  stringAgg(expression: string, separator: string, order: string): string;
  /** The UTF-8 bytes of a text, as binary. (PostgreSQL: `convert_to(text, 'UTF8')`.) */
  utf8(text: string): string;
  /**
   * The text of a JSON array of `expression` over the rows, in `order` as {@link stringAgg}.
   * `expression` is never binary. (PostgreSQL: `json_agg(expression ORDER BY order)`.)
   */
  jsonAgg(expression: string, order: string): string;
}

/** One unit of work: every call runs inside the same transaction. */
export interface Tx {
  readonly dialect: Dialect;
  /**
   * True when a write transaction holds the database's only write lock from its start (SQLite's
   * `BEGIN IMMEDIATE`): nothing it reads can change before it commits, so it may, for one,
   * know the seq its next audit row will get before it writes the row.
   */
  readonly serialised: boolean;
  /** Every row the statement returns. */
  all<R>(sql: string, params?: Params): Promise<R[]>;
  /** The first row, or undefined. */
  one<R>(sql: string, params?: Params): Promise<R | undefined>;
  /**
   * The first row as an array of column values, or undefined: for wide rows read only to be
   * hashed, where naming every column would cost more than the read.
   */
  tuple(sql: string, params?: Params): Promise<unknown[] | undefined>;
  /** Runs a statement that returns no rows; resolves to the number of rows it changed. */
  run(sql: string, params?: Params): Promise<number>;
  /**
   * Runs a write whose answer nobody reads (an audit row, a list appended to): a server
   * database sends it along with what follows instead of waiting for its round trip. A
   * failure still fails the transaction, before its commit counts.
   */
  send(sql: string, params?: Params): Promise<void>;
  /**
   * Hands each row, as an array of column values, to `visit` until it returns false: for
   * reads too big for one array. Resolves when the rows ran out or `visit` stopped.
   */
  scan(sql: string, params: Params | undefined, visit: (row: unknown[]) => boolean): Promise<void>;
  /** Holds `target` until the transaction ends (see {@link LockTarget}). */
  lock(target: LockTarget): Promise<void>;
  /**
   * The audit chain's head carried from one write transaction to the next, where one
   * connection is the only writer most of the time (SQLite): an append then need not read
   * the head. Absent where writers run side by side (PostgreSQL): the head is always read.
   */
  readonly chainHead?: ChainHeadMemo;
}

/** The newest audit row's place and hash. */
export interface AuditHead {
  seq: number;
  rowHash: string;
}

/** See {@link Tx.chainHead}. */
export interface ChainHeadMemo {
  /**
   * The head this connection's last committed append left, if no other connection has
   * written since; undefined when it must be read.
   */
  known(): AuditHead | undefined;
  /** The head this transaction's append left: kept if the transaction commits. */
  left(head: AuditHead): void;
}

/**
 * A database the ledger can live in. `transaction` is the only way to reach data: writes run
 * exclusively (or under the locks they take), reads in one consistent snapshot.
 */
export interface Storage {
  readonly dialect: Dialect;
  /** Where the ledger lives, for messages: a file path, or a URL without its password. */
  readonly location: string;
  /** `host:pid` of this process, as claims record it; recovery compares hosts with it. */
  readonly workerIdentity: string;
  /** The host part of {@link workerIdentity}. */
  readonly host: string;
  /**
   * The time every process of this ledger shares, when it spans hosts (the database server's
   * clock); absent where all writers share one machine's clock. A clock given to the client
   * explicitly (a test's) still wins.
   */
  readonly clock?: Clock;
  /** True when processes on several machines write this ledger (PostgreSQL). */
  readonly sharedByHosts: boolean;
  /**
   * Runs `work` in one transaction and commits; rolls back when it throws. A transaction the
   * database could not run (locked, a serialisation failure) is retried from the start, so
   * `work` must not have effects outside the transaction.
   */
  transaction<T>(mode: "write" | "read", work: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Calls `onChange` soon after any process commits to the ledger (it may also call it for
   * nothing). Returns a function that stops watching. Never throws: where watching is not
   * possible it reports through `onError` and the caller polls.
   */
  watch(onChange: () => void, onError?: (message: string) => void): () => void;
  /** Runs raw SQL outside every rule: migrations, and tests that tamper with the ledger. */
  exec(sql: string, params?: Params): Promise<unknown[]>;
  close(): Promise<void>;
}
