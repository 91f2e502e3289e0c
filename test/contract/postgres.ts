import postgres from "postgres";
import { onTestFinished } from "vitest";
import { LedgerClient, ManualClock } from "../../src/index.js";
import { CONTRACT_ROLES, CONTRACT_START, type OpenLedgerUnderTest } from "./harness.js";

/** The server the PostgreSQL tests use; PRODUCER_TEST_PG_URL points them elsewhere. */
export const TEST_PG_URL =
  process.env.PRODUCER_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

let schemas = 0;

/** A schema name no other test (in this or another worker) uses. */
export function freshSchema(prefix = "t"): string {
  const random = Math.random().toString(36).slice(2, 8);
  return `${prefix}_${process.pid}_${++schemas}_${random}`;
}

/** The URL of `schema` on the test server. */
export const schemaUrl = (schema: string): string => `${TEST_PG_URL}?schema=${schema}`;

/** A raw connection to the test server, ended after the test; drops `schema` before and after. */
export async function scratchSchema(schema: string): Promise<postgres.Sql> {
  const admin = postgres(TEST_PG_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  onTestFinished(async () => {
    await admin.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end({ timeout: 5 });
  });
  return admin;
}

/**
 * The contract's ledgers on PostgreSQL: a schema of their own each (dropped before and after),
 * tampered with through a separate connection as a database shell would.
 */
export const openPostgresLedger: OpenLedgerUnderTest = async (settings = {}) => {
  const schema = freshSchema("contract");
  const admin = await scratchSchema(schema);
  const clock = (settings.clock as ManualClock | undefined) ?? new ManualClock(CONTRACT_START);
  const ledger = await LedgerClient.open({
    ledgerUrl: schemaUrl(schema),
    clock,
    roles: CONTRACT_ROLES,
    ...settings,
  });
  onTestFinished(() => ledger.close());
  const tamperer = postgres(TEST_PG_URL, {
    max: 1,
    onnotice: () => {},
    connection: { search_path: schema },
  });
  onTestFinished(() => tamperer.end({ timeout: 5 }));
  void admin;
  const raw = async (sql: string, ...params: unknown[]) => {
    let n = 0;
    const text = sql.replace(/\?/g, () => `$${++n}`);
    return [...(await tamperer.unsafe(text, params as never[]))] as Record<string, unknown>[];
  };
  return {
    ledger,
    clock,
    raw,
    rawTransaction: async (statements) => {
      await raw("BEGIN");
      try {
        for (const [sql, ...params] of statements) await raw(sql, ...params);
        await raw("COMMIT");
      } catch (error) {
        await raw("ROLLBACK");
        throw error;
      }
    },
  };
};
