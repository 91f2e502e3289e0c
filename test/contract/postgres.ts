import { onTestFinished } from "vitest";
import { LedgerClient, ManualClock } from "../../src/index.js";
import { numberParameters, orderedValues } from "../../src/ledger/postgres/placeholders.js";
import { scratchSchema } from "../helpers/postgres.js";
import {
  CONTRACT_ROLES,
  CONTRACT_START,
  type OpenLedgerUnderTest,
  rawTransactionOver,
} from "./harness.js";

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
  // The contract writes its tampering the SQLite way (`?`); the backend's own numbering (which
  // leaves a `?` inside a literal alone) turns it into the server's `$1`.
  const raw = async (sql: string, ...params: unknown[]) => {
    const numbered = numberParameters(sql);
    const values = orderedValues(numbered, params) as never[];
    return [...(await tamperer.unsafe(numbered.text, values))] as Record<string, unknown>[];
  };
  return {
    ledger,
    clock,
    raw,
    rawTransaction: rawTransactionOver(raw, "BEGIN"),
  };
};
