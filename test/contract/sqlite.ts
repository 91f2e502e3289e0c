import { join } from "node:path";
import { onTestFinished } from "vitest";
import { LedgerClient, ManualClock } from "../../src/index.js";
import { SqliteStorage } from "../../src/ledger/sqlite/storage.js";
import { tempDir } from "../helpers/temp.js";
import {
  CONTRACT_ROLES,
  CONTRACT_START,
  type OpenLedgerUnderTest,
  rawTransactionOver,
} from "./harness.js";

/** The contract's ledgers on SQLite: a fresh file each, tampered with through a second connection. */
export const openSqliteLedger: OpenLedgerUnderTest = async (settings = {}) => {
  const dbPath = join(tempDir(), "ledger.db");
  const clock = (settings.clock as ManualClock | undefined) ?? new ManualClock(CONTRACT_START);
  const ledger = await LedgerClient.open({ dbPath, clock, roles: CONTRACT_ROLES, ...settings });
  const tamperer = await SqliteStorage.open({
    file: dbPath,
    create: false,
    synchronous: "NORMAL",
    lockTimeoutMs: 5_000,
  });
  onTestFinished(async () => {
    await tamperer.close();
    await ledger.close();
  });
  const raw = async (sql: string, ...params: unknown[]) =>
    (await tamperer.exec(sql, params.length ? params : undefined)) as Record<string, unknown>[];
  return {
    ledger,
    clock,
    raw,
    rawTransaction: rawTransactionOver(raw, "BEGIN IMMEDIATE"),
  };
};
