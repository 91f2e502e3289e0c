// A PostgreSQL drainer for the several-hosts scaling benchmark: ours (claimNext + complete,
// audit chain on) or pg-boss (fetch + complete), one task at a time until the queue is empty.
// Says "ready" over IPC, waits for "go", reports how many it finished.
import { LedgerClient } from "../../dist/index.js";
import { openPgBoss, PG_URL } from "../lib/pg.mjs";

const [kind, schema] = process.argv.slice(2);
const done = { n: 0 };
let drainOne;
let close;
if (kind === "ours") {
  const ledger = await LedgerClient.open({
    ledgerUrl: `${PG_URL}?schema=${schema}`,
    create: false,
    roles: ["code"],
    actor: `w${process.pid}`,
  });
  drainOne = async () => {
    const task = await ledger.claimNext("code");
    if (!task) return false;
    await ledger.complete(task.id, task.claimToken, { costUsd: 0 });
    return true;
  };
  close = () => ledger.close();
} else {
  const boss = await openPgBoss(schema);
  drainOne = async () => {
    const [job] = await boss.fetch("code");
    if (!job) return false;
    await boss.complete("code", job.id);
    return true;
  };
  close = () => boss.stop({ graceful: false, close: true });
}
process.send({ type: "ready" });
await new Promise((resolve) => process.once("message", resolve));
const started = performance.now();
while (await drainOne()) done.n++;
const seconds = (performance.now() - started) / 1000;
await close();
process.send({ type: "result", done: done.n, seconds });
process.disconnect();
