// Run counts and sizes. Defaults keep a full run near 10 minutes on a 2-core machine;
// BENCH_QUICK=1 shrinks everything for a smoke run; any count can be set by its env name.

const quick = process.env.BENCH_QUICK === "1";

function num(name, full, fast) {
  const raw = process.env[name];
  if (raw !== undefined && raw !== "") {
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`);
    return n;
  }
  return quick ? fast : full;
}

/** Every knob, by the env variable that overrides it. */
export const settings = {
  quick,
  /** Runs per figure (after one warm-up), unless a benchmark has its own count. */
  BENCH_RUNS: num("BENCH_RUNS", 5, 2),
  BENCH_LIFECYCLE_TASKS_NORMAL: num("BENCH_LIFECYCLE_TASKS_NORMAL", 4000, 500),
  BENCH_LIFECYCLE_TASKS_FULL: num("BENCH_LIFECYCLE_TASKS_FULL", 1500, 300),
  /** Tasks already in each ledger (done, audited) for the lifecycle at scale. */
  BENCH_LIFECYCLE_PRELOAD: num("BENCH_LIFECYCLE_PRELOAD", 100000, 5000),
  BENCH_RAW_INSERTS_NORMAL: num("BENCH_RAW_INSERTS_NORMAL", 10000, 2000),
  BENCH_RAW_INSERTS_FULL: num("BENCH_RAW_INSERTS_FULL", 3000, 600),
  BENCH_FSYNCS: num("BENCH_FSYNCS", 2000, 300),
  BENCH_CONTENTION_TASKS: num("BENCH_CONTENTION_TASKS", 20000, 2000),
  BENCH_CONTENTION_RUNS: num("BENCH_CONTENTION_RUNS", 3, 1),
  BENCH_WAKE_SAMPLES: num("BENCH_WAKE_SAMPLES", 40, 10),
  BENCH_WAKE_RUNS: num("BENCH_WAKE_RUNS", 3, 1),
  BENCH_IDLE_SECONDS: num("BENCH_IDLE_SECONDS", 30, 3),
  BENCH_DISPATCH_TASKS: num("BENCH_DISPATCH_TASKS", 500, 50),
  BENCH_DISPATCH_RUNS: num("BENCH_DISPATCH_RUNS", 3, 1),
  BENCH_CLI_RUNS: num("BENCH_CLI_RUNS", 10, 3),
  BENCH_READS_TASKS: num("BENCH_READS_TASKS", 100000, 5000),
  BENCH_READS_RUNS: num("BENCH_READS_RUNS", 5, 2),
  BENCH_BATCH_TASKS: num("BENCH_BATCH_TASKS", 5000, 1000),
  BENCH_PG_LIFECYCLE_TASKS: num("BENCH_PG_LIFECYCLE_TASKS", 1000, 200),
  BENCH_PG_SCALING_TASKS: num("BENCH_PG_SCALING_TASKS", 2000, 300),
  BENCH_PG_SCALING_RUNS: num("BENCH_PG_SCALING_RUNS", 2, 1),
};
