// 1. Ledger lifecycle: insert -> claim -> complete, one transaction each, audit chain on, one
// process, synchronous NORMAL and FULL; the same lifecycle on plainjob in the same run; and
// the raw one-row-insert ceiling measured around each pair, so each figure is also a fraction of
// what the disk allows. Where Linux gives per-thread CPU times, each run also records the
// thread's CPU and sleeps per task, and a NORMAL run with a sleep after each commit shows how
// much of what FULL adds comes from waking rather than from the disk.
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { LedgerClient } from "../../dist/index.js";
import { rawInsertRate } from "../lib/disk.mjs";
import { openPlainjob, PLAINJOB_LIFECYCLE } from "../lib/peer.mjs";
import { removeDir, tempDir } from "../lib/temp.mjs";
import { perItem, threadCpuUs, threadSleeps } from "../lib/thread-cpu.mjs";
import { walMeter } from "../lib/wal.mjs";

export const name = "lifecycle";
export const title = "Ledger lifecycle vs plainjob";

/** Write transactions per task on each side (for the disk-ceiling fractions). */
const COMMITS_PER_TASK = 3;

/**
 * A sleep after each transaction, as long as an fsync, for the wake diagnostic: the thread
 * blocks as it does in FULL, with no disk behind it. Atomics.wait is a plain futex sleep.
 */
function pauser(ms = 0) {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const pause = () => {
    if (ms <= 0) return;
    const t = performance.now();
    Atomics.wait(cell, 0, 0, ms);
    pause.ms += performance.now() - t;
    pause.count++;
  };
  pause.ms = 0;
  pause.count = 0;
  return pause;
}

/**
 * The timeout to give Atomics.wait for a sleep of about `targetMs`: the kernel's timer slack
 * and the wake-up add a fixed 60-80 us here, which would make the sleep twice an fsync.
 */
function pauseFor(targetMs) {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const tries = 200;
  const started = performance.now();
  for (let i = 0; i < tries; i++) Atomics.wait(cell, 0, 0, targetMs);
  const overshoot = (performance.now() - started) / tries - targetMs;
  return Math.max(0.001, targetMs - overshoot);
}

/** Mean microseconds a pauser slept each time, or null if it never did. */
const sleptUs = (pause) => (pause.count ? (pause.ms / pause.count) * 1000 : null);

async function ours(dir, synchronous, count, tag, { preloaded = 0, pauseMs = 0 } = {}) {
  const ledger = await LedgerClient.open({
    dbPath: join(dir, `ours-${tag}.db`),
    synchronous,
    roles: ["code"],
    actor: "bench",
  });
  const pause = pauser(pauseMs);
  let insertMs = 0;
  let claimMs = 0;
  let completeMs = 0;
  const cpu = threadCpuUs();
  const sleeps = threadSleeps();
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    let t = performance.now();
    const filed = await ledger.insertTask({
      agentOwner: "code",
      title: `task ${i}`,
      payload: { n: i },
    });
    insertMs += performance.now() - t;
    pause();
    t = performance.now();
    const task = await ledger.claimNext("code");
    claimMs += performance.now() - t;
    if (task?.id !== filed.id) throw new Error("lifecycle: claimed a different task");
    pause();
    t = performance.now();
    await ledger.complete(task.id, task.claimToken, { costUsd: 0 });
    completeMs += performance.now() - t;
    pause();
  }
  const seconds = (performance.now() - started) / 1000;
  const cpuUsPerTask = perItem(threadCpuUs, cpu, count);
  const sleepsPerTask = perItem(threadSleeps, sleeps, count);
  const verified = await ledger.verifyAuditChain();
  await ledger.close();
  if (!verified.ok || verified.rowsChecked !== (count + preloaded) * 3) {
    throw new Error(`lifecycle: audit chain not as expected (${JSON.stringify(verified.problem)})`);
  }
  return {
    rate: count / seconds,
    cpuUsPerTask,
    sleepsPerTask,
    sleptUs: sleptUs(pause),
    perOpUs: {
      insertTask: (insertMs / count) * 1000,
      claimNext: (claimMs / count) * 1000,
      complete: (completeMs / count) * 1000,
    },
  };
}

function plainjob(dir, synchronous, count, tag, { pauseMs = 0 } = {}) {
  // A file already there (the preloaded copy) is opened as it is.
  const { queue, pragmas } = openPlainjob(join(dir, `plainjob-${tag}.db`), synchronous);
  if (pragmas.synchronous !== (synchronous === "FULL" ? 2 : 1)) {
    throw new Error(`plainjob: synchronous is ${pragmas.synchronous}, wanted ${synchronous}`);
  }
  const pause = pauser(pauseMs);
  const cpu = threadCpuUs();
  const sleeps = threadSleeps();
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const added = queue.add("code", { title: `task ${i}`, n: i });
    pause();
    const marked = queue.getAndMarkJobAsProcessing("code");
    if (marked?.id !== added.id) throw new Error("plainjob: claimed a different job");
    pause();
    const job = queue.getJobById(marked.id);
    queue.markJobAsDone(job.id);
    pause();
  }
  const seconds = (performance.now() - started) / 1000;
  const cpuUsPerTask = perItem(threadCpuUs, cpu, count);
  const sleepsPerTask = perItem(threadSleeps, sleeps, count);
  queue.close();
  return { rate: count / seconds, cpuUsPerTask, sleepsPerTask, sleptUs: sleptUs(pause) };
}

/**
 * Untimed: one ledger and one plainjob file each holding `count` finished tasks (ours filed,
 * claimed and completed through the library, so each has its three audit rows), built once
 * and copied for every run.
 */
async function preloadTemplates(dir, count) {
  const oursFile = join(dir, "template-ours.db");
  const ledger = await LedgerClient.open({ dbPath: oursFile, roles: ["code"], actor: "bench" });
  for (let i = 0; i < count; i += 1000) {
    const batch = [];
    for (let k = i; k < Math.min(count, i + 1000); k++)
      batch.push({ agentOwner: "code", title: `old ${k}`, payload: { n: k } });
    await ledger.insertTasks(batch);
  }
  for (let i = 0; i < count; i++) {
    const task = await ledger.claimNext("code");
    await ledger.complete(task.id, task.claimToken, { costUsd: 0 });
  }
  await ledger.close();
  const peerFile = join(dir, "template-plainjob.db");
  const { queue } = openPlainjob(peerFile, "NORMAL");
  for (let i = 0; i < count; i++) {
    queue.add("code", { title: `old ${i}`, n: i });
    queue.markJobAsDone(queue.getAndMarkJobAsProcessing("code").id);
  }
  queue.close();
  return { oursFile, peerFile };
}

/**
 * Untimed: pages (WAL frames) each side writes per transaction, on a warm file. Each page is a
 * 4 KiB write plus its checksum at COMMIT, the main cost of a transaction in WAL mode.
 */
async function walDiagnostics(dir) {
  const per = (n, totals) =>
    Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, +(v / n).toFixed(1)]));
  const n = 100;
  const oursFile = join(dir, "wal-ours.db");
  const ledger = await LedgerClient.open({ dbPath: oursFile, roles: ["code"], actor: "bench" });
  for (let i = 0; i < 300; i++) {
    await ledger.insertTask({ agentOwner: "code", title: `warm ${i}`, payload: { n: i } });
    const t = await ledger.claimNext("code");
    await ledger.complete(t.id, t.claimToken, { costUsd: 0 });
  }
  const meter = walMeter(oursFile);
  const ours = { insertTask: 0, claimNext: 0, complete: 0 };
  for (let i = 0; i < n; i++) {
    meter.reset();
    ours.insertTask += (
      await meter.frames(() =>
        ledger.insertTask({ agentOwner: "code", title: `task ${i}`, payload: { n: i } }),
      )
    ).frames;
    const claimed = await meter.frames(() => ledger.claimNext("code"));
    ours.claimNext += claimed.frames;
    ours.complete += (
      await meter.frames(() =>
        ledger.complete(claimed.result.id, claimed.result.claimToken, { costUsd: 0 }),
      )
    ).frames;
  }
  meter.close();
  await ledger.close();

  const peerFile = join(dir, "wal-plainjob.db");
  const { queue } = openPlainjob(peerFile, "NORMAL");
  for (let i = 0; i < 300; i++) {
    queue.add("code", { n: i });
    queue.markJobAsDone(queue.getAndMarkJobAsProcessing("code").id);
  }
  const peerMeter = walMeter(peerFile);
  const peer = { add: 0, getAndMarkJobAsProcessing: 0, markJobAsDone: 0 };
  for (let i = 0; i < n; i++) {
    peerMeter.reset();
    peer.add += (await peerMeter.frames(() => queue.add("code", { n: i }))).frames;
    const marked = await peerMeter.frames(() => queue.getAndMarkJobAsProcessing("code"));
    peer.getAndMarkJobAsProcessing += marked.frames;
    peer.markJobAsDone += (
      await peerMeter.frames(() => queue.markJobAsDone(marked.result.id))
    ).frames;
  }
  peerMeter.close();
  queue.close();
  const o = per(n, ours);
  const p = per(n, peer);
  const sum = (x) =>
    +Object.values(x)
      .reduce((a, b) => a + b, 0)
      .toFixed(1);
  // Pages differ in size between files (a new ledger uses 2 KiB, plainjob SQLite's 4 KiB):
  // the bytes a task adds to the WAL compare the two fairly.
  const kib = (frames, pageSize) => +((frames * (pageSize + 24)) / 1024).toFixed(1);
  return {
    ours: {
      ...o,
      perTask: sum(o),
      pageSize: meter.pageSize,
      kibPerTask: kib(sum(o), meter.pageSize),
    },
    plainjob: {
      ...p,
      perJob: sum(p),
      pageSize: peerMeter.pageSize,
      kibPerJob: kib(sum(p), peerMeter.pageSize),
    },
  };
}

export async function run({ settings, log }) {
  const runs = settings.BENCH_RUNS;
  const modes = [
    {
      sync: "NORMAL",
      tasks: settings.BENCH_LIFECYCLE_TASKS_NORMAL,
      raw: settings.BENCH_RAW_INSERTS_NORMAL,
    },
    {
      sync: "FULL",
      tasks: settings.BENCH_LIFECYCLE_TASKS_FULL,
      raw: settings.BENCH_RAW_INSERTS_FULL,
    },
  ];
  const series = {};
  for (const { sync } of modes) {
    series[sync] = {
      ours: [],
      peer: [],
      raw: [],
      ratio: [],
      oursDisk: [],
      peerDisk: [],
      oursCpu: [],
      peerCpu: [],
      oursSleeps: [],
      peerSleeps: [],
      perOp: [],
    };
  }
  // Warm-up: JIT, page cache, plainjob's and our statement caches; results dropped.
  {
    const dir = tempDir("bench-lifecycle-warm-");
    for (const { sync, tasks } of modes) {
      await ours(dir, sync, Math.ceil(tasks / 5), `warm-${sync}`);
      plainjob(dir, sync, Math.ceil(tasks / 5), `warm-${sync}`);
    }
    removeDir(dir);
  }
  for (let r = 0; r < runs; r++) {
    const dir = tempDir("bench-lifecycle-");
    for (const { sync, tasks, raw } of modes) {
      const s = series[sync];
      // The ceiling is taken before and after the pair and averaged: fsync rates drift.
      const before = rawInsertRate(dir, sync, Math.ceil(raw / 2));
      // Alternate who goes first, so drift (other load, page cache) does not favour one side.
      let o;
      let p;
      if (r % 2 === 0) {
        o = await ours(dir, sync, tasks, `${sync}-${r}`);
        p = plainjob(dir, sync, tasks, `${sync}-${r}`);
      } else {
        p = plainjob(dir, sync, tasks, `${sync}-${r}`);
        o = await ours(dir, sync, tasks, `${sync}-${r}`);
      }
      const ceiling = (before + rawInsertRate(dir, sync, Math.ceil(raw / 2))) / 2;
      s.ours.push(o.rate);
      s.peer.push(p.rate);
      s.raw.push(ceiling);
      s.ratio.push(o.rate / p.rate);
      s.oursDisk.push((o.rate * COMMITS_PER_TASK) / ceiling);
      s.peerDisk.push((p.rate * COMMITS_PER_TASK) / ceiling);
      s.oursCpu.push(o.cpuUsPerTask);
      s.peerCpu.push(p.cpuUsPerTask);
      s.oursSleeps.push(o.sleepsPerTask);
      s.peerSleeps.push(p.sleepsPerTask);
      s.perOp.push(o.perOpUs);
      log(
        `  run ${r + 1}/${runs} ${sync}: ours ${o.rate.toFixed(0)}/s, plainjob ${p.rate.toFixed(0)}/s, raw ${ceiling.toFixed(0)} commits/s`,
      );
    }
    removeDir(dir);
  }

  const med = (xs) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)];

  // Why FULL costs more than its fsyncs: NORMAL again, with a sleep as long as a one-row FULL
  // commit after every transaction. No fsync and no extra page is written, so the CPU a task
  // gains here over plain NORMAL is what waking from a sleep costs each side. (An fsync here
  // sleeps about twice, back to back; a second sleep in a row adds about as much CPU to either
  // side, since little of the task's work runs between them, so one sleep shows the difference.)
  const woken = { ours: [], peer: [], slept: [] };
  const tracksCpu = threadCpuUs() !== null && threadSleeps() !== null;
  if (tracksCpu) {
    const pauseMs = pauseFor(1000 / med(series.FULL.raw));
    const count = settings.BENCH_LIFECYCLE_TASKS_NORMAL;
    for (let r = 0; r < Math.max(2, Math.ceil(runs / 2)); r++) {
      const dir = tempDir("bench-lifecycle-wake-");
      let o;
      let p;
      if (r % 2 === 0) {
        o = await ours(dir, "NORMAL", count, `wake-${r}`, { pauseMs });
        p = plainjob(dir, "NORMAL", count, `wake-${r}`, { pauseMs });
      } else {
        p = plainjob(dir, "NORMAL", count, `wake-${r}`, { pauseMs });
        o = await ours(dir, "NORMAL", count, `wake-${r}`, { pauseMs });
      }
      woken.ours.push(o.cpuUsPerTask);
      woken.peer.push(p.cpuUsPerTask);
      woken.slept.push((o.sleptUs + p.sleptUs) / 2);
      removeDir(dir);
    }
    log(
      `  NORMAL with a sleep after each commit (${Math.round(med(woken.slept))} us): ours ${Math.round(med(woken.ours))} us of CPU a task, plainjob ${Math.round(med(woken.peer))}`,
    );
  }

  // The same lifecycle with BENCH_LIFECYCLE_PRELOAD finished tasks already in each file.
  const preload = settings.BENCH_LIFECYCLE_PRELOAD;
  const scaled = { ours: [], peer: [], ratio: [] };
  {
    const templateDir = tempDir("bench-lifecycle-preload-");
    const started = performance.now();
    const templates = await preloadTemplates(templateDir, preload);
    log(
      `  preloaded ${preload} tasks on each side in ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
    const count = Math.ceil(settings.BENCH_LIFECYCLE_TASKS_NORMAL / 2);
    for (let r = 0; r < Math.max(2, Math.ceil(runs / 2)); r++) {
      const dir = tempDir("bench-lifecycle-scaled-");
      copyFileSync(templates.oursFile, join(dir, `ours-scaled-${r}.db`));
      copyFileSync(templates.peerFile, join(dir, `plainjob-scaled-${r}.db`));
      let o;
      let p;
      if (r % 2 === 0) {
        o = await ours(dir, "NORMAL", count, `scaled-${r}`, { preloaded: preload });
        p = plainjob(dir, "NORMAL", count, `scaled-${r}`);
      } else {
        p = plainjob(dir, "NORMAL", count, `scaled-${r}`);
        o = await ours(dir, "NORMAL", count, `scaled-${r}`, { preloaded: preload });
      }
      scaled.ours.push(o.rate);
      scaled.peer.push(p.rate);
      scaled.ratio.push(o.rate / p.rate);
      log(
        `  run ${r + 1} NORMAL with ${preload} tasks already in: ours ${o.rate.toFixed(0)}/s, plainjob ${p.rate.toFixed(0)}/s`,
      );
      removeDir(dir);
    }
    removeDir(templateDir);
  }

  const figures = [];
  for (const { sync } of modes) {
    const s = series[sync];
    figures.push(
      {
        key: `ours_${sync}`,
        label: `ours, ${sync}, audit on`,
        unit: "tasks/s",
        runs: s.ours,
        target: sync === "NORMAL" ? { op: ">=", value: 4000, text: ">= 4,000" } : null,
      },
      { key: `plainjob_${sync}`, label: `plainjob, ${sync}`, unit: "tasks/s", runs: s.peer },
      {
        key: `ratio_${sync}`,
        label: `ours / plainjob, ${sync}`,
        unit: "x",
        runs: s.ratio,
        target:
          sync === "NORMAL"
            ? { op: ">=", value: 0.5, text: ">= 0.5x" }
            : { op: ">=", value: 0.8, text: ">= 0.8x" },
      },
      {
        key: `disk_fraction_${sync}`,
        label: `ours, ${sync}: commits/s as a fraction of raw one-row inserts/s`,
        unit: "fraction",
        runs: s.oursDisk,
        target: sync === "FULL" ? { op: ">=", value: 0.5, text: ">= 0.50" } : null,
      },
      {
        key: `raw_${sync}`,
        label: `raw one-row inserts, ${sync} (ceiling around each pair)`,
        unit: "commits/s",
        runs: s.raw,
      },
      {
        key: `peer_disk_fraction_${sync}`,
        label: `plainjob, ${sync}: commits/s as a fraction of raw`,
        unit: "fraction",
        runs: s.peerDisk,
      },
    );
  }
  figures.push(
    {
      key: "ours_NORMAL_preloaded",
      label: `ours, NORMAL, ${preload.toLocaleString("en-US")} tasks already in`,
      unit: "tasks/s",
      runs: scaled.ours,
    },
    {
      key: "plainjob_NORMAL_preloaded",
      label: `plainjob, NORMAL, ${preload.toLocaleString("en-US")} jobs already in`,
      unit: "tasks/s",
      runs: scaled.peer,
    },
    {
      key: "ratio_NORMAL_preloaded",
      label: `ours / plainjob, NORMAL, ${preload.toLocaleString("en-US")} already in`,
      unit: "x",
      runs: scaled.ratio,
      target: { op: ">=", value: 0.4, text: ">= 0.4x" },
    },
  );
  if (tracksCpu) {
    const sleptText = `a sleep (${Math.round(med(woken.slept))} us)`;
    figures.push(
      {
        key: "cpu_NORMAL_ours",
        label: "ours, NORMAL: CPU time per task (this thread)",
        unit: "us",
        runs: series.NORMAL.oursCpu,
      },
      {
        key: "cpu_NORMAL_plainjob",
        label: "plainjob, NORMAL: CPU time per task",
        unit: "us",
        runs: series.NORMAL.peerCpu,
      },
      {
        key: "cpu_FULL_ours",
        label: "ours, FULL: CPU time per task (the fsync calls' own included)",
        unit: "us",
        runs: series.FULL.oursCpu,
      },
      {
        key: "cpu_FULL_plainjob",
        label: "plainjob, FULL: CPU time per task",
        unit: "us",
        runs: series.FULL.peerCpu,
      },
      {
        key: "sleeps_FULL_ours",
        label: "ours, FULL: times this thread slept per task",
        unit: "sleeps",
        runs: series.FULL.oursSleeps,
      },
      {
        key: "sleeps_FULL_plainjob",
        label: "plainjob, FULL: times this thread slept per task",
        unit: "sleeps",
        runs: series.FULL.peerSleeps,
      },
      {
        key: "cpu_woken_ours",
        label: `ours, NORMAL with ${sleptText} after each commit: CPU time per task`,
        unit: "us",
        runs: woken.ours,
      },
      {
        key: "cpu_woken_plainjob",
        label: `plainjob, NORMAL with ${sleptText} after each commit: CPU time per task`,
        unit: "us",
        runs: woken.peer,
      },
    );
  }
  const perOp = {};
  for (const { sync } of modes) {
    const ops = series[sync].perOp;
    perOp[sync] = Object.fromEntries(
      Object.keys(ops[0]).map((k) => [
        k,
        Math.round(ops.map((o) => o[k]).sort((a, b) => a - b)[Math.floor(ops.length / 2)]),
      ]),
    );
  }
  const walDir = tempDir("bench-lifecycle-wal-");
  const wal = await walDiagnostics(walDir);
  removeDir(walDir);
  figures.push(
    {
      key: "wal_pages_per_task",
      label: `ours: WAL pages (${wal.ours.pageSize / 1024} KiB) written per task (insert + claim + complete)`,
      unit: "pages",
      runs: [wal.ours.perTask],
      target: { op: "<=", value: 15, text: "<= 15" },
    },
    {
      key: "wal_pages_per_job_plainjob",
      label: `plainjob: WAL pages (${wal.plainjob.pageSize / 1024} KiB) written per job`,
      unit: "pages",
      runs: [wal.plainjob.perJob],
    },
    {
      key: "wal_kib_per_task",
      label: "ours: KiB written to the WAL per task",
      unit: "KiB",
      runs: [wal.ours.kibPerTask],
    },
    {
      key: "wal_kib_per_job_plainjob",
      label: "plainjob: KiB written to the WAL per job",
      unit: "KiB",
      runs: [wal.plainjob.kibPerJob],
    },
  );
  const notes = [];
  const normal = series.NORMAL;
  if (med(normal.ours) < 4000 || med(normal.ratio) < 0.5) {
    const us = perOp.NORMAL;
    notes.push(
      `NORMAL is CPU-bound (no fsync per commit): ${Math.round(1e6 / med(normal.ours))} us per task = insertTask ${us.insertTask} + claimNext ${us.claimNext} + complete ${us.complete} us. ` +
        `Each task writes ${wal.ours.perTask} WAL pages of ${wal.ours.pageSize} bytes (insert ${wal.ours.insertTask}, claim ${wal.ours.claimNext}, complete ${wal.ours.complete}; ${wal.ours.kibPerTask} KiB) against plainjob's ${wal.plainjob.perJob} of ${wal.plainjob.pageSize} (${wal.plainjob.kibPerJob} KiB) per job: ` +
        "every b-tree a transaction touches (tasks, its id and status indexes, audit_log, and on completion tasks_by_finish) adds a page to its COMMIT (two writes and a checksum each), " +
        "and each commit also runs the JS around it (validation, the audit digest and SHA-256, the statement calls).",
    );
  }
  const full = series.FULL;
  if (med(full.oursDisk) < 0.5 || med(full.ratio) < 0.8) {
    // Per-task microseconds from the medians of this run: what FULL adds to each side over
    // NORMAL is its three fsync waits and whatever they make dearer; the rest of the gap is
    // NORMAL's, the CPU per task.
    const us = (rate) => 1e6 / rate;
    const [oursFull, peerFull] = [us(med(full.ours)), us(med(full.peer))];
    const [oursNormal, peerNormal] = [us(med(normal.ours)), us(med(normal.peer))];
    const added = oursFull - oursNormal - (peerFull - peerNormal);
    const rawUs = us(med(full.raw));
    // The wake diagnostic, where this system has per-thread CPU times: how much CPU FULL adds
    // to each side, and how much a bare sleep of the same length adds in NORMAL.
    const gained = (xs, base) => med(xs) - med(base);
    let woke =
      "After each fsync the thread comes back to cold caches, and each of our transactions has more to bring back. ";
    if (tracksCpu) {
      const [oursCpu, peerCpu] = [
        gained(full.oursCpu, normal.oursCpu),
        gained(full.peerCpu, normal.peerCpu),
      ];
      const [oursWoken, peerWoken] = [
        gained(woken.ours, normal.oursCpu),
        gained(woken.peer, normal.peerCpu),
      ];
      const waiting = added - (oursCpu - peerCpu);
      woke =
        `Of the ${Math.round(added)}, ${Math.round(oursCpu - peerCpu)} is this thread's CPU: FULL adds ${Math.round(oursCpu)} us of CPU a task to ours and ${Math.round(peerCpu)} to plainjob, the fsync calls' own work included. ` +
        `FULL puts the thread to sleep ${med(full.oursSleeps).toFixed(1)} times a task (plainjob's: ${med(full.peerSleeps).toFixed(1)}); a bare ${Math.round(med(woken.slept))} us sleep after each commit in NORMAL, with no fsync and no page written, adds ${Math.round(oursWoken)} and ${Math.round(peerWoken)}: waking alone costs our task ${Math.round(oursWoken - peerWoken)} us more than plainjob's. ` +
        "A thread that sleeps comes back to caches other work has used, and each of our transactions has more to bring back. " +
        (waiting > 0
          ? `The other ${Math.round(waiting)} us is waiting: our fsyncs carry more pages. `
          : "");
    }
    notes.push(
      `FULL: ${Math.round(oursFull)} us per task against plainjob's ${Math.round(peerFull)}, both three fsyncs a task (a one-row commit on this disk: ${Math.round(rawUs)} us). ` +
        `Of the ${Math.round(oursFull - peerFull)} us between them, ${Math.round(oursNormal - peerNormal)} is NORMAL's gap (the CPU per task) and ${Math.round(added)} is what FULL adds to ours beyond what it adds to plainjob; ` +
        `our commits write ${(wal.ours.perTask / COMMITS_PER_TASK).toFixed(1)} pages each against plainjob's ${(wal.plainjob.perJob / COMMITS_PER_TASK).toFixed(1)}. ` +
        woke +
        "Only less CPU and fewer pages per transaction move this figure; the disk is not the limit.",
    );
  }
  return {
    figures,
    notes,
    details: {
      walPagesPerTransaction: wal,
      settings: Object.fromEntries(
        modes.map((m) => [m.sync, { tasksPerRun: m.tasks, rawInsertsPerRun: m.raw }]),
      ),
      runs,
      ours:
        "LedgerClient.insertTask({agentOwner, title, payload}) -> claimNext(role) -> complete(id, token, {costUsd: 0}); " +
        "each call is one BEGIN IMMEDIATE transaction that also appends a hash-chained audit row (3 audit rows per task), " +
        "logs the attempt on the task row when the claim ends, and returns the task (RETURNING). One connection, WAL, foreign_keys on, " +
        "checkpoints in a worker thread. " +
        "The audit chain is verified after every run (not timed).",
      plainjob: PLAINJOB_LIFECYCLE,
      sameSettings:
        "Both: better-sqlite3 in this process, a fresh file under os.tmpdir(), journal_mode=WAL, the same synchronous mode, one job at a time, the same title/payload data. Order alternates run to run.",
      diskFraction: `(tasks/s x ${COMMITS_PER_TASK} commits per task) / raw one-row autocommit inserts per second (the mean of a measurement just before and just after the pair), same mode, same folder.`,
      medianMicrosecondsPerOperation: perOp,
      cpuPerTask:
        "The bench thread's user + system time (/proc/thread-self/stat, 10 ms ticks) over a run, per task. " +
        "Sleeps are the thread's voluntary context switches (/proc/thread-self/status). " +
        "The sleep runs are NORMAL with Atomics.wait after each transaction for as long as a one-row FULL commit takes (the measured sleep is in the label).",
    },
  };
}
