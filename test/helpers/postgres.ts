import postgres from "postgres";
import { describe, onTestFinished } from "vitest";

/** The server the PostgreSQL tests use; PRODUCER_TEST_PG_URL points them elsewhere. */
export const TEST_PG_URL =
  process.env.PRODUCER_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** Why the test server cannot be used, or null when it answers. */
async function unreachable(): Promise<string | null> {
  const probe = postgres(TEST_PG_URL, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await probe`SELECT 1`;
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await probe.end({ timeout: 1 }).catch(() => {});
  }
}

const problem = await unreachable();
if (problem !== null) {
  // In CI a backend that was not tested must not pass for one that was.
  if (process.env.CI === "true") {
    throw new Error(
      `PostgreSQL at ${TEST_PG_URL} is unreachable (${problem}); CI must test that backend: start the server or set PRODUCER_TEST_PG_URL`,
    );
  }
  console.warn(
    `\n*** PostgreSQL tests SKIPPED: ${TEST_PG_URL} is unreachable (${problem}). Start PostgreSQL or set PRODUCER_TEST_PG_URL. ***\n`,
  );
}

/** `describe` when the test server answers, else `describe.skip` (never under CI=true). */
export const describePostgres: ReturnType<typeof describe.skipIf> = describe.skipIf(
  problem !== null,
);

/** A row read back in a test: columns by name. */
// biome-ignore lint/suspicious/noExplicitAny: tests read whatever columns they selected.
export type Row = Record<string, any>;

/** The first row a query returns; a query that returns none fails the test. */
export async function oneRow(query: PromiseLike<readonly unknown[]>): Promise<Row> {
  const [row] = await query;
  if (row === undefined) throw new Error("the query returned no row");
  return row as Row;
}

let schemas = 0;

/** A schema name no other test (in this or another worker) uses. */
export function freshSchema(prefix = "t"): string {
  const random = Math.random().toString(36).slice(2, 8);
  return `${prefix}_${process.pid}_${++schemas}_${random}`;
}

/** The URL of `schema` on the test server. */
export const schemaUrl = (schema: string): string => `${TEST_PG_URL}?schema=${schema}`;

/**
 * A fresh schema name for this test, dropped before and after it, and a raw connection to
 * the test server with that schema on its search path (ended after the test).
 */
export async function scratchSchema(
  prefix = "t",
): Promise<{ schema: string; url: string; sql: postgres.Sql }> {
  const schema = freshSchema(prefix);
  const sql = postgres(TEST_PG_URL, {
    max: 1,
    onnotice: () => {},
    connection: { search_path: schema },
  });
  await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  onTestFinished(async () => {
    await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await sql.end({ timeout: 5 });
  });
  return { schema, url: schemaUrl(schema), sql };
}
