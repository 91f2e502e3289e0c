// A project folder on disk, as `producer init` would leave it: producer.yaml, a prompt per
// role, and an empty ledger.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LedgerClient } from "../../dist/index.js";
import { tempDir } from "./temp.mjs";

/**
 * The no-op exec agent: bash appends "<task id> <its own start time>" to $BENCH_AGENT_LOG and
 * exits 0 without reading its prompt. EPOCHREALTIME is a bash builtin (no extra process).
 */
export const NOOP_AGENT = [
  "bash",
  "-c",
  'echo "$PRODUCER_TASK_ID $EPOCHREALTIME" >> "$BENCH_AGENT_LOG"',
];

/**
 * Creates the project and its ledger; returns paths. `top` is YAML above `agents:`, `role`
 * YAML added to each role, `agent` the command every role runs.
 */
export async function makeProject({
  prefix = "bench-project-",
  roles = ["code"],
  top = "",
  role = "",
  agent = NOOP_AGENT,
} = {}) {
  const dir = tempDir(prefix);
  const agents = roles
    .map(
      (name) =>
        // Agents see only an allowlisted environment: the log's variable is passed by name.
        `  ${name}:\n    daily_cap_usd: 10000\n    dispatch_reservation_usd: 0.01\n    runtime: exec\n    command: ${JSON.stringify(agent)}\n    env: [BENCH_AGENT_LOG]\n${role}`,
    )
    .join("");
  const yaml = `project_name: bench\nbudget:\n  project_ceiling_usd: 100000\n${top}agents:\n${agents}`;
  const configPath = join(dir, "producer.yaml");
  writeFileSync(configPath, yaml);
  for (const name of roles) {
    mkdirSync(join(dir, "agents", name), { recursive: true });
    writeFileSync(join(dir, "agents", name, "system_prompt.md"), `You are the ${name} agent.\n`);
  }
  const dbPath = join(dir, "agent-state", "ledger.db");
  const ledger = await LedgerClient.open({ dbPath, roles, actor: "cli" });
  await ledger.close();
  return { dir, configPath, dbPath, agentLog: join(dir, "agent.log"), yaml };
}
