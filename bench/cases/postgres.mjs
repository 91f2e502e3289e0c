// 9. PostgreSQL: the same lifecycle as `lifecycle` (insert -> claim -> complete, one transaction
// each, audit chain on) against pg-boss (send -> fetch -> complete) on the same server in the
// same run; then N processes (1, 2, 4, 8), each its own connection as separate hosts would
// have, draining one queue on each side.
import { join } from "node:path";
import { LedgerClient } from "../../dist/index.js";
import { exited, forkWorker, nextMessage } from "../lib/children.mjs";
import { openPgBoss, PG_URL, withServer } from "../lib/pg.mjs";

export const name = "postgres";
export const title = "PostgreSQL ledger vs pg-boss";

const LEVELS = [1, 2, 4, 8];
const WORKER = join(import.meta.dirname, "..", "workers", "pg-drain.mjs");
const urlOf = (schema) => `${PG_URL}?schema=${schema}`;

async function ours(schema, count) {
  const ledger = await LedgerClient.open({
    ledgerUrl: urlOf(schema),
    roles: ["code"],
    actor: "bench",
  });
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const filed = await ledger.insertTask({
      agentOwner: "code",
      title: `task ${i}`,
      payload: { n: i },
    });
    const task = await ledger.claimNext("code");
    if (task?.id !== filed.id) throw new Error("postgres lifecycle: claimed a different task");
    await ledger.complete(task.id, task.claimToken, { costUsd: 0 });
  }
  const rate = count / ((performance.now() - started) / 1000);
  const verified = await ledger.verifyAuditChain();
  await ledger.close();
  if (!verified.ok || verified.rowsChecked !== count * 3) {
    throw new Error(
      `postgres lifecycle: audit chain not as expected (${JSON.stringify(verified.problem)})`,
    );
  }
  return rate;
}

async function pgBoss(schema, count) {
  const boss = await openPgBoss(schema);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const id = await boss.send("code", { title: `task ${i}`, n: i });
    const [job] = await boss.fetch("code");
    if (job?.id !== id) throw new Error("pg-boss lifecycle: fetched a different job");
    await boss.complete("code", job.id);
  }
  const rate = count / ((performance.now() - started) / 1000);
  await boss.stop({ graceful: false, close: true });
  return rate;
}

/** Fills one side's queue with `count` tasks, untimed. */
async function prefill(kind, schema, count) {
  if (kind === "ours") {
    const ledger = await LedgerClient.open({
      ledgerUrl: urlOf(schema),
      roles: ["code"],
      actor: "bench",
    });
    for (let i = 0; i < count; i += 500) {
      const batch = [];
      for (let k = i; k < Math.min(count, i + 500); k++)
        batch.push({ agentOwner: "code", title: `task ${k}` });
      await ledger.insertTasks(batch);
    }
    await ledger.close();
  } else {
    const boss = await openPgBoss(schema);
    for (let i = 0; i < count; i += 500) {
      const batch = [];
      for (let k = i; k < Math.min(count, i + 500); k++)
        batch.push({ name: "code", data: { title: `task ${k}` } });
      await boss.insert(batch);
    }
    await boss.stop({ graceful: false, close: true });
  }
}

/** N processes drain one side's queue; tasks/s from the first "go" to the last finish. */
async function drain(kind, schema, processes, count) {
  const children = [];
  for (let i = 0; i < processes; i++) children.push(forkWorker(WORKER, [kind, schema]));
  await Promise.all(children.map((c) => nextMessage(c, "ready")));
  const resultsP = Promise.all(children.map((c) => nextMessage(c, "result")));
  const started = performance.now();
  for (const c of children) c.send({ type: "go" });
  const results = await resultsP;
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(children.map(exited));
  const done = results.reduce((n, r) => n + r.done, 0);
  if (done !== count)
    throw new Error(`${kind}: ${processes} processes finished ${done} of ${count}`);
  return count / seconds;
}

export async function run({ settings, log }) {
  const outcome = await withServer(async ({ fresh }) => {
    const runs = settings.BENCH_RUNS;
    const count = settings.BENCH_PG_LIFECYCLE_TASKS;
    // Warm-up: JIT, prepared statements, the server's caches.
    await ours(await fresh("warm_o"), Math.ceil(count / 5));
    await pgBoss(await fresh("warm_b"), Math.ceil(count / 5));
    const life = { ours: [], boss: [], ratio: [] };
    for (let r = 0; r < runs; r++) {
      let o;
      let b;
      if (r % 2 === 0) {
        o = await ours(await fresh("o"), count);
        b = await pgBoss(await fresh("b"), count);
      } else {
        b = await pgBoss(await fresh("b"), count);
        o = await ours(await fresh("o"), count);
      }
      life.ours.push(o);
      life.boss.push(b);
      life.ratio.push(o / b);
      log(`  run ${r + 1}/${runs}: ours ${o.toFixed(0)}/s, pg-boss ${b.toFixed(0)}/s`);
    }
    const scaling = {};
    const scaleCount = settings.BENCH_PG_SCALING_TASKS;
    for (const p of LEVELS) {
      scaling[p] = { ours: [], boss: [], ratio: [] };
      for (let r = 0; r < settings.BENCH_PG_SCALING_RUNS; r++) {
        const so = await fresh("so");
        const sb = await fresh("sb");
        await prefill("ours", so, scaleCount);
        await prefill("boss", sb, scaleCount);
        const o = await drain("ours", so, p, scaleCount);
        const b = await drain("boss", sb, p, scaleCount);
        scaling[p].ours.push(o);
        scaling[p].boss.push(b);
        scaling[p].ratio.push(o / b);
        log(`  ${p} proc: ours ${o.toFixed(0)}/s, pg-boss ${b.toFixed(0)}/s`);
      }
    }
    return { life, scaling };
  });
  if (outcome.unreachable) {
    return {
      figures: [
        {
          key: "ratio",
          label: "ours / pg-boss, lifecycle",
          unit: "x",
          runs: [],
          status: "not measured",
        },
      ],
      notes: [`${outcome.unreachable}: start it or set BENCH_PG_URL`],
    };
  }
  const { life, scaling } = outcome;
  const figures = [
    { key: "ours", label: "ours, lifecycle, audit on", unit: "tasks/s", runs: life.ours },
    { key: "pgboss", label: "pg-boss, lifecycle", unit: "tasks/s", runs: life.boss },
    {
      key: "ratio",
      label: "ours / pg-boss, lifecycle",
      unit: "x",
      runs: life.ratio,
      target: { op: ">=", value: 0.5, text: ">= 0.5x" },
    },
  ];
  for (const p of LEVELS) {
    figures.push(
      {
        key: `scale_ours_${p}`,
        label: `${p} proc draining: ours`,
        unit: "tasks/s",
        runs: scaling[p].ours,
      },
      {
        key: `scale_pgboss_${p}`,
        label: `${p} proc draining: pg-boss`,
        unit: "tasks/s",
        runs: scaling[p].boss,
      },
      {
        key: `scale_ratio_${p}`,
        label: `${p} proc draining: ours / pg-boss`,
        unit: "x",
        runs: scaling[p].ratio,
      },
    );
  }
  const med = (xs) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)];
  const notes = [
    `What limits ours: each of its transactions is several round trips to the server (BEGIN, the statement, the audit chain's head lock and read, the audit insert, NOTIFY, COMMIT), where pg-boss sends one statement per call; and every writer queues on the chain's head lock, so more processes add waiting, not throughput (8 proc: ${med(scaling[8].ours).toFixed(0)} tasks/s against ${med(scaling[1].ours).toFixed(0)} for one).`,
  ];
  return {
    figures,
    notes,
    details: {
      server: PG_URL.replace(/:[^:@/]*@/, ":***@"),
      ours: "LedgerClient.open({ ledgerUrl }): insertTask -> claimNext -> complete, one READ COMMITTED transaction each with its hash-chained audit row; the chain is verified after every run (not timed)",
      pgBoss:
        "pg-boss 10 (supervise and schedule off): send -> fetch -> complete, one statement each",
      settings: {
        lifecycleTasks: settings.BENCH_PG_LIFECYCLE_TASKS,
        scalingTasks: settings.BENCH_PG_SCALING_TASKS,
        scalingRuns: settings.BENCH_PG_SCALING_RUNS,
      },
    },
  };
}
