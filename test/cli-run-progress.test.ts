import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LedgerClient } from "../src/index.js";
import { runCli, tempProject } from "./helpers/cli.js";
import {
  claudeTestEnv,
  type FakeAnthropic,
  startFakeAnthropic,
  textTurn,
  toolTurn,
} from "./helpers/fake-anthropic.js";
import { closedPort } from "./helpers/http-server.js";

let fake: FakeAnthropic | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const ROLE = `  code:
    daily_cap_usd: 5
    model: claude-sonnet-4-5
    allowed_tools: [Read]
`;

/** A project with one Claude role and one task for it; returns the task's id too. */
async function project(top: string): Promise<{ dir: string; taskId: string }> {
  const dir = tempProject(`auth:\n  mode: api\n${top}`, []);
  const { appendFileSync, mkdirSync, writeFileSync } = await import("node:fs");
  appendFileSync(join(dir, "producer.yaml"), ROLE);
  mkdirSync(join(dir, "agents", "code"), { recursive: true });
  writeFileSync(join(dir, "agents", "code", "system_prompt.md"), "You write code.\n");
  const ledger = await LedgerClient.open({
    dbPath: join(dir, "agent-state", "ledger.db"),
    roles: ["code"],
  });
  const task = await ledger.insertTask({ agentOwner: "code", title: "Read the config" });
  await ledger.close();
  return { dir, taskId: task.id };
}

describe("producer run with a Claude call in flight", () => {
  it("prints the call's turns, tokens and spend so far while it runs", async () => {
    const { dir, taskId } = await project("");
    // The second answer takes 6 s: longer than the least time between two progress lines.
    fake = await startFakeAnthropic({
      script: [
        toolTurn("Read", { file_path: "producer.yaml" }),
        { ...textTurn("read it"), delayMs: 6_000 },
      ],
    });
    const run = await runCli(["run", "--once"], {
      cwd: dir,
      env: claudeTestEnv(fake, join(dir, "claude-config")),
      timeoutMs: 60_000,
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `… code ${taskId.slice(-8)} working: 2 turns, [\\d,]+ tokens, \\$0\\.\\d{4} so far, \\d+\\.\\d s\\n`,
      ),
    );
  }, 90_000);

  it("ends an attempt that cannot reach the API after retry.api_wait_seconds, and says so", async () => {
    const port = await closedPort();
    // The CLI announces its retries after backoffs of about 0.5, 1, 2, 4 and 8 s (a quarter
    // more at most), so the fifth announcement comes 7.5-9.4 s after the first failure: past
    // the 5 s a progress line waits for, and inside a 12 s wait. With 7 s, the last one seen
    // came 3.5-4.4 s after the first failure, and a line was printed only when the CLI took
    // long enough to start (a loaded machine), so a fast one failed the test.
    const { dir, taskId } = await project("retry:\n  max_retries: 0\n  api_wait_seconds: 12\n");
    const env = claudeTestEnv({ url: `http://127.0.0.1:${port}` }, join(dir, "claude-config"));
    // The CLI's own default, 10 retries over minutes: what a user without the setting gets.
    env.CLAUDE_CODE_MAX_RETRIES = "";
    const run = await runCli(["run", "--once"], { cwd: dir, env, timeoutMs: 90_000 });
    const id = taskId.slice(-8);
    expect(run.stdout).toMatch(
      new RegExp(
        `… code ${id} retrying the API \\(no connection; attempt \\d+ of 10, for \\d+\\.\\d s\\): 0 turns, 0 tokens, \\$0\\.0000 so far`,
      ),
    );
    expect(run.stdout).toContain(
      `✗ code ${id} api error: could not reach the Anthropic API at http://127.0.0.1:${port}: no connection (refused, unresolved or timed out)`,
    );
    // Failed for good (max_retries: 0): run --once says so by its exit code.
    expect(run.code).toBe(3);
  }, 120_000);
});
