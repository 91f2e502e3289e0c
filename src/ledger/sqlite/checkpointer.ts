import { fstatSync, openSync, readSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { endianness } from "node:os";
import { Worker } from "node:worker_threads";
import type { SyncMode } from "./database.js";

/**
 * Where WAL checkpoints run. SQLite's own (`wal_autocheckpoint`) copies the WAL back into the
 * database inside whichever COMMIT crosses 1,000 pages, so one write in a thousand pays for
 * the others, and in FULL mode waits for an fsync of the whole file. The ledger turns that
 * off and checkpoints from a worker thread with its own connection instead, in PASSIVE mode:
 * it never blocks a writer, and a writer starting after a finished checkpoint rewinds the WAL.
 */
export interface CheckpointPolicy {
  /** Pages in the WAL not yet copied back that ask the worker for a checkpoint. */
  softPages: number;
  /**
   * What the writer copies itself once the worker has finished a pass: at most this many
   * pages (more goes back to the worker). Copying the last pages where no commit can land
   * meanwhile is what lets the next write rewind the WAL, but it costs the writer two
   * fsyncs and a write per page, so the worker takes passes until the tail is this short.
   */
  tailPages: number;
  /** Pages at which the writer checkpoints itself: the bound, if the worker falls behind. */
  hardPages: number;
  /** Commits between two looks at the WAL. */
  everyCommits: number;
}

/**
 * In NORMAL the worker starts at 4,000 pages (8 MiB of 2 KiB pages): each round ends with the
 * writer copying a short tail and two fsyncs, so fewer, longer rounds cost the writer less
 * (measured: 4-7% more lifecycles per second than SQLite's own 1,000). 16,000 pages is the
 * bound.
 */
export const NORMAL_CHECKPOINTS: CheckpointPolicy = {
  softPages: 4_000,
  tailPages: 64,
  hardPages: 16_000,
  everyCommits: 16,
};

/**
 * In FULL the worker starts at 1,000 pages. A WAL file grows until the first checkpoint lets
 * the writer rewind it, and in FULL each commit that makes the file longer also waits for the
 * file system to journal its new size: on ext4 here a 10 KiB write and fsync took 150 µs and
 * three sleeps when it grew the file, 90 µs and two when it did not. A quarter of the pages is
 * a quarter of the commits that pay for it (bench runs on one day: 0.69-0.73× plainjob, from
 * 0.60-0.68×).
 * NORMAL syncs no commit, so a growing file costs it nothing and longer rounds win there.
 */
export const FULL_CHECKPOINTS: CheckpointPolicy = { ...NORMAL_CHECKPOINTS, softPages: 1_000 };

/** The checkpoint policy for a connection's `PRAGMA synchronous`. */
export function checkpointsFor(synchronous: SyncMode): CheckpointPolicy {
  return synchronous === "FULL" ? FULL_CHECKPOINTS : NORMAL_CHECKPOINTS;
}

/** Worker passes in a row before the writer copies what is left, however much. */
const MAX_PASSES = 4;

// The worker is plain JavaScript evaluated from this string, so it runs the same from the
// built package and from the TypeScript sources under test; the driver path comes resolved.
// It talks through shared memory, not messages: a writer in a tight loop of transactions
// never returns to its event loop, and must still see that a checkpoint finished.
// state: [0] checkpoints asked for, [1] checkpoints finished, [2] failures, [3] stop.
const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const state = workerData.state;
const db = new Database(workerData.file, { fileMustExist: true, timeout: 5000 });
db.pragma("wal_autocheckpoint = 0");
let seen = 0;
for (;;) {
  Atomics.wait(state, 0, seen);
  if (Atomics.load(state, 3) === 1) break;
  seen = Atomics.load(state, 0);
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch {
    Atomics.add(state, 2, 1);
  }
  Atomics.store(state, 1, seen);
}
db.close();
`;

/** Decides when to checkpoint one connection's file, and runs the checkpoints off its thread. */
export class Checkpointer {
  private worker: Worker | null = null;
  private readonly state = new Int32Array(new SharedArrayBuffer(16));
  private asked = 0;
  /** The last finished worker checkpoint this side has followed up. */
  private followed = 0;
  private commits = 0;
  /** Worker passes since the writer last copied the tail itself. */
  private passes = 0;
  private readonly walIndex: WalIndex;

  constructor(
    private readonly file: string,
    private readonly checkpointInline: () => void,
    private readonly policy: CheckpointPolicy,
  ) {
    this.walIndex = new WalIndex(`${file}-shm`);
  }

  /** Checkpoints the worker finished. */
  get completed(): number {
    return Atomics.load(this.state, 1);
  }

  /** Worker checkpoints that failed (busy, I/O); the hard bound still holds the WAL. */
  get failures(): number {
    return Atomics.load(this.state, 2);
  }

  /** Called after each write commit: cheap, and now and then a look at the WAL. */
  afterCommit(): void {
    const finished = this.completed;
    if (finished > this.followed) {
      // The worker copied the bulk while we kept writing. A checkpoint alongside a busy
      // writer never catches up on its own: once what is left is short, copying it here
      // leaves the WAL fully copied, so the next write rewinds it to the start. Until then
      // the worker takes another pass (each shorter than the one before).
      this.followed = finished;
      const pending = this.walIndex.pendingPages();
      // A worker that cannot get ahead of the writer (a slow disk, a busy machine) is not
      // chased for ever: after a few passes, or past the bound, the writer copies the rest.
      if (
        pending <= this.policy.tailPages ||
        pending >= this.policy.hardPages ||
        ++this.passes >= MAX_PASSES
      ) {
        this.copyRest();
      } else {
        this.ask();
      }
      return;
    }
    if (++this.commits < this.policy.everyCommits) return;
    this.commits = 0;
    const pending = this.walIndex.pendingPages();
    if (pending >= this.policy.hardPages) this.copyRest();
    else if (pending >= this.policy.softPages && finished === this.asked) this.ask();
  }

  /** The writer copies what is left itself; the worker's next round starts from none. */
  private copyRest(): void {
    this.passes = 0;
    this.checkpointInline();
  }

  private ask(): void {
    // Started on first need: a short-lived process never pays for a thread.
    this.worker ??= this.start();
    Atomics.store(this.state, 0, ++this.asked);
    Atomics.notify(this.state, 0);
  }

  private start(): Worker {
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { file: this.file, driver, state: this.state },
    });
    // It never keeps the process alive; close() stops it properly.
    worker.unref();
    worker.on("error", () => {
      // A worker that cannot open the file: count it as failing; the bound still holds.
      Atomics.add(this.state, 2, 1);
      Atomics.store(this.state, 1, this.asked);
      this.followed = this.asked;
    });
    return worker;
  }

  /** Stops the worker, letting a checkpoint under way finish first. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    // Held while we wait for it: an unreferenced worker alone would let the process end here.
    worker.ref();
    Atomics.store(this.state, 3, 1);
    Atomics.add(this.state, 0, 1);
    Atomics.notify(this.state, 0);
    await exited;
  }
}

/** Pages in `file`'s WAL not yet copied back into it (0 without a WAL). */
export function pendingWalPages(file: string): number {
  return new WalIndex(`${file}-shm`).pendingPages();
}

/**
 * Open descriptors of `-shm` files, by path, never closed while the process lives. Closing a
 * descriptor drops every POSIX lock the process holds on that file, SQLite's own included
 * ("How To Corrupt An SQLite Database File", 2.2): a connection of this process would go on
 * believing it holds its read or checkpoint locks, and another process could rewind the WAL
 * under a checkpoint still copying from it. One descriptor per ledger file is the price.
 */
const shmDescriptors = new Map<string, { fd: number; ino: number }>();

/** A descriptor of the `-shm` file now at `path` (a new one if the file was replaced). */
function shmDescriptor(path: string): number | null {
  let ino: number;
  try {
    ino = statSync(path).ino;
  } catch {
    return null;
  }
  const known = shmDescriptors.get(path);
  if (known && known.ino === ino) return known.fd;
  // The old descriptor, if any, stays open: closing it is the hazard above.
  const fd = openSync(path, "r");
  shmDescriptors.set(path, { fd, ino: fstatSync(fd).ino });
  return fd;
}

/**
 * Reads how far the WAL is ahead of the database from the shared WAL index (the `-shm` file,
 * whose layout SQLite documents in "WAL-mode File Format"): the header's last valid frame
 * (`mxFrame`, offset 16) less the frames already copied back (`nBackfill`, offset 96), both
 * 32-bit integers in the machine's byte order. A pread of 100 bytes: no SQL, no lock.
 */
class WalIndex {
  private fd: number | null = null;
  private readonly buffer = Buffer.alloc(100);

  constructor(private readonly path: string) {}

  pendingPages(): number {
    try {
      this.fd ??= shmDescriptor(this.path);
      if (this.fd === null) return 0;
      if (readSync(this.fd, this.buffer, 0, 100, 0) < 100) return 0;
    } catch {
      return 0;
    }
    const read = endianness() === "LE" ? "readUInt32LE" : "readUInt32BE";
    return Math.max(0, this.buffer[read](16) - this.buffer[read](96));
  }
}
