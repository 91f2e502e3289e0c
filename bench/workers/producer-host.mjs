// Runs a Producer (as `producer run` builds it) in its own process for the wake-up and
// dispatch benchmarks, and answers the bench over IPC: its CPU time, when N dispatches have
// succeeded, and what it measured. Before the library loads, child_process.spawn is wrapped so
// every agent process's lifetime (spawn returned -> exit) is known exactly, fs.readdirSync is
// wrapped to count the sweeps of /proc for processes agents left behind, and the
// LedgerClient's methods are wrapped to time each ledger call.
import { createRequire, syncBuiltinESMExports } from "node:module";

const require = createRequire(import.meta.url);
const childProcess = require("node:child_process");
const originalSpawn = childProcess.spawn;
const spawns = [];
childProcess.spawn = function spawn(...args) {
  const call = performance.now();
  const child = originalSpawn.apply(this, args);
  const record = {
    task: args[2]?.env?.PRODUCER_TASK_ID ?? null,
    call,
    spawned: performance.now(),
    exit: null,
  };
  child.once("exit", () => {
    record.exit = performance.now();
  });
  spawns.push(record);
  return child;
};
// The exec runtime's sweep for processes an agent left behind starts with a listing of /proc.
const fs = require("node:fs");
const originalReaddirSync = fs.readdirSync;
let procSweeps = 0;
fs.readdirSync = function readdirSync(...args) {
  if (args[0] === "/proc") procSweeps++;
  return originalReaddirSync.apply(this, args);
};
syncBuiltinESMExports();

const { LedgerClient, Producer, loadConfig } = await import("../../dist/index.js");

const ledgerCalls = {};
// The methods live on LedgerClient's base class (the ledger over any storage).
const ledgerMethods = Object.getPrototypeOf(LedgerClient.prototype);
for (const method of Object.getOwnPropertyNames(ledgerMethods)) {
  // Private helpers and the calls the public ones make are not counted twice.
  const internal = ["constructor", "read", "write", "actorOf", "claimOptions", "change"];
  if ([...internal, "endClaim", "workerIdentity", "location"].includes(method)) continue;
  const original = Object.getOwnPropertyDescriptor(ledgerMethods, method)?.value;
  if (typeof original !== "function") continue;
  ledgerMethods[method] = function (...args) {
    const t0 = performance.now();
    if (!ledgerCalls[method]) ledgerCalls[method] = { calls: 0, ms: 0 };
    const stat = ledgerCalls[method];
    stat.calls++;
    const result = original.apply(this, args);
    if (result && typeof result.then === "function") {
      return result.finally(() => {
        stat.ms += performance.now() - t0;
      });
    }
    stat.ms += performance.now() - t0;
    return result;
  };
}

const [configPath] = process.argv.slice(2);
const config = await loadConfig(configPath);
const ledger = await LedgerClient.open({
  dbPath: config.ledgerDb,
  roles: Object.keys(config.agents),
  guardrails: config.guardrails,
  actor: "producer",
  create: false,
});
const producer = new Producer({ config, ledger, env: process.env });
let succeeded = 0;
let failed = 0;
const failures = [];
let expect = null;
let reachedAt = null;
let polls = 0;
const spans = {};
producer.events.on("claimed", (e) => {
  spans[e.taskId] = { claimed: performance.now(), succeeded: null };
});
producer.events.on("succeeded", (e) => {
  if (spans[e.taskId]) spans[e.taskId].succeeded = performance.now();
  succeeded++;
  if (expect !== null && succeeded >= expect && reachedAt === null) {
    reachedAt = performance.now();
    process.send({ type: "reached", at: reachedAt, cpu: process.cpuUsage() });
  }
});
producer.events.on("failed", (e) => {
  failed++;
  if (failures.length < 5) failures.push(`${e.kind}: ${e.error}`);
});
producer.events.on("loop_error", (e) => {
  if (failures.length < 5) failures.push(`loop_error: ${e.message}`);
});
const originalPoll = Producer.prototype.poll;
if (typeof originalPoll === "function") {
  producer.poll = function (...args) {
    polls++;
    return originalPoll.apply(this, args);
  };
}

process.on("message", async (message) => {
  switch (message.type) {
    case "cpu":
      process.send({ type: "cpu", at: performance.now(), cpu: process.cpuUsage(), polls });
      break;
    case "expect":
      expect = message.n;
      if (succeeded >= expect) {
        reachedAt = performance.now();
        process.send({ type: "reached", at: reachedAt, cpu: process.cpuUsage() });
      }
      break;
    case "stop": {
      producer.stop();
      await running;
      await ledger.close();
      process.send(
        {
          type: "stopped",
          spawns,
          spans,
          ledgerCalls,
          succeeded,
          failed,
          failures,
          polls,
          procSweeps,
          memory: process.memoryUsage(),
          // performance.now() values above are from here: agents log wall-clock times.
          timeOrigin: performance.timeOrigin,
          runStart,
          runStartCpu,
        },
        () => process.disconnect(),
      );
      break;
    }
  }
});

const runStartCpu = process.cpuUsage();
const runStart = performance.now();
const running = producer.run();
process.send({ type: "ready", at: runStart, cpu: runStartCpu });
