import type { AuditHead, ChainHeadMemo } from "../storage.js";

/**
 * Carries the audit chain's head from one write transaction of a connection to its next, so
 * a writer that is alone on the file (the usual case) appends without reading the head first.
 *
 * SQLite's `PRAGMA data_version` changes when another connection, in any process, commits,
 * and never for this connection's own commits. The head is trusted only when the value read
 * inside this transaction (after `BEGIN IMMEDIATE`, so no commit can land before ours) equals
 * the value read in the transaction that left it. A spurious change (a checkpoint elsewhere)
 * only costs a read.
 */
export class SqliteChainHead implements ChainHeadMemo {
  private committed: { head: AuditHead; version: number } | null = null;
  private pending: AuditHead | null = null;
  /** `data_version` as this transaction sees it; read at most once per transaction. */
  private version: number | null = null;

  constructor(private readonly dataVersion: () => number) {}

  known(): AuditHead | undefined {
    const committed = this.committed;
    if (committed === null) return undefined;
    return committed.version === this.versionNow() ? committed.head : undefined;
  }

  left(head: AuditHead): void {
    // Read here, inside the transaction: read after COMMIT it could include another
    // connection's commit that landed in between, and a stale head would be trusted.
    this.versionNow();
    this.pending = head;
  }

  /** A transaction starts: what an earlier one left pending is gone with it. */
  began(): void {
    this.pending = null;
    this.version = null;
  }

  /** The transaction committed: its head, if it appended, is the one to carry. */
  committedNow(): void {
    if (this.pending !== null && this.version !== null) {
      this.committed = { head: this.pending, version: this.version };
    }
    this.pending = null;
  }

  private versionNow(): number {
    this.version ??= this.dataVersion();
    return this.version;
  }
}
