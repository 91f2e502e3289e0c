import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { ProjectStatus } from "../src/cli/commands/status.js";
import {
  BudgetExceeded,
  BudgetTracker,
  KillSwitchWatcher,
  LedgerClient,
  loadConfig,
} from "../src/index.js";
import { type CliProcess, runCli, startCli, tempProject } from "./helpers/cli.js";
import { PRODUCER_AGENT } from "./helpers/producer.js";

// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for escape codes is the point.
const ESCAPE = /\u001b\[/;

async function project(): Promise<{ dir: string; ledger: LedgerClient }> {
  const dir = tempProject("budget:\n  project_ceiling_usd: 50\n");
  const ledger = await LedgerClient.open({
    dbPath: join(dir, "agent-state", "ledger.db"),
    roles: ["producer", "design", "code", "qa"],
    actor: "test",
  });
  return { dir, ledger };
}

describe("producer status", () => {
  it("on an empty project: nothing queued, nothing running, the brake off", async () => {
    const { dir, ledger } = await project();
    await ledger.close();
    const sub = join(dir, "src");
    mkdirSync(sub);
    const [text, json] = await Promise.all([
      runCli(["status"], { cwd: sub, env: { NO_COLOR: undefined } }),
      runCli(["status", "--json"], { cwd: dir }),
    ]);
    expect(text).toMatchObject({ code: 0, stderr: "" });
    expect(ESCAPE.test(text.stdout)).toBe(false);
    const lines = text.stdout.split("\n");
    expect(lines[0]).toMatch(/^testproj: status at \d{4}-\d\d-\d\dT/);
    expect(lines.slice(2, 8)).toEqual([
      "kill switch  off",
      "activity     idle: nothing to do",
      "attention    nothing waiting",
      "escalations  none waiting",
      "approvals    none awaiting",
      "producers    none has run in the last day (producer run starts one)",
    ]);
    expect(text.stdout).toContain(
      "  total         0        0        0        0     0       0          0       0\n",
    );
    expect(text.stdout).toContain("running now\n  nothing\n");
    expect(text.stdout).toContain("  project   $0.00     $0.00  $50.00\n");

    const status = JSON.parse(json.stdout) as ProjectStatus;
    expect(status).toMatchObject({
      project: "testproj",
      killSwitch: { armed: false },
      idle: true,
      attention: { open: 0, newest: null },
      producers: [],
      escalations: { waiting: 0 },
      running: [],
      budget: { project: { ceilingUsd: 50, spentUsd: 0, reservedUsd: 0 } },
    });
    expect(status.queue.totals).toEqual({
      awaiting_approval: 0,
      pending: 0,
      in_progress: 0,
      done: 0,
      failed: 0,
      escalated: 0,
      killed: 0,
    });
    expect(status.queue.roles.map((r) => r.role)).toEqual(["producer", "design", "code", "qa"]);
    expect(status.budget.roles.map((r) => r.role)).toEqual(["producer", "design", "code", "qa"]);
  });

  it("on a busy project: queue, running work, caps, the armed brake and alerts", async () => {
    const { dir, ledger } = await project();
    try {
      const later = new Date(Date.now() + 3_600_000).toISOString();
      const spec = await ledger.insertTask({ agentOwner: "design", title: "Write the spec" });
      await ledger.insertTask({ agentOwner: "code", title: "Build it", dependsOn: [spec.id] });
      await ledger.insertTask({ agentOwner: "code", title: "Later", notBefore: later });
      const stuck = await ledger.insertTask({ agentOwner: "qa", title: "Flaky test" });
      await ledger.insertTask({ agentOwner: "qa", title: "Ready now" });
      await ledger.insertTask({ agentOwner: "qa", title: "Run the suite" });
      await ledger.kill((await ledger.insertTask({ agentOwner: "qa", title: "Dropped" })).id);
      // Claims go oldest first, so the flaky one is claimed and escalated.
      const claimed = await ledger.claimNext("qa", { claimedBy: "host:1" });
      expect(claimed?.id).toBe(stuck.id);
      await ledger.escalate(stuck.id, claimed!.claimToken!, "failed 4 times");
      await ledger.claimNext("design", { claimedBy: "host:42" });

      const config = await loadConfig(join(dir, "producer.yaml"));
      const budget = new BudgetTracker(ledger, config, { warn: () => {} });
      await budget.settle(await budget.reserve("code"), 4.2);
      const overrun = await budget.settle(await budget.reserve("qa"), 5.5).catch((e: unknown) => e);
      expect(overrun).toBeInstanceOf(BudgetExceeded);
      await new KillSwitchWatcher(config.killSwitch).arm("deploy freeze", "alice");
      for (const title of ["qa hit its cap", "task escalated"]) {
        await ledger.recordNotification({
          kind: "escalation",
          title,
          message: "details",
          priority: 3,
          tags: [],
          needsHuman: true,
          sequenceId: null,
        });
      }
    } finally {
      await ledger.close();
    }

    const [text, json] = await Promise.all([
      runCli(["status"], { cwd: dir }),
      runCli(["status", "--json"], { cwd: dir }),
    ]);
    expect(text).toMatchObject({ code: 0, stderr: "" });
    const out = text.stdout;
    expect(out).toMatch(
      /^kill switch {2}ARMED: deploy freeze \(by alice, \d{4}-[^)]+; producer resume releases it\)$/m,
    );
    expect(out).toContain("activity     1 running, 2 ready to claim\n");
    expect(out).toMatch(
      /^attention {4}needs a human: 2 open, newest \w{26} at \d{4}-\S+: task escalated \(producer attention lists them\)$/m,
    );
    expect(out).toContain("escalations  1 waiting (producer task list --status escalated)\n");
    expect(out).toContain(
      [
        "  ROLE      READY  BLOCKED  DELAYED  RUNNING  DONE  FAILED  ESCALATED  KILLED",
        "  producer      0        0        0        0     0       0          0       0",
        "  design        0        0        0        1     0       0          0       0",
        "  code          0        1        1        0     0       0          0       0",
        "  qa            2        0        0        0     0       0          1       1",
        "  total         2        1        1        1     0       0          1       1",
      ].join("\n"),
    );
    expect(out).toMatch(
      /running now\n {2}ID +ROLE +BY +SINCE +TITLE\n {2}\w{26} +design +host:42 +\S+ +Write the spec\n/,
    );
    expect(out).toContain("  code      $4.20     $0.00   $5.00  (soft cap)\n");
    expect(out).toContain(
      "  qa        $5.50     $0.00   $5.00  [CAP HIT] daily cap $5 passed after the fact\n",
    );
    expect(out).toContain("  project   $9.70     $0.00  $50.00\n");
    expect(ESCAPE.test(out)).toBe(false);

    const status = JSON.parse(json.stdout) as ProjectStatus;
    expect(status.killSwitch).toMatchObject({ armed: true, reason: "deploy freeze", by: "alice" });
    expect(status.idle).toBe(false);
    expect(status.attention).toMatchObject({ open: 2, newest: { title: "task escalated" } });
    expect(status.escalations.waiting).toBe(1);
    expect(status.running).toMatchObject([
      { role: "design", title: "Write the spec", claimedBy: "host:42", attempts: 1 },
    ]);
    expect(status.queue.roles.find((r) => r.role === "code")).toEqual({
      role: "code",
      ready: 0,
      waitingOnDependencies: 1,
      delayed: 1,
      counts: {
        awaiting_approval: 0,
        pending: 2,
        in_progress: 0,
        done: 0,
        failed: 0,
        escalated: 0,
        killed: 0,
      },
    });
    const qa = status.budget.roles.find((r) => r.role === "qa");
    expect(qa).toMatchObject({ spentUsd: 5.5, capUsd: 5, capHit: true });
    expect(status.budget.roles.find((r) => r.role === "code")).toMatchObject({
      softCapReached: true,
      capHit: false,
    });
  });

  it("needs the project's ledger, and takes no arguments", async () => {
    const dir = tempProject();
    const [missing, extra] = await Promise.all([
      runCli(["status"], { cwd: dir }),
      runCli(["status", "now"], { cwd: dir }),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      `producer: ledger not found at ${join(dir, "agent-state", "ledger.db")}: run \`producer init\` in the project, or check ledger_db in producer.yaml\n`,
    );
    expect(extra.code).toBe(2);
  });
});

describe("missing role prompts", () => {
  it("are named by status, and by producer run as it starts", async () => {
    const dir = tempProject("", ["code", "qa"]);
    await (await LedgerClient.open({ dbPath: join(dir, "agent-state", "ledger.db") })).close();
    mkdirSync(join(dir, "agents", "qa"), { recursive: true });
    writeFileSync(join(dir, "agents", "qa", "system_prompt.md"), "You are qa.\n");
    const message =
      "missing role prompt: agents/code/system_prompt.md (code): write it, or point agents.<role>.prompt at one";
    const [text, json, run] = await Promise.all([
      runCli(["status"], { cwd: dir }),
      runCli(["status", "--json"], { cwd: dir }),
      runCli(["run", "--once"], { cwd: dir }),
    ]);
    expect(text.stdout).toContain(`prompts      ${message}\n`);
    expect(JSON.parse(json.stdout).missingPrompts).toEqual([
      { role: "code", path: "agents/code/system_prompt.md" },
    ]);
    expect(run).toMatchObject({
      code: 0,
      stderr: `producer: warning: ${message}; until then their tasks fail when dispatched\n`,
    });
  });
});

describe("Producer heartbeats in producer status", () => {
  const children: CliProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.child.kill("SIGKILL");
      await c.exited;
    }
  });

  /** A project with one exec role; its Producer polls (and beats) every half second. */
  async function runnable() {
    const dir = tempProject("poll_interval_seconds: 0.5\n", []);
    writeFileSync(
      join(dir, "producer.yaml"),
      `project_name: testproj\npoll_interval_seconds: 0.5\nagents:\n  code:\n    daily_cap_usd: 5\n    runtime: exec\n    command: ${JSON.stringify([process.execPath, PRODUCER_AGENT])}\n`,
    );
    mkdirSync(join(dir, "agents", "code"), { recursive: true });
    writeFileSync(join(dir, "agents", "code", "system_prompt.md"), "You are code.\n");
    await (await LedgerClient.open({ dbPath: join(dir, "agent-state", "ledger.db") })).close();
    const start = async () => {
      const run = startCli(["run"], { cwd: dir });
      children.push(run);
      await run.waitFor(/producer started/);
      return run;
    };
    return { dir, start };
  }

  const statusOf = async (dir: string) =>
    JSON.parse((await runCli(["status", "--json"], { cwd: dir })).stdout) as ProjectStatus;

  /** Asks status until `check` holds for the Producer with this pid (or fails after a while). */
  async function until(dir: string, pid: number, check: (state: string) => boolean) {
    const started = Date.now();
    for (;;) {
      const status = await statusOf(dir);
      const mine = status.producers.find((p) => p.pid === pid);
      if (mine && check(mine.state)) return { status, mine };
      if (Date.now() - started > 20_000) {
        throw new Error(`producer ${pid} never matched: ${JSON.stringify(status.producers)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it("shows a running Producer with host, pid, since and last beat, and stopped after Ctrl-C", async () => {
    const p = await runnable();
    const run = await p.start();
    const pid = run.child.pid!;
    const { mine } = await until(p.dir, pid, (state) => state === "running");
    expect(mine).toMatchObject({ pid, once: false, pollMs: 500, stoppedAt: null });
    expect(mine.identity).toMatch(new RegExp(`:${pid}$`));
    const firstBeat = mine.lastBeatAt;
    // It keeps beating on its poll cadence.
    await until(p.dir, pid, (state) => state === "running");
    await new Promise((r) => setTimeout(r, 1200));
    const later = await until(p.dir, pid, (state) => state === "running");
    expect(Date.parse(later.mine.lastBeatAt)).toBeGreaterThan(Date.parse(firstBeat));

    const text = (await runCli(["status"], { cwd: p.dir })).stdout;
    expect(text).toMatch(new RegExp(`^producers {4}1 running \\(${mine.host} pid ${pid}\\)$`, "m"));
    expect(text).toMatch(/^producers \(last day\)\n {2}HOST +PID +SINCE +LAST BEAT +STATE$/m);
    expect(text).toMatch(
      new RegExp(
        `^ {2}${mine.host} +${pid} +${mine.startedAt} +\\d{4}-\\S+ \\(\\d+s ago\\) +running$`,
        "m",
      ),
    );

    run.child.kill("SIGINT");
    expect(await run.exited).toBe(0);
    const stopped = await until(p.dir, pid, (state) => state !== "running");
    expect(stopped.mine.state).toBe("stopped");
    expect(stopped.mine.stoppedAt).not.toBeNull();
    const after = (await runCli(["status"], { cwd: p.dir })).stdout;
    expect(after).toMatch(/^producers {4}none running \(producer run starts one\)$/m);
    expect(after).toMatch(new RegExp(` ${pid} .+ stopped at \\d{4}-\\S+$`, "m"));
  });

  it("shows a Producer killed without a clean exit as not beating", async () => {
    const p = await runnable();
    const run = await p.start();
    const pid = run.child.pid!;
    await until(p.dir, pid, (state) => state === "running");
    run.child.kill("SIGKILL");
    await run.exited;
    // No clean exit, so no stop: the beats just end, and after three poll intervals (at
    // least 2 s) status calls it stale.
    const { mine } = await until(p.dir, pid, (state) => state !== "running");
    expect(mine).toMatchObject({ state: "stale", stoppedAt: null });
    const text = (await runCli(["status"], { cwd: p.dir })).stdout;
    expect(text).toMatch(
      new RegExp(`^producers {4}1 not beating \\(\\S+ pid ${pid}\\): stale$`, "m"),
    );
    expect(text).toMatch(new RegExp(` ${pid} .+ not beating: stale$`, "m"));
  });
});
