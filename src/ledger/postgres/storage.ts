import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import postgres from "postgres";
import { type Clock, systemClock } from "../../clock.js";
import type { PostgresAddress } from "../../config/ledger-url.js";
import { LedgerError, LedgerStorageError } from "../../errors.js";
import { bootId } from "../../identity/boot-id.js";
import type { LockTarget, Params, Storage, Tx } from "../storage.js";
import { DatabaseClock } from "./clock.js";
import { postgresDialect } from "./dialect.js";
import { describePostgresError, isConnectionLoss, isRetryable } from "./errors.js";
import { migrate } from "./migrate.js";
import { type NumberedSql, numberParameters, orderedValues } from "./placeholders.js";

/** How to open a PostgreSQL ledger. */
export interface PostgresOptions {
  address: PostgresAddress;
  /** Create the schema and its tables when missing (`producer init`), else refuse. */
  create: boolean;
  /** Connections this process may hold at once (one more serves LISTEN). */
  maxConnections?: number;
  /** How long to wait for the server to answer a connection attempt. */
  connectTimeoutSeconds?: number;
  /** This host's clock, which the database's corrects (tests give a skewed one). */
  hostClock?: Clock;
  /** This host's name in claims (tests pose as several hosts); default: hostname + boot id. */
  host?: string;
}

/**
 * This machine in claims: its name and its boot id, so a claim is judged by PID only on the
 * machine, and in the boot, that made it (containers often share a name, never a boot).
 */
function thisHost(): string {
  const boot = bootId();
  return boot ? `${hostname()}~${boot.slice(0, 8)}` : hostname();
}

type Sql = postgres.Sql<Record<string, never>>;
type Connection = postgres.ReservedSql<Record<string, never>>;

/** Retries of a transaction the server rolled back for a deadlock or a serialisation failure. */
const MAX_TRIES = 8;

// Writes run in READ COMMITTED and take the locks the rules ask for (`Tx.lock`); reads see one
// snapshot, so a report or `audit verify` never mixes two moments.
// Statements with parameters are always prepared (`prepare: true`): the driver sends an
// unprepared one only after asking the server for its parameter types, a round trip that
// also holds back everything queued behind it.
const BEGIN = {
  write: "BEGIN ISOLATION LEVEL READ COMMITTED",
  read: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
} as const;

/** `?`/`@name` statements numbered for PostgreSQL once each, by their text. */
const numbered = new Map<string, NumberedSql>();
function numberedSql(sql: string): NumberedSql {
  let found = numbered.get(sql);
  if (!found) {
    found = numberParameters(sql);
    numbered.set(sql, found);
  }
  return found;
}

/**
 * The ledger in one schema of a PostgreSQL database, shared by processes on several hosts.
 * Exactness comes from locks taken in one order (budget day, task rows, audit head), the
 * chain's head taken last so audit rows are numbered in commit order.
 */
export class PostgresStorage implements Storage {
  readonly dialect = postgresDialect;
  readonly host: string;
  readonly workerIdentity: string;
  readonly location: string;
  readonly sharedByHosts = true;
  /** The NOTIFY channel of this ledger: one per schema. */
  private readonly channel: string;

  private constructor(
    private readonly sql: Sql,
    private readonly address: PostgresAddress,
    readonly clock: DatabaseClock,
    host: string,
  ) {
    this.location = address.shown;
    this.channel = `producer_${address.schema}`;
    this.host = host;
    this.workerIdentity = `${host}:${process.pid}`;
  }

  static async open(options: PostgresOptions): Promise<PostgresStorage> {
    const { address } = options;
    const sql = postgres(address.url, {
      max: options.maxConnections ?? 4,
      connect_timeout: options.connectTimeoutSeconds ?? 10,
      idle_timeout: 60,
      onnotice: () => {},
      connection: { search_path: address.schema, application_name: "ai-producer" },
      // Counts and sums of BIGINT columns come back as numbers, as they do from SQLite.
      types: {
        int8: { to: 20, from: [20], serialize: (x: unknown) => String(x), parse: Number },
        numeric: { to: 1700, from: [1700], serialize: (x: unknown) => String(x), parse: Number },
      },
    }) as unknown as Sql;
    const clock = new DatabaseClock(sql, options.hostClock ?? systemClock);
    try {
      await migrate(sql, address, options.create);
      await clock.start();
    } catch (error) {
      clock.stop();
      await sql.end({ timeout: 1 }).catch(() => {});
      throw describePostgresError(error, address.shown);
    }
    return new PostgresStorage(sql, address, clock, options.host ?? thisHost());
  }

  async transaction<T>(mode: "write" | "read", work: (tx: Tx) => Promise<T>): Promise<T> {
    for (let tries = 1; ; tries++) {
      let connection: Connection;
      try {
        connection = await this.sql.reserve();
      } catch (error) {
        throw describePostgresError(error, this.location);
      }
      // Statements sent without waiting for their answer (BEGIN, locks, NOTIFY): the next
      // statement follows them on the wire, so each saves a round trip, and the server runs
      // them in order. Their outcome is checked before the transaction counts as committed.
      const sent = new InFlight();
      let committing = false;
      let lost = false;
      try {
        sent.add(connection.unsafe(BEGIN[mode]));
        const result = await work(this.makeTx(connection, sent));
        // Delivered at COMMIT, to every host listening (see watch).
        if (mode === "write") {
          sent.add(
            connection.unsafe("SELECT pg_notify($1, '')", [this.channel], { prepare: true }),
          );
        }
        committing = true;
        const commit = connection.unsafe("COMMIT");
        await commit;
        // A failed statement before it turns COMMIT into a silent ROLLBACK: that is a failure.
        await sent.settled();
        return result;
      } catch (thrown) {
        // The first failure on the wire is the cause; later ones only say "aborted".
        const error = (await sent.firstFailure()) ?? thrown;
        // A dead connection is neither rolled back nor handed back: the driver has retired
        // it already, and a statement sent on it (or releasing it into the pool, where the
        // next query would find it) ends in an exception nobody can catch.
        lost = isConnectionLoss(thrown) || isConnectionLoss(error);
        if (!committing && !lost) await connection.unsafe("ROLLBACK").catch(() => {});
        if (committing && isConnectionLoss(error)) {
          // The server may have committed before the line dropped: running the work again
          // could do it twice, so the caller is told, not retried for.
          throw new LedgerStorageError(
            `the connection to the ledger at ${this.location} was lost while committing; the change may or may not have been saved (check with \`producer status\`)`,
            { cause: error },
          );
        }
        if (isRetryable(error) && tries < MAX_TRIES) {
          await sleep(Math.min(2 ** tries, 100) * (0.5 + Math.random()));
          continue;
        }
        throw error instanceof LedgerError ? error : describePostgresError(error, this.location);
      } finally {
        if (!lost) connection.release();
      }
    }
  }

  private makeTx(connection: Connection, sent: InFlight): Tx {
    const held = new Set<string>();
    const query = (sql: string, params: Params | undefined) => {
      const n = numberedSql(sql);
      return connection.unsafe(n.text, orderedValues(n, params) as never[], { prepare: true });
    };
    return {
      dialect: this.dialect,
      serialised: false,
      all: async <R>(sql: string, params?: Params) => [...(await query(sql, params))] as R[],
      one: async <R>(sql: string, params?: Params) =>
        (await query(sql, params))[0] as R | undefined,
      tuple: async (sql: string, params?: Params) =>
        (await query(sql, params).values())[0] as unknown[] | undefined,
      run: async (sql: string, params?: Params) => (await query(sql, params)).count,
      send: async (sql: string, params?: Params) => sent.add(query(sql, params)),
      scan: async (sql, params, visit) => {
        // In batches through a cursor: a whole table never sits in memory at once.
        for await (const rows of query(sql, params).values().cursor(1_000)) {
          for (const row of rows) if (!visit(row as unknown[])) return;
        }
      },
      // Sent, not awaited: whatever this transaction sends next waits behind the lock on the
      // server, and reads (in READ COMMITTED) a snapshot taken after it was granted.
      lock: async (target: LockTarget) => {
        const key = lockKey(target);
        if (held.has(key)) return;
        held.add(key);
        sent.add(
          target.kind === "task"
            ? connection.unsafe("SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE", [target.id], {
                prepare: true,
              })
            : // Keyed by schema too: two projects on one database never wait on each other.
              connection.unsafe(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                [`${this.address.schema}:${key}`],
                { prepare: true },
              ),
        );
      },
    };
  }

  watch(onChange: () => void, onError?: (message: string) => void): () => void {
    let stopped = false;
    let unlisten: (() => Promise<void>) | null = null;
    this.sql
      // The driver listens on its own connection and listens again after a reconnect; each
      // (re)start calls onChange too, so nothing committed while it was away is missed.
      .listen(
        this.channel,
        () => onChange(),
        () => onChange(),
      )
      .then(
        (listening) => {
          unlisten = listening.unlisten;
          if (stopped) void unlisten().catch(() => {});
          else void this.checkDelivery(onError);
        },
        (error: Error) =>
          onError?.(
            `cannot LISTEN on the ledger at ${this.location} (${error.message}); polling only`,
          ),
      );
    return () => {
      stopped = true;
      void unlisten?.().catch(() => {});
    };
  }

  /**
   * LISTEN can succeed where notifications never arrive (a pooler in transaction mode hands
   * the session to others): one test NOTIFY, and a warning if it does not come back.
   */
  private async checkDelivery(onError?: (message: string) => void): Promise<void> {
    if (!onError) return;
    const probe = `${this.channel}_probe_${process.pid}_${Date.now()}`;
    let arrived = false;
    try {
      const listening = await this.sql.listen(probe, () => {
        arrived = true;
      });
      await this.sql.notify(probe, "");
      for (let waited = 0; waited < 3_000 && !arrived; waited += 50) await sleep(50);
      await listening.unlisten();
    } catch {
      arrived = false;
    }
    if (!arrived) {
      onError(
        `notifications from the ledger at ${this.location} do not arrive (a connection pooler in transaction mode?); polling only`,
      );
    }
  }

  async exec(sql: string, params?: Params): Promise<unknown[]> {
    try {
      if (params === undefined) return [...(await this.sql.unsafe(sql).simple())];
      const n = numberedSql(sql);
      return [...(await this.sql.unsafe(n.text, orderedValues(n, params) as never[]))];
    } catch (error) {
      throw describePostgresError(error, this.location);
    }
  }

  async close(): Promise<void> {
    this.clock.stop();
    await this.sql.end({ timeout: 5 });
  }
}

/** Statements sent ahead without waiting for them; their failures are kept, not thrown. */
class InFlight {
  private readonly outcomes: Promise<unknown>[] = [];

  add(statement: PromiseLike<unknown>): void {
    // Subscribing sends it now; a failure is caught here and looked at later.
    this.outcomes.push(
      Promise.resolve(statement).then(
        () => null,
        (error: unknown) => ({ error }),
      ),
    );
  }

  /** Resolves when every statement answered; rejects with the first failure. */
  async settled(): Promise<void> {
    const failure = await this.firstFailure();
    if (failure !== null) throw failure;
  }

  /** The first statement's failure, in the order they were sent, or null. */
  async firstFailure(): Promise<unknown> {
    for (const outcome of await Promise.all(this.outcomes)) {
      if (outcome !== null) return (outcome as { error: unknown }).error;
    }
    return null;
  }
}

function lockKey(target: LockTarget): string {
  switch (target.kind) {
    case "budget-day":
      return `budget-day:${target.day}`;
    case "filer":
      return `filer:${target.role}`;
    case "task":
      return `task:${target.id}`;
    case "audit-head":
      return "audit-head";
  }
}
