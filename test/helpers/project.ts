import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { onTestFinished } from "vitest";
import {
  bundledPriceTable,
  ClaudeAgentInvoker,
  type DispatchRequest,
  type InvocationResult,
  LedgerClient,
  type ProducerConfig,
  type Task,
} from "../../src/index.js";
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

/** A project from {@link tempProjectWithLedger}. */
export type TestProject = Awaited<ReturnType<typeof tempProjectWithLedger>>;

/**
 * Runs `task` once through the Claude runtime as its role, the way a dispatch calls it (with
 * `env` as the agent's starting environment), without a Producer around it. `invoker` is a
 * quiet `ClaudeAgentInvoker` unless given; the rest of the request may be overridden.
 */
export function invokeOnce(
  project: TestProject,
  task: Task,
  env: DispatchRequest["env"],
  options: Partial<Pick<DispatchRequest, "budgetUsd" | "signal" | "prices" | "onProgress">> & {
    invoker?: ClaudeAgentInvoker;
  } = {},
): Promise<InvocationResult> {
  const invoker = options.invoker ?? new ClaudeAgentInvoker({ warn: () => {} });
  return invoker.invoke({
    task,
    role: project.config.agents[task.agentOwner]!,
    config: project.config,
    budgetUsd: options.budgetUsd ?? 1,
    signal: options.signal ?? new AbortController().signal,
    env,
    ledger: project.ledger,
    prices: options.prices ?? bundledPriceTable(),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}
