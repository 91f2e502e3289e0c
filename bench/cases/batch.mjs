// 8. Batch filing: insertTasks([...]) in one transaction at 10 and 100 tasks per call (and 1,
// for reference), synchronous=NORMAL; plainjob's addMany (one transaction) in the same run.
import { join } from "node:path";
import { LedgerClient } from "../../dist/index.js";
import { openPlainjob } from "../lib/peer.mjs";
import { removeDir, tempDir } from "../lib/temp.mjs";

export const name = "batch";
export const title = "Batch filing with insertTasks";

const SIZES = [1, 10, 100];

async function ours(dir, size, total, tag) {
  const ledger = await LedgerClient.open({
    dbPath: join(dir, `ours-${tag}.db`),
    roles: ["code", "qa"],
    actor: "bench",
  });
  const calls = Math.ceil(total / size);
  const started = performance.now();
  for (let c = 0; c < calls; c++) {
    const batch = [];
    for (let i = 0; i < size; i++) {
      batch.push({
        agentOwner: i % 2 ? "qa" : "code",
        title: `task ${c}.${i}`,
        description: "Check the thing and report.",
        payload: { n: i },
      });
    }
    await ledger.insertTasks(batch);
  }
  const seconds = (performance.now() - started) / 1000;
  await ledger.close();
  return (calls * size) / seconds;
}

function plainjob(dir, size, total, tag) {
  const { queue } = openPlainjob(join(dir, `plainjob-${tag}.db`), "NORMAL");
  const calls = Math.ceil(total / size);
  const started = performance.now();
  for (let c = 0; c < calls; c++) {
    const batch = [];
    for (let i = 0; i < size; i++) {
      batch.push({ title: `task ${c}.${i}`, description: "Check the thing and report.", n: i });
    }
    if (size === 1) queue.add("code", batch[0]);
    else queue.addMany("code", batch);
  }
  const seconds = (performance.now() - started) / 1000;
  queue.close();
  return (calls * size) / seconds;
}

export async function run({ settings, log }) {
  const runs = settings.BENCH_RUNS;
  const total = settings.BENCH_BATCH_TASKS;
  const series = Object.fromEntries(SIZES.map((s) => [s, { ours: [], peer: [], ratio: [] }]));
  {
    const warm = tempDir("bench-batch-warm-");
    for (const size of SIZES) {
      await ours(warm, size, Math.ceil(total / 5), `w${size}`);
      plainjob(warm, size, Math.ceil(total / 5), `w${size}`);
    }
    removeDir(warm);
  }
  for (let r = 0; r < runs; r++) {
    const dir = tempDir("bench-batch-");
    for (const size of SIZES) {
      const n = size === 1 ? Math.ceil(total / 2) : total;
      let o;
      let p;
      if (r % 2 === 0) {
        o = await ours(dir, size, n, `${size}-${r}`);
        p = plainjob(dir, size, n, `${size}-${r}`);
      } else {
        p = plainjob(dir, size, n, `${size}-${r}`);
        o = await ours(dir, size, n, `${size}-${r}`);
      }
      series[size].ours.push(o);
      series[size].peer.push(p);
      series[size].ratio.push(o / p);
    }
    log(
      `  run ${r + 1}/${runs}: ${SIZES.map((s) => `${s}/call ours ${series[s].ours.at(-1).toFixed(0)}/s plainjob ${series[s].peer.at(-1).toFixed(0)}/s`).join("; ")}`,
    );
    removeDir(dir);
  }
  const figures = [];
  for (const size of SIZES) {
    figures.push(
      {
        key: `ours_${size}`,
        label: `insertTasks, ${size} per call`,
        unit: "tasks/s",
        runs: series[size].ours,
      },
      {
        key: `plainjob_${size}`,
        label: `plainjob ${size === 1 ? "add" : "addMany"}, ${size} per call`,
        unit: "tasks/s",
        runs: series[size].peer,
      },
      {
        key: `ratio_${size}`,
        label: `ours / plainjob, ${size} per call`,
        unit: "x",
        runs: series[size].ratio,
      },
    );
  }
  return {
    figures,
    details: {
      tasksPerRun: total,
      note: "batch size 1 files half as many tasks per run. synchronous=NORMAL, WAL, fresh file per size and run.",
      ours: "LedgerClient.insertTasks(batch): one BEGIN IMMEDIATE transaction; per task: validation, INSERT, one hash-chained audit row, the row read back.",
      plainjob: "queue.addMany(type, batch): one transaction of INSERTs (queue.add for size 1).",
    },
  };
}
