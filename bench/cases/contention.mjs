// 3. Contention: 1, 2, 4 and 8 processes draining one 20,000-task ledger (one role), each
// claiming and completing one task at a time: throughput, claim latency, SQLITE_BUSY seen
// below the ledger's retry loop, and a correctness check (every task done exactly once, one
// attempt each, the audit chain intact).
import { copyFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { LedgerClient } from "../../dist/index.js";
import { exited, forkWorker, nextMessage } from "../lib/children.mjs";
import { max, percentile } from "../lib/stats.mjs";
import { removeDir, tempDir } from "../lib/temp.mjs";

const require = createRequire(import.meta.url);
const Database = require("better-sqlite3");

export const name = "contention";
export const title = "Contention: N processes draining one ledger";

const LEVELS = [1, 2, 4, 8];
const WORKER = join(import.meta.dirname, "..", "workers", "drain.mjs");

async function buildTemplate(file, count) {
  const ledger = await LedgerClient.open({ dbPath: file, roles: ["code"], actor: "bench" });
  for (let i = 0; i < count; i += 500) {
    const batch = [];
    for (let k = i; k < Math.min(count, i + 500); k++) {
      batch.push({ agentOwner: "code", title: `task ${k}`, payload: { n: k } });
    }
    await ledger.insertTasks(batch);
  }
  await ledger.close();
}

async function drain(template, dir, processes, count) {
  const dbPath = join(dir, `drain-${processes}-${Date.now()}.db`);
  copyFileSync(template, dbPath);
  const children = [];
  for (let i = 0; i < processes; i++)
    children.push(forkWorker(WORKER, [dbPath, "code", String(i)]));
  await Promise.all(children.map((c) => nextMessage(c, "ready")));
  const resultsP = Promise.all(children.map((c) => nextMessage(c, "result")));
  for (const c of children) c.send({ type: "go" });
  const results = await resultsP;
  await Promise.all(children.map(exited));

  const ids = results.flatMap((r) => r.done);
  const unique = new Set(ids);
  const db = new Database(dbPath, { readonly: true });
  const doneRows = db
    .prepare("SELECT COUNT(*) AS n FROM tasks WHERE status = 'done' AND attempts = 1")
    .get().n;
  // Each task's ended attempts are the lines of its attempt_log: exactly one each.
  const attempts = db
    .prepare(
      "SELECT COUNT(*) AS n FROM tasks WHERE length(attempt_log) - length(replace(attempt_log, char(10), '')) = 1",
    )
    .get().n;
  db.close();
  const ledger = await LedgerClient.open({ dbPath, create: false });
  const audit = await ledger.verifyAuditChain();
  await ledger.close();
  const errors = results.flatMap((r) => r.errors);
  const correct =
    ids.length === count &&
    unique.size === count &&
    doneRows === count &&
    attempts === count &&
    audit.ok &&
    audit.rowsChecked === count * 3 &&
    errors.length === 0;
  const claimMs = results.flatMap((r) => r.claimMs);
  const windowS =
    (Math.max(...results.map((r) => r.finished)) - Math.min(...results.map((r) => r.started))) /
    1000;
  const perWorker = results.map((r) => r.done.length);
  return {
    rate: count / windowS,
    p50: percentile(claimMs, 50),
    p99: percentile(claimMs, 99),
    max: max(claimMs),
    busy: results.reduce((n, r) => n + r.busy.count, 0),
    busyBy: results.map((r) => r.busy.byStatement),
    races: results.reduce((n, r) => n + r.races, 0),
    errors,
    correct,
    check: {
      completedReported: ids.length,
      unique: unique.size,
      doneRows,
      attempts,
      auditOk: audit.ok,
      auditRows: audit.rowsChecked,
    },
    perWorker,
  };
}

export async function run({ settings, log }) {
  const count = settings.BENCH_CONTENTION_TASKS;
  const runs = settings.BENCH_CONTENTION_RUNS;
  const dir = tempDir("bench-contention-");
  const template = join(dir, "template.db");
  const t0 = performance.now();
  await buildTemplate(template, count);
  log(`  built a ${count}-task ledger in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  {
    // Warm-up: page cache and the OS's process start-up paths; a small drain by 2 processes.
    const warmTemplate = join(dir, "warm.db");
    await buildTemplate(warmTemplate, Math.min(1000, count));
    await drain(warmTemplate, dir, 2, Math.min(1000, count));
  }
  const series = Object.fromEntries(
    LEVELS.map((p) => [
      p,
      { rate: [], p50: [], p99: [], max: [], busy: [], correct: [], ratio: [], detail: [] },
    ]),
  );
  for (let r = 0; r < runs; r++) {
    for (const p of LEVELS) {
      const out = await drain(template, dir, p, count);
      const s = series[p];
      s.rate.push(out.rate);
      s.p50.push(out.p50);
      s.p99.push(out.p99);
      s.max.push(out.max);
      s.busy.push(out.busy);
      s.correct.push(out.correct ? 1 : 0);
      s.ratio.push(out.rate / series[1].rate[r]);
      s.detail.push({
        races: out.races,
        errors: out.errors.slice(0, 5),
        check: out.check,
        perWorker: out.perWorker,
        busyBy: out.busyBy,
      });
      log(
        `  run ${r + 1}/${runs}, ${p} proc: ${out.rate.toFixed(0)} tasks/s, claim p50 ${out.p50.toFixed(2)} p99 ${out.p99.toFixed(1)} max ${out.max.toFixed(0)} ms, busy ${out.busy}, ${out.correct ? "correct" : `WRONG ${JSON.stringify(out.check)} ${out.errors.slice(0, 2)}`}`,
      );
    }
  }
  removeDir(dir);
  const figures = [];
  for (const p of LEVELS) {
    const s = series[p];
    const at8 = p === 8;
    figures.push(
      { key: `rate_${p}`, label: `${p} proc: throughput`, unit: "tasks/s", runs: s.rate },
      ...(p > 1
        ? [
            {
              key: `ratio_${p}`,
              label: `${p} proc: throughput / 1 proc`,
              unit: "x",
              runs: s.ratio,
              target: at8 ? { op: ">=", value: 0.6, text: ">= 0.60x" } : null,
            },
          ]
        : []),
      { key: `p50_${p}`, label: `${p} proc: claim p50`, unit: "ms", runs: s.p50 },
      {
        key: `p99_${p}`,
        label: `${p} proc: claim p99`,
        unit: "ms",
        runs: s.p99,
        target: at8 ? { op: "<=", value: 50, text: "< 50 ms" } : null,
      },
      { key: `max_${p}`, label: `${p} proc: slowest claim`, unit: "ms", runs: s.max },
      {
        key: `busy_${p}`,
        label: `${p} proc: SQLITE_BUSY seen (sum over processes)`,
        unit: "count",
        runs: s.busy,
      },
      {
        key: `correct_${p}`,
        label: `${p} proc: every task done exactly once (1 = yes)`,
        unit: "count",
        runs: s.correct,
        target: at8 ? { op: ">=", value: 1, text: "= 1 every run" } : null,
      },
    );
  }
  // "correct" must hold in every run, not just the median one.
  const c8 = figures.find((f) => f.key === "correct_8");
  c8.runs = [Math.min(...c8.runs)];
  const med = (xs) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)];
  const s8 = series[8];
  const notes = [];
  if (!(med(s8.ratio) >= 0.6) || !(med(s8.p99) <= 50) || Math.min(...s8.correct) !== 1) {
    notes.push(
      `8 processes: ${med(s8.ratio).toFixed(2)}x of one process, claim p99 ${med(s8.p99).toFixed(1)} ms, slowest ${Math.round(med(s8.max))} ms, ${med(s8.busy)} SQLITE_BUSY; ` +
        "one writer at a time (SQLite's lock) plus 8 processes on 2 cores: each claim+complete holds the write lock for two short transactions, and a waiting process sleeps in SQLite's busy handler (1 s busy_timeout, then the ledger's backoff).",
    );
  }
  const worst = Math.max(...LEVELS.flatMap((p) => series[p].max));
  const busyTotal = LEVELS.reduce((n, p) => n + series[p].busy.reduce((a, b) => a + b, 0), 0);
  if (worst > 1000 || busyTotal > 0) {
    notes.push(
      `starvation: the slowest claim took ${Math.round(worst)} ms and ${busyTotal} SQLITE_BUSY were raised in all runs, though p99 stays low. ` +
        "A process waiting for the write lock sleeps in SQLite's busy handler (growing sleeps, up to 100 ms each) while others keep taking the lock; after the 1 s busy_timeout it gets SQLITE_BUSY and the ledger backs off further. " +
        "A fair hand-off (e.g. a FIFO lock file around write transactions) or a shorter busy_timeout with short, jittered JS retries would bound it.",
    );
  }
  return {
    figures,
    notes,
    details: {
      tasks: count,
      role: "one role (all processes compete for the head of the same claim index)",
      worker:
        "bench/workers/drain.mjs: LedgerClient.open({create:false}); loop claimNext(role) -> complete(id, token); stops after two empty claims",
      claimLatency:
        "wall time of one claimNext() call that returned a task, including the ledger's own busy retries; pooled over all processes of a run",
      throughput:
        "tasks / (last process finished - first process started), all processes released together after opening the ledger",
      busy: "SQLITE_BUSY errors raised by better-sqlite3 statements (each after the ledger's 1 s busy_timeout), counted by wrapping Statement.prototype before the ledger opens; the ledger retries them, so callers see none",
      correctness:
        "every task reported done by exactly one process, status done with attempts = 1, one ended attempt logged on each, no errors, the audit chain verifies with 3 rows per task",
      perRun: Object.fromEntries(LEVELS.map((p) => [p, series[p].detail])),
      machineNote:
        "8 processes share 2 cores: throughput and latency include CPU scheduling, not only SQLite's write lock",
    },
  };
}
