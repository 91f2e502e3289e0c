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

/** Limits too wide to refuse anything: for seeding spend, not for testing the limits. */
const WIDE_LIMITS = {
  roleCapUsd: 100,
  ceilingUsd: 1000,
  softCapRatio: 1,
  roleSlots: 999,
  projectSlots: 999,
};

/**
 * Charges `role` `costUsd` at the instant `at` (ISO), as a settled call of that UTC day: the
 * clock is moved there, a hold taken and settled. For tests that seed a day's spend.
 */
export async function chargeAt(
  ledger: Pick<Client, "reserveBudget" | "settleBudget">,
  clock: ManualClock,
  role: string,
  at: string,
  costUsd: number,
): Promise<void> {
  clock.set(at);
  const day = new Date(clock.now()).toISOString().slice(0, 10);
  const hold = await ledger.reserveBudget({ day, role, minimumUsd: 0.01 }, WIDE_LIMITS);
  if (!hold.ok) throw new Error(`seeding a charge of ${role} at ${at} was refused`);
  await ledger.settleBudget(hold.reservation.id, costUsd, WIDE_LIMITS);
}
