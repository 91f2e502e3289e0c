import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { onTestFinished } from "vitest";
import { LedgerClient, type ProducerConfig, type Task } from "../../src/index.js";
import { configFrom } from "./config.js";
import { tempDir } from "./temp.js";

/**
 * A project on disk: producer.yaml's content (parsed, not written), a prompt file per role and
 * an open ledger with the roles, closed after the test.
 */
export async function tempProjectWithLedger(yaml: string) {
  const dir = tempDir("producer-proj-");
  writeFileSync(join(dir, "producer.yaml"), yaml);
  const config: ProducerConfig = configFrom(yaml, dir);
  for (const role of Object.values(config.agents)) {
    mkdirSync(join(role.prompt, ".."), { recursive: true });
    writeFileSync(role.prompt, `You are the ${role.name} agent of a test project.\n`);
  }
  const ledger = await LedgerClient.open({
    dbPath: config.ledgerDb,
    roles: Object.keys(config.agents),
    actor: "test",
  });
  onTestFinished(() => ledger.close());
  const fileTask = (agentOwner: string, title = "Build the thing"): Promise<Task> =>
    ledger.insertTask({ agentOwner, title, description: "Make it work.", payload: { n: 1 } });
  return { dir, config, ledger, fileTask };
}
