import type { ClientSettings, LedgerClient, ManualClock } from "../../src/index.js";

/** One ledger on the backend under test, with what the contract's tests need around it. */
export interface LedgerUnderTest {
  ledger: LedgerClient;
  clock: ManualClock;
  /**
   * Runs SQL behind the ledger's back, as a tamperer with a database shell would, through
   * the backend's own raw-exec hook (`Storage.exec`); resolves to the rows it returned.
   */
  raw(sql: string, ...params: unknown[]): Promise<Record<string, unknown>[]>;
  /** Runs several statements behind the ledger's back in one transaction. */
  rawTransaction(statements: readonly (readonly [string, ...unknown[]])[]): Promise<void>;
}

/** Opens a fresh, empty ledger on the backend under test; closed after the test. */
export type OpenLedgerUnderTest = (settings?: Partial<ClientSettings>) => Promise<LedgerUnderTest>;

/** The roles every contract ledger knows unless a test says otherwise. */
export const CONTRACT_ROLES = ["producer", "design", "code", "qa"];

/** The instant every contract ledger's clock starts at. */
export const CONTRACT_START = Date.parse("2026-05-06T09:00:00Z");

/**
 * `rawTransaction` over a backend's `raw`: the statements between `begin` (the backend's way
 * to open a write transaction) and COMMIT, rolled back when one fails.
 */
export function rawTransactionOver(
  raw: LedgerUnderTest["raw"],
  begin: string,
): LedgerUnderTest["rawTransaction"] {
  return async (statements) => {
    await raw(begin);
    try {
      for (const [sql, ...params] of statements) await raw(sql, ...params);
      await raw("COMMIT");
    } catch (error) {
      await raw("ROLLBACK");
      throw error;
    }
  };
}
