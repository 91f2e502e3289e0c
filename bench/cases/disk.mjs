// 2. Raw disk ceiling: one-row autocommit inserts with the ledger's settings (WAL, NORMAL and
// FULL), and the file system's write+fdatasync rate. The lifecycle benchmark measures the same
// ceiling again right before each of its runs and prints its figures as fractions of it.
import { fsyncRate, rawInsertRate } from "../lib/disk.mjs";
import { removeDir, tempDir } from "../lib/temp.mjs";

export const name = "disk";
export const title = "Raw disk ceiling";

export async function run({ settings, log }) {
  const runs = settings.BENCH_RUNS;
  const normal = [];
  const full = [];
  const fsyncs = [];
  const warm = tempDir("bench-disk-warm-");
  rawInsertRate(warm, "NORMAL", Math.ceil(settings.BENCH_RAW_INSERTS_NORMAL / 5));
  rawInsertRate(warm, "FULL", Math.ceil(settings.BENCH_RAW_INSERTS_FULL / 5));
  fsyncRate(warm, Math.ceil(settings.BENCH_FSYNCS / 5));
  removeDir(warm);
  for (let r = 0; r < runs; r++) {
    const dir = tempDir("bench-disk-");
    normal.push(rawInsertRate(dir, "NORMAL", settings.BENCH_RAW_INSERTS_NORMAL));
    full.push(rawInsertRate(dir, "FULL", settings.BENCH_RAW_INSERTS_FULL));
    fsyncs.push(fsyncRate(dir, settings.BENCH_FSYNCS));
    removeDir(dir);
    log(
      `  run ${r + 1}/${runs}: NORMAL ${normal.at(-1).toFixed(0)}, FULL ${full.at(-1).toFixed(0)} commits/s, fsync ${fsyncs.at(-1).toFixed(0)}/s`,
    );
  }
  return {
    figures: [
      {
        key: "raw_NORMAL",
        label: "one-row insert per txn, NORMAL",
        unit: "commits/s",
        runs: normal,
      },
      { key: "raw_FULL", label: "one-row insert per txn, FULL", unit: "commits/s", runs: full },
      { key: "fsync", label: "4 KiB write + fdatasync", unit: "fsyncs/s", runs: fsyncs },
      {
        key: "full_vs_fsync",
        label: "FULL commits/s as a fraction of fsyncs/s",
        unit: "fraction",
        runs: full.map((f, i) => f / fsyncs[i]),
      },
    ],
    details: {
      table:
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL); one 32-byte row per autocommit INSERT, timed after 1,100 untimed inserts so the WAL is past its first checkpoint and reused (steady state: a fresh, growing WAL makes every FULL fsync also journal the new file size, which undercounts the ceiling)",
      pragmas:
        "journal_mode=WAL, synchronous=NORMAL|FULL (what LedgerClient.open sets), default page size",
      insertsPerRun: {
        NORMAL: settings.BENCH_RAW_INSERTS_NORMAL,
        FULL: settings.BENCH_RAW_INSERTS_FULL,
      },
      fsyncsPerRun: settings.BENCH_FSYNCS,
      note: "In WAL mode NORMAL does not sync on commit (only at checkpoints), so its ceiling is CPU-bound; FULL syncs the WAL on every commit, so its ceiling is the disk's.",
    },
  };
}
