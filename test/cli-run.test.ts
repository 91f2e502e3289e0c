import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LedgerClient } from "../src/index.js";
import { runCli, startCli, tempProject } from "./helpers/cli.js";
import {
  claudeTestEnv,
  type FakeAnthropic,
  startFakeAnthropic,
  textTurn,
  toolResults,
  toolTurn,
} from "./helpers/fake-anthropic.js";
import { execCliProject } from "./helpers/producer.js";

const children: { kill(signal?: NodeJS.Signals): void }[] = [];
let fake: FakeAnthropic | undefined;
afterEach(async () => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
  await fake?.close();
  fake = undefined;
});

describe("producer run", () => {
  it("--once that dispatches nothing says when another Producer holds the work", async () => {
    const p = await execCliProject();
    await p.ledger.insertTask({ agentOwner: "code", title: "theirs" });
    await p.ledger.claimNext("code", { claimedBy: "other-host:4242", leaseMs: 600_000 });
    await p.ledger.close();
    const result = await runCli(["run", "--once"], { cwd: p.dir, env: p.env });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      "nothing dispatched here: 1 task is in progress under another Producer (other-host:4242)\n",
    );
  });

  it("--once drains the queue, then exits 0 with one line per event", async () => {
    const p = await execCliProject();
    await p.ledger.insertTask({ agentOwner: "code", title: "first", payload: { cost: 0.02 } });
    await p.ledger.insertTask({
      agentOwner: "code",
      title: "second",
      payload: { action: "fail", message: "nope" },
    });
    await p.ledger.close();
    const result = await runCli(["run", "--once"], { cwd: p.dir, env: p.env });
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d producer started \(pid \d+\) for roles code, until the queue drains$/,
    );
    expect(result.stdout).toMatch(/→ code \w{8} claimed: first \(attempt 1, limit \$5\.00\)/);
    expect(result.stdout).toMatch(/✓ code \w{8} done in \d+\.\d s, \$0\.0200, 0 tokens/);
    expect(result.stdout).toMatch(
      /✗ code \w{8} crash: the agent exited with code 1: nope \(\$0\.0000; will retry\)/,
    );
    expect(result.stdout).toMatch(/↻ code \w{8} retry 1 in 30 s/);
    expect(lines.at(-1)).toMatch(/stopped after 2 dispatch\(es\)$/);
    expect(result.stdout.includes("\u001b[")).toBe(false);
  });

  it("--log-format json prints one JSON object per line", async () => {
    const p = await execCliProject();
    await p.ledger.insertTask({ agentOwner: "code", title: "only" });
    await p.ledger.close();
    const result = await runCli(["run", "--once", "--log-format", "json"], {
      cwd: p.dir,
      env: p.env,
    });
    const events = result.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { event: string; ts: string });
    expect(events.map((e) => e.event)).toEqual([
      "started",
      "claimed",
      "succeeded",
      "stopping",
      "stopped",
    ]);
    expect(events[1]).toMatchObject({ role: "code", title: "only", attempt: 1 });
    const bad = await runCli(["run", "--log-format", "xml"], { cwd: p.dir });
    expect(bad).toMatchObject({
      code: 2,
      stderr: 'producer: --log-format must be text or json, got "xml"\n',
    });
  });

  it("on Ctrl-C stops claiming, lets the call in flight finish, and exits 0", async () => {
    const p = await execCliProject();
    const slow = await p.ledger.insertTask({
      agentOwner: "code",
      title: "slow",
      payload: { action: "sleep", ms: 1500 },
    });
    await p.ledger.insertTask({ agentOwner: "code", title: "never started", priority: 9 });
    const run = startCli(["run"], { cwd: p.dir, env: p.env });
    children.push(run.child);
    await run.waitFor(/claimed: slow/);
    run.child.kill("SIGINT");
    await run.waitFor(/waiting for 1 call\(s\) in flight/);
    expect(await run.exited).toBe(0);
    expect((await p.ledger.getTask(slow.id))!.status).toBe("done");
    expect(await p.ledger.countTasks({ status: "pending" })).toBe(1);
    await p.ledger.close();
  });

  it("a second Ctrl-C aborts the call; its task goes back to pending, attempt not counted", async () => {
    const p = await execCliProject();
    const slow = await p.ledger.insertTask({
      agentOwner: "code",
      title: "slow",
      payload: { action: "sleep", ms: 20000 },
    });
    const run = startCli(["run"], { cwd: p.dir, env: p.env });
    children.push(run.child);
    await run.waitFor(/claimed: slow/);
    run.child.kill("SIGINT");
    await run.waitFor(/waiting for 1 call/);
    run.child.kill("SIGINT");
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toContain(
      "aborting 1 call(s) in flight; their tasks go back to the queue",
    );
    expect((await p.ledger.getTask(slow.id))!).toMatchObject({ status: "pending", attempts: 0 });
    await p.ledger.close();
  });

  it("producer kill --now aborts the call in flight; its task returns to pending uncounted", async () => {
    const p = await execCliProject();
    const slow = await p.ledger.insertTask({
      agentOwner: "code",
      title: "slow",
      payload: { action: "sleep", ms: 20000 },
    });
    const run = startCli(["run"], { cwd: p.dir, env: p.env });
    children.push(run.child);
    await run.waitFor(/claimed: slow/);
    const kill = await runCli(["kill", "--now", "runaway"], { cwd: p.dir });
    expect(kill.code).toBe(0);
    await run.waitFor(/kill switch armed by cli: runaway; nothing new starts/);
    await run.waitFor(/returned to the queue, not counted/);
    expect((await p.ledger.getTask(slow.id))!).toMatchObject({ status: "pending", attempts: 0 });
    run.child.kill("SIGINT");
    expect(await run.exited).toBe(0);
    await p.ledger.close();
  });

  it("after a kill -9 mid-dispatch, the next run recovers the claim at once and finishes the task", async () => {
    const p = await execCliProject();
    const task = await p.ledger.insertTask({
      agentOwner: "code",
      title: "victim",
      payload: { action: "sleep", ms: 1500 },
    });
    const first = startCli(["run"], { cwd: p.dir, env: p.env });
    children.push(first.child);
    await first.waitFor(/claimed: victim/);
    // Mid-dispatch: the agent is running when the Producer dies.
    while (p.starts() === 0) await new Promise((r) => setTimeout(r, 20));
    first.child.kill("SIGKILL");
    await first.exited;
    expect((await p.ledger.getTask(task.id))!.status).toBe("in_progress");

    const second = await runCli(["run", "--once"], { cwd: p.dir, env: p.env });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(
      /↺ code \w{8} recovered \(stuck in progress\): the process holding it \(.+:\d+\) is gone/,
    );
    const done = (await p.ledger.getTask(task.id))!;
    expect(done).toMatchObject({ status: "done", attempts: 2 });
    expect(p.starts()).toBe(2);
    const actions = (await p.ledger.recentAudit(50, task.id)).map((a) => a.action).reverse();
    expect(actions).toEqual([
      "task.created",
      "task.claimed",
      "task.recovered",
      "task.claimed",
      "task.done",
    ]);
    expect((await p.ledger.verifyAuditChain()).ok).toBe(true);
    expect(
      (await p.ledger.budgetForDay(new Date().toISOString().slice(0, 10)))[0]?.reservedUsd ?? 0,
    ).toBe(0);
    await p.ledger.close();
  });

  it("runs Claude agents end to end: an agent files a task through the ledger tool, and both finish", async () => {
    const dir = tempProject("auth:\n  mode: api\n", []);
    writeFileSync(
      join(dir, "producer.yaml"),
      `${readFileSync(join(dir, "producer.yaml"), "utf8")}  code:\n    daily_cap_usd: 5\n    model: claude-sonnet-4-5\n  qa:\n    daily_cap_usd: 5\n    model: claude-sonnet-4-5\n`,
    );
    for (const role of ["code", "qa"]) {
      mkdirSync(join(dir, "agents", role), { recursive: true });
      writeFileSync(join(dir, "agents", role, "system_prompt.md"), `You are ${role}.\n`);
    }
    const ledger = await LedgerClient.open({
      dbPath: join(dir, "agent-state", "ledger.db"),
      roles: ["code", "qa"],
    });
    const root = await ledger.insertTask({ agentOwner: "code", title: "Build login" });
    await ledger.close();
    // One scripted conversation per dispatch, told apart by the prompt and by tool results.
    fake = await startFakeAnthropic({
      fallback: (body) => {
        const prompt = JSON.stringify(body.messages?.[0] ?? "");
        const answered = toolResults(body).length > 0;
        if (prompt.includes("for the code role")) {
          return answered
            ? textTurn("Built it and filed QA.")
            : toolTurn("mcp__ledger__insert_task", {
                agent_owner: "qa",
                title: "Test login",
                priority: 2,
              });
        }
        return answered
          ? textTurn("Tested.")
          : toolTurn("mcp__ledger__record_decision", {
              decision_text: "Login works",
              rationale: "all cases pass",
            });
      },
    });
    const env = claudeTestEnv(fake, join(dir, "unused"));
    const result = await runCli(["run", "--once"], { cwd: dir, env, timeoutMs: 60_000 });
    expect(result.code).toBe(0);
    const check = await LedgerClient.open({ dbPath: join(dir, "agent-state", "ledger.db") });
    const [child] = await check.listChildren(root.id);
    expect(child).toMatchObject({
      agentOwner: "qa",
      title: "Test login",
      createdBy: "code",
      status: "done",
    });
    const parent = (await check.getTask(root.id))!;
    expect(parent).toMatchObject({
      status: "done",
      model: "claude-sonnet-4-5",
      inputTokens: 2000,
      outputTokens: 100,
    });
    expect(parent.costUsd).toBeCloseTo(2 * 0.00459, 12);
    expect(parent.actualCostUsd).toBeCloseTo(2 * 0.00459, 12);
    expect(child!.costUsd).toBeCloseTo(2 * 0.00459, 12);
    expect((await check.listDecisions({ taskId: child!.id }))[0]?.decisionText).toBe("Login works");
    expect((await check.verifyAuditChain()).ok).toBe(true);
    await check.close();
  });
});
