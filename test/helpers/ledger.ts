import { join } from "node:path";
import { onTestFinished } from "vitest";
import {
  type LedgerClient as Client,
  LedgerClient,
  type LedgerOptions,
  ManualClock,
} from "../../src/index.js";
import { tempDir } from "./temp.js";

/** A ledger on a real file in a fresh temp dir, closed after the test. */
export async function tempLedger(
  options: Partial<LedgerOptions> = {},
): Promise<{ ledger: Client; clock: ManualClock; dbPath: string; dir: string }> {
  const dir = tempDir();
  const dbPath = join(dir, "ledger.db");
  const clock =
    (options.clock as ManualClock | undefined) ??
    new ManualClock(Date.parse("2026-05-06T09:00:00Z"));
  const ledger = await LedgerClient.open({
    dbPath,
    clock,
    roles: ["producer", "design", "code", "qa"],
    ...options,
  });
  onTestFinished(() => ledger.close());
  return { ledger, clock, dbPath, dir };
}
