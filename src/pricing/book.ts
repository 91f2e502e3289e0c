import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import type { Clock } from "../clock.js";
import { asError } from "../errors.js";
import type { AuditLedger, Ledger } from "../ledger/ledger.js";
import { bundledPriceTable, loadPriceTable, type PriceTable } from "./table.js";

/** The audit action `producer pricing update` records, with the written file's digest. */
export const PRICES_RECORDED_ACTION = "pricing.updated";

/** Records in the ledger that a human's update wrote `file` with this sha256 (hex). */
export async function recordPriceDigest(
  ledger: AuditLedger,
  file: string,
  digest: string,
): Promise<void> {
  await ledger.appendAudit({
    action: PRICES_RECORDED_ACTION,
    entityType: "pricing",
    entityId: null,
    details: { file, sha256: digest },
  });
}

/** The sha256 (hex) the newest recorded price update wrote, or null when none was recorded. */
export async function recordedPriceDigest(
  ledger: Pick<Ledger, "latestAudit">,
): Promise<string | null> {
  const row = await ledger.latestAudit(PRICES_RECORDED_ACTION);
  if (!row) return null;
  const digest = (JSON.parse(row.details) as { sha256?: unknown }).sha256;
  return typeof digest === "string" ? digest : null;
}

/** What a change of the override file led to. */
export type PriceBookChange =
  /** A human's `producer pricing update` wrote it: the new prices are in force. */
  | { kind: "reloaded"; file: string; table: PriceTable }
  /** Anything else changed it: reported, and the prices in force stay as they were. */
  | { kind: "refused"; file: string; reason: string };

/** Options of {@link PriceBook}. */
export interface PriceBookOptions {
  /** The project's override file (`config.pricing.overrideFile`). */
  overrideFile: string;
  /**
   * The sha256 (hex) of the override last written by `producer pricing update`, as the
   * ledger's audit log records it; null when no update was ever recorded.
   */
  recordedDigest: () => Promise<string | null>;
  clock?: Clock;
}

/**
 * The prices a running Producer charges at. They are read once, at start, and replaced only
 * by an override that `producer pricing update` wrote and recorded in the ledger: a price
 * file changed by anything else (an agent with a shell, say) is reported, never applied.
 */
export class PriceBook {
  private table: PriceTable = bundledPriceTable();
  /** `mtime:size` of the override as last seen, or "absent". */
  private stamp = "";
  /** Digest of the file last looked at, so one refused version is reported once. */
  private seenDigest: string | null = null;

  constructor(private readonly options: PriceBookOptions) {}

  /** The prices in force. */
  current(): PriceTable {
    return this.table;
  }

  /**
   * Loads the prices at start: the bundled table with the override applied when its digest
   * is the one `pricing update` recorded. Resolves to a refusal when an override exists
   * that no update recorded (it is left unapplied), else null.
   */
  async load(): Promise<PriceBookChange | null> {
    this.stamp = this.stampNow();
    return this.adopt(true);
  }

  /** Looks at the override again (cheap when it did not change); call once per poll. */
  async refresh(): Promise<PriceBookChange | null> {
    const stamp = this.stampNow();
    if (stamp === this.stamp) return null;
    this.stamp = stamp;
    return this.adopt(false);
  }

  private async adopt(starting: boolean): Promise<PriceBookChange | null> {
    const file = this.options.overrideFile;
    const digest = digestOf(file);
    if (!starting && digest === this.seenDigest) return null;
    this.seenDigest = digest;
    if (digest === null) {
      // No override: at start that is the bundled table; later, a deletion nobody recorded.
      if (starting) return null;
      return {
        kind: "refused",
        file,
        reason: `${file} was deleted while the Producer ran; the prices in force stay until a restart`,
      };
    }
    const recorded = await this.options.recordedDigest();
    if (recorded !== digest) {
      return {
        kind: "refused",
        file,
        reason: `${file} ${starting ? "is not" : "changed and is not"} the price override \`producer pricing update\` wrote${recorded ? "" : " (none was ever recorded)"}; ${starting ? "the bundled prices are used" : "the prices in force stay"}. If you edited it yourself, record it with \`producer pricing update --source ${file}\``,
      };
    }
    try {
      this.table = loadPriceTable({ overrideFile: file, clock: this.options.clock });
    } catch (error) {
      return { kind: "refused", file, reason: asError(error).message };
    }
    return starting ? null : { kind: "reloaded", file, table: this.table };
  }

  private stampNow(): string {
    try {
      // No override is the usual case: said without an exception (and its stack) every poll.
      const stat = statSync(this.options.overrideFile, { throwIfNoEntry: false });
      return stat ? `${stat.mtimeMs}:${stat.size}:${stat.ino}` : "absent";
    } catch {
      return "absent";
    }
  }
}

/** The sha256 (hex) of a file's bytes, or null when it does not exist or cannot be read. */
export function digestOf(file: string): string | null {
  try {
    return createHash("sha256").update(readFileSync(file)).digest("hex");
  } catch {
    return null;
  }
}
