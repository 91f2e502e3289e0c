// A contention worker: opens the ledger, says "ready", waits for "go", then claims and
// completes tasks of one role until none is left, timing every claim. Reports over IPC.

import { LedgerClient, TaskClaimRace } from "../../dist/index.js";
import { busy } from "../lib/busy-probe.mjs";

const [dbPath, role, index] = process.argv.slice(2);
const ledger = await LedgerClient.open({ dbPath, actor: `worker-${index}`, create: false });
const go = new Promise((resolve) => process.once("message", resolve));
process.send({ type: "ready" });
await go;

const done = [];
const claimMs = [];
const errors = [];
let races = 0;
const started = performance.timeOrigin + performance.now();
let empty = 0;
while (empty < 2) {
  const t0 = performance.now();
  let task;
  try {
    task = await ledger.claimNext(role, { leaseMs: 600_000 });
  } catch (error) {
    if (error instanceof TaskClaimRace) races++;
    else errors.push(`${error?.code ?? ""} ${error?.message ?? error}`.trim());
    continue;
  }
  if (!task) {
    empty++;
    continue;
  }
  claimMs.push(performance.now() - t0);
  empty = 0;
  try {
    await ledger.complete(task.id, task.claimToken, { costUsd: 0.001 });
    done.push(task.id);
  } catch (error) {
    errors.push(`${error?.code ?? ""} ${error?.message ?? error}`.trim());
  }
}
const finished = performance.timeOrigin + performance.now();
await ledger.close();
process.send(
  {
    type: "result",
    done,
    claimMs,
    errors,
    races,
    busy,
    started,
    finished,
    cpu: process.cpuUsage(),
  },
  () => process.disconnect(),
);
