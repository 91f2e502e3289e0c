import { onTestFinished } from "vitest";
import { LedgerClient, ManualClock } from "../../src/index.js";
import { scratchSchema } from "../helpers/postgres.js";
import { CONTRACT_ROLES, CONTRACT_START, type OpenLedgerUnderTest } from "./harness.js";

/**
 * The contract's ledgers on PostgreSQL: a schema of their own each (dropped before and after),
 * tampered with through a separate connection, as a database shell would.
 */
export const openPostgresLedger: OpenLedgerUnderTest = async (settings = {}) => {
  const { url, sql: tamperer } = await scratchSchema("contract");
  const clock = (settings.clock as ManualClock | undefined) ?? new ManualClock(CONTRACT_START);
  const ledger = await LedgerClient.open({
    ledgerUrl: url,
    clock,
    roles: CONTRACT_ROLES,
    ...settings,
  });
  onTestFinished(() => ledger.close());
  // The contract writes its tampering the SQLite way (`?`); the server numbers parameters.
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
