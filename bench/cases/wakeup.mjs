// 4. Wake-up latency: a running Producer (its own process, exec runtime, the no-op bash agent,
// the default 10 s poll interval) and another process filing tasks at random moments:
// insert committed -> agent process started, p50/p99; and the Producer's CPU while idle.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { exited, forkWorker, nextMessage } from "../lib/children.mjs";
import { makeProject } from "../lib/project.mjs";
import { percentile } from "../lib/stats.mjs";
import { removeDir } from "../lib/temp.mjs";

export const name = "wakeup";
export const title = "Wake-up latency and idle CPU of a running Producer";

const HOST = join(import.meta.dirname, "..", "workers", "producer-host.mjs");
const FILER = join(import.meta.dirname, "..", "workers", "filer.mjs");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function cpuOf(host) {
  const reply = nextMessage(host, "cpu");
  host.send({ type: "cpu" });
  return reply;
}

function agentStarts(file) {
  if (!existsSync(file)) return new Map();
  return new Map(
    readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [id, t] = line.split(" ");
        return [id, Number(t) * 1000];
      }),
  );
}

export async function run({ settings, log }) {
  const project = await makeProject({ prefix: "bench-wakeup-" });
  const host = forkWorker(HOST, [project.configPath], {
    env: { ...process.env, BENCH_AGENT_LOG: project.agentLog },
  });
  await nextMessage(host, "ready");
  await sleep(2000);

  // Idle CPU: the Producer has nothing to do; it sleeps until its poll timer or a file event.
  const idleSeconds = settings.BENCH_IDLE_SECONDS;
  const windows = 3;
  const idle = [];
  let pollsIdle = 0;
  for (let w = 0; w < windows; w++) {
    const a = await cpuOf(host);
    await sleep((idleSeconds * 1000) / windows);
    const b = await cpuOf(host);
    const cpuMs = (b.cpu.user - a.cpu.user + b.cpu.system - a.cpu.system) / 1000;
    idle.push((cpuMs / (b.at - a.at)) * 100);
    pollsIdle += b.polls - a.polls;
  }
  log(
    `  idle: ${idle.map((p) => p.toFixed(3)).join(", ")} % of a core over ${idleSeconds} s (${pollsIdle} polls)`,
  );

  const runs = settings.BENCH_WAKE_RUNS;
  const samples = settings.BENCH_WAKE_SAMPLES;
  const p50 = [];
  const p99 = [];
  const maxes = [];
  const missing = [];
  let negative = 0;
  for (let r = 0; r < runs; r++) {
    const filer = forkWorker(FILER, [project.dbPath, "code", String(samples), "100", "700"]);
    await nextMessage(filer, "ready");
    const result = nextMessage(filer, "result");
    filer.send({ type: "go" });
    const { filed } = await result;
    await exited(filer);
    const deadline = Date.now() + 15_000;
    let starts = agentStarts(project.agentLog);
    while (filed.some((f) => !starts.has(f.id)) && Date.now() < deadline) {
      await sleep(100);
      starts = agentStarts(project.agentLog);
    }
    const latencies = filed
      .filter((f) => starts.has(f.id))
      .map((f) => starts.get(f.id) - f.committed);
    negative += latencies.filter((l) => l < 0).length;
    missing.push(filed.length - latencies.length);
    p50.push(percentile(latencies, 50));
    p99.push(percentile(latencies, 99));
    maxes.push(Math.max(...latencies));
    log(
      `  run ${r + 1}/${runs}: ${latencies.length}/${filed.length} started; p50 ${p50.at(-1).toFixed(1)} ms, p99 ${p99.at(-1).toFixed(1)} ms, max ${maxes.at(-1).toFixed(1)} ms`,
    );
  }
  const stopped = nextMessage(host, "stopped");
  host.send({ type: "stop" });
  const hostStats = await stopped;
  await exited(host);
  removeDir(project.dir);
  const med = (xs) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)];
  const notes = [];
  if (med(p50) > 50 || med(p99) > 250) {
    notes.push(
      `wake-up p50 ${med(p50).toFixed(1)} ms / p99 ${med(p99).toFixed(1)} ms: the Producer sleeps until a file event on the ledger's WAL (or its poll timer); a slow path means the event was missed or a poll ran long.`,
    );
  }
  if (med(idle) >= 1) {
    notes.push(
      `idle CPU ${med(idle).toFixed(2)}% of a core with ${pollsIdle} polls in ${idleSeconds} s: something wakes the idle loop.`,
    );
  }
  return {
    notes,
    figures: [
      {
        key: "p50",
        label: "insert committed -> agent start, p50",
        unit: "ms",
        runs: p50,
        target: { op: "<=", value: 50, text: "<= 50 ms" },
      },
      {
        key: "p99",
        label: "insert committed -> agent start, p99",
        unit: "ms",
        runs: p99,
        target: { op: "<=", value: 250, text: "<= 250 ms" },
      },
      { key: "max", label: "insert committed -> agent start, slowest", unit: "ms", runs: maxes },
      {
        key: "missing",
        label: "tasks whose agent never started (15 s grace)",
        unit: "count",
        runs: missing,
      },
      {
        key: "idle_cpu",
        label: `Producer CPU while idle (${idleSeconds} s, ${windows} windows)`,
        unit: "% of a core",
        runs: idle,
        target: { op: "<=", value: 1, text: "< 1%" },
      },
    ],
    details: {
      producer:
        "bench/workers/producer-host.mjs: loadConfig + LedgerClient.open + new Producer({config, ledger}).run(), as `producer run` does; poll_interval_seconds default (10), exec runtime",
      agent:
        "bash -c 'echo \"$PRODUCER_TASK_ID $EPOCHREALTIME\" >> $BENCH_AGENT_LOG': its own start time, in microseconds, from inside the agent",
      filer: `bench/workers/filer.mjs, a separate process: ${samples} insertTask calls per run, a random gap of 100-700 ms before each`,
      latency:
        "agent's logged start time minus the wall time right after insertTask() resolved in the filer (the commit); both clocks are CLOCK_REALTIME on one host",
      idleCpu:
        "process.cpuUsage() delta of the Producer process over wall time, in % of one core, with nothing to dispatch",
      pollsWhileIdle: pollsIdle,
      negativeLatencies: negative,
      producerFailures: hostStats.failures,
      dispatched: hostStats.succeeded,
    },
  };
}
