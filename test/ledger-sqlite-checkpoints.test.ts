import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { connect } from "../src/ledger/open.js";
import { type CheckpointPolicy, pendingWalPages } from "../src/ledger/sqlite/checkpointer.js";
import type { SyncMode } from "../src/ledger/sqlite/database.js";
import { SqliteStorage } from "../src/ledger/sqlite/storage.js";
import { tempDir } from "./helpers/temp.js";

const require = createRequire(import.meta.url);

async function openWith(checkpoints?: CheckpointPolicy, synchronous: SyncMode = "NORMAL") {
  const file = join(tempDir(), "ledger.db");
  const storage = await SqliteStorage.open({
    file,
    create: true,
    synchronous,
    lockTimeoutMs: 5_000,
    ...(checkpoints ? { checkpoints } : {}),
  });
  const ledger = await connect(storage, { roles: ["code"] });
  return { file, storage, ledger };
}

/** Files, claims and completes `n` tasks: three write transactions each. */
async function lifecycles(ledger: Awaited<ReturnType<typeof openWith>>["ledger"], n: number) {
  for (let i = 0; i < n; i++) {
    await ledger.insertTask({ agentOwner: "code", title: `task ${i}` });
    const task = (await ledger.claimNext("code"))!;
    await ledger.complete(task.id, task.claimToken!, { costUsd: 0 });
  }
}

const walSize = (file: string) => statSync(`${file}-wal`).size;

describe("WAL checkpoints off the commit path", () => {
  it("leaves checkpoints to a worker thread, and the WAL stays within its bound", async () => {
    const { file, storage, ledger } = await openWith({
      softPages: 50,
      tailPages: 10,
      hardPages: 1_500,
      everyCommits: 1,
    });
    try {
      await lifecycles(ledger, 400);
      expect(storage.checkpointer.completed).toBeGreaterThan(0);
      expect(storage.checkpointer.failures).toBe(0);
      // 1,200 commits of ~4.5 pages are over 10 MiB of WAL without checkpoints; the bound is
      // 1,500 pages (at most 6 MiB with 4 KiB pages), however far behind a busy machine
      // leaves the worker: after a few passes the writer copies the rest itself.
      expect(walSize(file)).toBeLessThan(1_600 * 4_120);
    } finally {
      await ledger.close();
    }
  });

  it("checkpoints inline past the hard bound when no worker is asked", async () => {
    const { file, storage, ledger } = await openWith({
      softPages: 1_000_000,
      tailPages: 10,
      hardPages: 100,
      everyCommits: 4,
    });
    try {
      await lifecycles(ledger, 400);
      expect(storage.checkpointer.completed).toBe(0);
      // The bound (100 pages) plus the commits between two looks, far below ~19 MiB.
      expect(walSize(file)).toBeLessThan(1024 * 1024);
    } finally {
      await ledger.close();
    }
  });

  it("writes what it wrote back into the database when it closes", async () => {
    const { file, ledger } = await openWith({
      softPages: 1_000_000,
      tailPages: 10,
      hardPages: 1_000_000,
      everyCommits: 1,
    });
    // A second connection stays open, so SQLite's last-close checkpoint does not happen.
    const other = new Database(file);
    try {
      await lifecycles(ledger, 50);
      expect(pendingWalPages(file)).toBeGreaterThan(100);
    } finally {
      await ledger.close();
    }
    expect(pendingWalPages(file)).toBe(0);
    // Nothing was lost on the way: a fresh connection reads all 50 tasks, done.
    const db = new Database(file, { readonly: true });
    const { n } = db.prepare("SELECT COUNT(*) AS n FROM tasks WHERE status = 'done'").get() as {
      n: number;
    };
    db.close();
    other.close();
    expect(n).toBe(50);
  });
});

describe("the default checkpoint policy follows PRAGMA synchronous", () => {
  // 120 lifecycles write about 1,700 pages: past FULL's 1,000, short of NORMAL's 4,000.
  const LIFECYCLES = 120;

  /** Waits until the worker has finished a checkpoint, or `ms` have passed. */
  async function waitForCheckpoint(storage: SqliteStorage, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (storage.checkpointer.completed === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it("in FULL asks the worker at 1,000 pages, so the WAL rewinds before it grows far", async () => {
    const { storage, ledger } = await openWith(undefined, "FULL");
    try {
      await lifecycles(ledger, LIFECYCLES);
      await waitForCheckpoint(storage, 10_000);
      expect(storage.checkpointer.completed).toBeGreaterThan(0);
    } finally {
      await ledger.close();
    }
  }, 60_000);

  it("in NORMAL lets the WAL grow past 1,000 pages without a checkpoint", async () => {
    const { file, storage, ledger } = await openWith(undefined, "NORMAL");
    try {
      await lifecycles(ledger, LIFECYCLES);
      expect(pendingWalPages(file)).toBeGreaterThan(1_000);
      // Time for a checkpoint, had one been asked for, to finish (one takes milliseconds).
      await waitForCheckpoint(storage, 1_000);
      expect(storage.checkpointer.completed).toBe(0);
    } finally {
      await ledger.close();
    }
  });
});

describe("the checkpointer and SQLite's locks", () => {
  it("closing a ledger leaves another connection's read lock in the same process standing", async () => {
    const { file, ledger } = await openWith({
      softPages: 20,
      tailPages: 5,
      hardPages: 1_500,
      everyCommits: 1,
    });
    await lifecycles(ledger, 30);
    // A reader of this process holds a snapshot: no checkpoint may rewind the WAL under it.
    const reader = new Database(file, { readonly: true });
    reader.prepare("BEGIN").run();
    const before = reader.prepare("SELECT count(*) AS n FROM tasks").get() as { n: number };
    // Closing the ledger once closed the descriptor it read the WAL index through, and with
    // it every POSIX lock this process held on that file, the reader's included.
    await ledger.close();
    const writer = spawnSync(
      process.execPath,
      [
        "-e",
        `const D = require(${JSON.stringify(require.resolve("better-sqlite3"))});
         const db = new D(${JSON.stringify(file)}, { timeout: 0 });
         for (let i = 0; i < 50; i++) db.prepare("UPDATE tasks SET title = title || 'x'").run();
         const [r] = db.pragma("wal_checkpoint(TRUNCATE)");
         process.stdout.write(JSON.stringify(r));`,
      ],
      { encoding: "utf8" },
    );
    // The reader's snapshot still pins the WAL: the truncating checkpoint reports busy.
    expect(JSON.parse(writer.stdout)).toMatchObject({ busy: 1 });
    expect(reader.prepare("SELECT count(*) AS n FROM tasks").get()).toEqual(before);
    reader.prepare("COMMIT").run();
    reader.close();
  });
});
