// Files tasks into a ledger at random moments (uniform gap in [minGap, maxGap] ms) and
// reports when each insert was called and committed, as wall-clock milliseconds.
import { LedgerClient } from "../../dist/index.js";

const [dbPath, role, samplesArg, minGapArg, maxGapArg] = process.argv.slice(2);
const samples = Number(samplesArg);
const minGap = Number(minGapArg);
const maxGap = Number(maxGapArg);
const wall = () => performance.timeOrigin + performance.now();
const ledger = await LedgerClient.open({ dbPath, actor: "filer", create: false });
const go = new Promise((resolve) => process.once("message", resolve));
process.send({ type: "ready" });
await go;
const filed = [];
for (let i = 0; i < samples; i++) {
  await new Promise((r) => setTimeout(r, minGap + Math.random() * (maxGap - minGap)));
  const called = wall();
  const task = await ledger.insertTask({ agentOwner: role, title: `wake ${i}`, payload: { n: i } });
  filed.push({ id: task.id, called, committed: wall() });
}
await ledger.close();
process.send({ type: "result", filed }, () => process.disconnect());
