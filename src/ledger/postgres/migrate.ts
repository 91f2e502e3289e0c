import type postgres from "postgres";
import type { PostgresAddress } from "../../config/ledger-url.js";
import { LedgerMissing, LedgerStorageError } from "../../errors.js";
import { MIGRATIONS } from "./migrations/index.js";

type Sql = postgres.Sql<Record<string, never>>;

/**
 * Brings the schema up to date in one transaction, under an advisory lock keyed by the
 * schema: hosts starting together migrate once. A schema migrated by a newer version of
 * ai-producer is refused rather than written with rules that may no longer hold.
 */
export async function migrate(sql: Sql, address: PostgresAddress, create: boolean): Promise<void> {
  const { schema } = address;
  await sql.begin(async (t) => {
    await t.unsafe("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`${schema}:migrate`]);
    const exists = await t.unsafe("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
    if (exists.length === 0) {
      if (!create) {
        throw new LedgerMissing(
          `no ledger in schema ${schema} at ${address.shown}: run \`producer init --ledger-url ...\` first, or check ledger_url`,
        );
      }
      await t.unsafe(`CREATE SCHEMA ${schema}`);
    }
    await t.unsafe(
      `CREATE TABLE IF NOT EXISTS ${schema}.migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`,
    );
    const rows = await t.unsafe(`SELECT version FROM ${schema}.migrations`);
    const applied = new Set(rows.map((r) => Number(r.version)));
    const known = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
    const newest = Math.max(0, ...applied);
    if (newest > known) {
      throw new LedgerStorageError(
        `the ledger in schema ${schema} at ${address.shown} is at schema version ${newest}, newer than this ai-producer knows (${known}): upgrade ai-producer on this host`,
      );
    }
    for (const m of MIGRATIONS) {
      if (applied.has(m.version)) continue;
      if (m.sql !== "") await t.unsafe(m.sql).simple();
      await t.unsafe(
        `INSERT INTO ${schema}.migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
        [m.version, m.name, new Date().toISOString()],
      );
    }
  });
}
