import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LedgerClient } from "../src/index.js";
import { PRODUCER_BIN, runCli, tempProject } from "./helpers/cli.js";

const AGENT = join(import.meta.dirname, "fixtures", "shell-agent.mjs");

describe("producer decision add and producer asset add", () => {
  it("record what a human names, and refuse what is not theirs to name", async () => {
    const dir = tempProject();
    const dbPath = join(dir, "agent-state", "ledger.db");
    await (await LedgerClient.open({ dbPath })).close();
    const decision = await runCli(
      ["decision", "add", "Use tabs", "--rationale", "house style", "--role", "code", "--json"],
      { cwd: dir },
    );
    expect(JSON.parse(decision.stdout)).toMatchObject({
      agentOwner: "code",
      decisionText: "Use tabs",
      rationale: "house style",
      taskId: null,
    });
    const asset = await runCli(["asset", "add", "src/x.ts", "--kind", "code", "--role", "code"], {
      cwd: dir,
    });
    expect(asset.stdout).toMatch(/^[0-9A-Z]{26}\n$/);
    expect(await runCli(["decision", "add", "x"], { cwd: dir })).toMatchObject({
      code: 2,
      stderr: "producer: --role is required outside a dispatched agent: say whose record it is\n",
    });
    expect(
      await runCli(["asset", "add", "/etc/passwd", "--role", "code"], { cwd: dir }),
    ).toMatchObject({
      code: 1,
      stderr: 'producer: asset path "/etc/passwd" must be relative to the project root\n',
    });
  });

  it("let an agent in any language do what the ledger tools do, attributed to its dispatch", async () => {
    const dir = tempProject("", []);
    const dbPath = join(dir, "agent-state", "ledger.db");
    const ledger = await LedgerClient.open({ dbPath, roles: ["code", "qa"] });
    const other = await ledger.insertTask({
      agentOwner: "qa",
      title: "Someone else's",
      priority: 9,
    });
    const task = await ledger.insertTask({ agentOwner: "code", title: "Write notes" });
    await ledger.close();
    const { appendFileSync } = await import("node:fs");
    appendFileSync(
      join(dir, "producer.yaml"),
      `  code:\n    daily_cap_usd: 5\n    runtime: exec\n    command: ${JSON.stringify([process.execPath, AGENT, PRODUCER_BIN, other.id])}\n  qa:\n    daily_cap_usd: 5\n    runtime: exec\n    command: ["true"]\n`,
    );
    const run = await runCli(["run", "--once"], { cwd: dir, timeoutMs: 60_000 });
    expect(run.code).toBe(0);
    const check = await LedgerClient.open({ dbPath, create: false });
    const decisions = await check.listDecisions({ taskId: task.id });
    expect(decisions.map((d) => [d.agentOwner, d.decisionText]).sort()).toEqual([
      // The forged one is the agent's own, about its own task, whatever it claimed.
      ["code", "Forged"],
      ["code", "Notes go in notes.md"],
    ]);
    expect(await check.listDecisions({ taskId: other.id })).toEqual([]);
    const [asset] = await check.listAssets({ taskId: task.id });
    expect(asset).toMatchObject({ agentOwner: "code", path: "notes.md", kind: "doc" });
    const [child] = await check.listChildren(task.id);
    expect(child).toMatchObject({ agentOwner: "qa", createdBy: "code" });
    await check.close();
  });
});
