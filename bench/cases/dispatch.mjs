// 5. Dispatch overhead: a Producer (own process, exec runtime, the no-op bash agent) works
// through 500 pre-filed tasks at concurrency 1 and 4. Its own time per dispatch is the slot
// time not spent inside an agent process: (wall x concurrency - sum of agent lifetimes) / tasks,
// where an agent's lifetime runs from spawn() returning to its exit, measured in the Producer.
import os from "node:os";
import { join } from "node:path";
import { LedgerClient } from "../../dist/index.js";
import { exited, forkWorker, nextMessage } from "../lib/children.mjs";
import { busyBetween, cpuSnapshot } from "../lib/cpu.mjs";
import { makeProject } from "../lib/project.mjs";
import { median, sum } from "../lib/stats.mjs";
import { removeDir } from "../lib/temp.mjs";

export const name = "dispatch";
export const title = "Producer dispatch overhead";

const HOST = join(import.meta.dirname, "..", "workers", "producer-host.mjs");
const LEVELS = [1, 4];

async function once(concurrency, tasks) {
  const project = await makeProject({
    prefix: "bench-dispatch-",
    top: `max_concurrent_dispatches: ${concurrency}\nlease_seconds: 60\n`,
    role: `    max_concurrent: ${concurrency}\n`,
  });
  const ledger = await LedgerClient.open({
    dbPath: project.dbPath,
    roles: ["code"],
    actor: "cli",
    create: false,
  });
  for (let i = 0; i < tasks; i += 100) {
    const batch = [];
    for (let k = i; k < Math.min(tasks, i + 100); k++)
      batch.push({ agentOwner: "code", title: `task ${k}`, payload: { n: k } });
    await ledger.insertTasks(batch);
  }
  await ledger.close();

  const host = forkWorker(HOST, [project.configPath], {
    env: { ...process.env, BENCH_AGENT_LOG: project.agentLog },
  });
  const ready = await nextMessage(host, "ready");
  const cpu0 = cpuSnapshot();
  const reached = nextMessage(host, "reached");
  host.send({ type: "expect", n: tasks });
  const end = await reached;
  const machineBusy = busyBetween(cpu0, cpuSnapshot());
  const stopped = nextMessage(host, "stopped");
  host.send({ type: "stop" });
  const stats = await stopped;
  await exited(host);
  removeDir(project.dir);
  if (stats.succeeded < tasks)
    throw new Error(`only ${stats.succeeded} of ${tasks} dispatches succeeded: ${stats.failures}`);

  const wallMs = end.at - ready.at;
  const agents = stats.spawns.filter((s) => s.exit !== null);
  const lifetimes = agents.map((s) => s.exit - s.spawned);
  const byTask = new Map(agents.map((s) => [s.task, s]));
  const spanOverheads = Object.entries(stats.spans)
    .filter(([id, s]) => s.succeeded !== null && byTask.has(id))
    .map(([id, s]) => s.succeeded - s.claimed - (byTask.get(id).exit - byTask.get(id).spawned));
  const cpuMs = (end.cpu.user - ready.cpu.user + end.cpu.system - ready.cpu.system) / 1000;
  const perDispatch = (ms) => ms / tasks;
  return {
    overheadMs: perDispatch(wallMs * concurrency - sum(lifetimes)),
    cpuMs: perDispatch(cpuMs),
    spanMs: median(spanOverheads),
    wallMs,
    agentMs: median(lifetimes),
    spawnCallMs: median(agents.map((s) => s.spawned - s.call)),
    tasksPerSecond: tasks / (wallMs / 1000),
    machineBusy,
    polls: stats.polls,
    ledger: Object.fromEntries(
      Object.entries(stats.ledgerCalls)
        .sort((a, b) => b[1].ms - a[1].ms)
        .map(([k, v]) => [
          k,
          {
            callsPerDispatch: +(v.calls / tasks).toFixed(2),
            msPerDispatch: +(v.ms / tasks).toFixed(3),
          },
        ]),
    ),
  };
}

export async function run({ settings, log }) {
  const tasks = settings.BENCH_DISPATCH_TASKS;
  const runs = settings.BENCH_DISPATCH_RUNS;
  await once(1, Math.max(10, Math.ceil(tasks / 10))); // warm-up
  const series = Object.fromEntries(LEVELS.map((c) => [c, []]));
  for (let r = 0; r < runs; r++) {
    for (const c of LEVELS) {
      const out = await once(c, tasks);
      series[c].push(out);
      log(
        `  run ${r + 1}/${runs}, concurrency ${c}: ${out.tasksPerSecond.toFixed(0)} dispatches/s, overhead ${out.overheadMs.toFixed(2)} ms/dispatch, producer CPU ${out.cpuMs.toFixed(2)} ms/dispatch, agent ${out.agentMs.toFixed(2)} ms, ${out.polls} polls`,
      );
    }
  }
  const figures = [];
  const pick = (c, k) => series[c].map((o) => o[k]);
  for (const c of LEVELS) {
    figures.push(
      {
        key: `overhead_${c}`,
        label: `concurrency ${c}: Producer time per dispatch (slot time minus agent lifetime)`,
        unit: "ms",
        runs: pick(c, "overheadMs"),
        target: { op: "<=", value: 5, text: "<= 5 ms" },
      },
      {
        key: `span_${c}`,
        label: `concurrency ${c}: claimed -> succeeded minus agent lifetime (median)`,
        unit: "ms",
        runs: pick(c, "spanMs"),
      },
      {
        key: `cpu_${c}`,
        label: `concurrency ${c}: Producer CPU per dispatch`,
        unit: "ms",
        runs: pick(c, "cpuMs"),
      },
      {
        key: `agent_${c}`,
        label: `concurrency ${c}: agent process lifetime (median)`,
        unit: "ms",
        runs: pick(c, "agentMs"),
      },
      {
        key: `rate_${c}`,
        label: `concurrency ${c}: dispatches per second`,
        unit: "tasks/s",
        runs: pick(c, "tasksPerSecond"),
      },
    );
  }
  const mid = (c) =>
    series[c].toSorted((a, b) => a.overheadMs - b.overheadMs)[Math.floor(series[c].length / 2)];
  const med = (xs) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)];
  const notes = [];
  for (const c of LEVELS) {
    const over = med(pick(c, "overheadMs"));
    if (over <= 5) continue;
    const m = mid(c);
    const ledgerMs = Object.values(m.ledger).reduce((a, v) => a + v.msPerDispatch, 0);
    notes.push(
      `concurrency ${c}: ${over.toFixed(1)} ms of slot time per dispatch outside the agent, while the Producer itself used ${med(pick(c, "cpuMs")).toFixed(1)} ms CPU per dispatch ` +
        `(spawn() blocks ${m.spawnCallMs.toFixed(1)} ms of it; ledger calls ${ledgerMs.toFixed(1)} ms wall) and the machine's ${os.cpus().length} cores were ${m.machineBusy === null ? "?" : Math.round(m.machineBusy * 100)}% busy: ` +
        (c > os.cpus().length
          ? "with more agents than cores the slots wait for CPU, not only for the Producer. "
          : "the rest is waiting: for the CPU (other work on the machine counts in that busy figure), for the next poll after a dispatch ends, and for the agent's pipes to close. ") +
        "Less Producer CPU per dispatch (statements prepared once in the budget queries, the prompt file cached, no extra poll per own WAL write) would move it.",
    );
  }
  return {
    figures,
    notes,
    details: {
      tasks,
      producer:
        "bench/workers/producer-host.mjs (Producer as `producer run` builds it, default poll interval); tasks filed before it starts; timed from run() to the last `succeeded` event",
      agent:
        "bash -c 'echo ... >> log' (exec runtime: prompt on stdin, PRODUCER_* env, own process group)",
      overhead:
        "(wall x concurrency - sum of agent lifetimes) / tasks; lifetime = child_process.spawn() returned -> 'exit', measured by wrapping spawn inside the Producer process",
      span: "per dispatch: the Producer's `claimed` event -> its `succeeded` event (claim transaction before, finishClaim transaction after), minus that agent's lifetime; the median over tasks. Leaves out the wait for a poll before the claim.",
      cpu: "process.cpuUsage() of the Producer process over the same window / tasks (all threads)",
      medianRunBreakdown: Object.fromEntries(
        LEVELS.map((c) => [
          c,
          {
            spawnCallMs: mid(c).spawnCallMs,
            polls: mid(c).polls,
            machineCpuBusy: mid(c).machineBusy,
            ledgerCallsByMethod: mid(c).ledger,
          },
        ]),
      ),
      note: "ledger call times are wall time from call to promise settled (they overlap at concurrency 4)",
    },
  };
}
