// The API key must never land anywhere a human or a log collector reads.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { GAVE_UP_EXIT_CODE } from "../src/cli/commands/run.js";
import { LedgerClient } from "../src/index.js";
import { runCli, tempProject } from "./helpers/cli.js";
import {
  claudeTestEnv,
  errorTurn,
  type FakeAnthropic,
  startFakeAnthropic,
  textTurn,
  toolResults,
  toolTurn,
} from "./helpers/fake-anthropic.js";

let fake: FakeAnthropic | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const SECRET = "sk-ant-test-SECRET-7f3a9c-do-not-leak";

describe("secrets", () => {
  it("a full run leaves the API key in no file, log, report, escalation or notification", async () => {
    const dir = tempProject(
      "auth:\n  mode: api\nretry:\n  max_retries: 0\nnotifications:\n  ntfy_topic: leak-check\n  ntfy_server: http://127.0.0.1:9\n",
      [],
    );
    writeFileSync(
      join(dir, "producer.yaml"),
      `${readFileSync(join(dir, "producer.yaml"), "utf8")}  code:\n    daily_cap_usd: 5\n    model: claude-sonnet-4-5\n  qa:\n    daily_cap_usd: 5\n    model: claude-sonnet-4-5\n`,
    );
    for (const role of ["code", "qa"]) {
      mkdirSync(join(dir, "agents", role), { recursive: true });
      writeFileSync(join(dir, "agents", role, "system_prompt.md"), `You are ${role}.\n`);
    }
    // The key comes from .env, the way most users keep it.
    writeFileSync(join(dir, ".env"), `ANTHROPIC_API_KEY=${SECRET}\n`);
    const ledger = await LedgerClient.open({
      dbPath: join(dir, "agent-state", "ledger.db"),
      roles: ["code", "qa"],
    });
    await ledger.insertTask({ agentOwner: "code", title: "Build login" });
    await ledger.close();
    fake = await startFakeAnthropic({
      fallback: (body) => {
        const prompt = JSON.stringify(body.messages?.[0] ?? "");
        if (prompt.includes("for the qa role")) return errorTurn(500, "upstream trouble");
        return toolResults(body).length > 0
          ? textTurn("done")
          : toolTurn("mcp__ledger__insert_task", { agent_owner: "qa", title: "Test login" });
      },
    });
    const env = { ...claudeTestEnv(fake, join(dir, "unused")), ANTHROPIC_API_KEY: "" };
    const outputs: string[] = [];
    for (const args of [
      ["run", "--once"],
      ["run", "--once", "--log-format", "json"],
      ["report"],
      ["status", "--json"],
      ["task", "list", "--json"],
    ]) {
      const result = await runCli(args, { cwd: dir, env, timeoutMs: 60_000 });
      outputs.push(result.stdout, result.stderr);
    }
    // The run really used the key: the fake API saw it, and the qa call was escalated.
    expect(fake.requests.some((r) => r.headers["x-api-key"] === SECRET)).toBe(true);
    const check = await LedgerClient.open({
      dbPath: join(dir, "agent-state", "ledger.db"),
      create: false,
    });
    expect(await check.countTasks({ status: "escalated" })).toBe(1);
    expect((await check.listNotifications()).length).toBeGreaterThan(0);
    await check.close();

    // The dashboard shows everything the ledger holds: its state and every task's detail.
    const { loadConfig, startDashboard } = await import("../src/index.js");
    const config = await loadConfig(join(dir, "producer.yaml"));
    const uiLedger = await LedgerClient.open({ dbPath: config.ledgerDb, create: false });
    const dashboard = await startDashboard({ config, ledger: uiLedger, port: 0 });
    try {
      const get = async (path: string) => (await fetch(new URL(path, dashboard.url))).text();
      const state = await get("/api/state");
      outputs.push(state, await get("/api/charts?range=14d"));
      for (const t of (JSON.parse(state) as { tasks: { items: { id: string }[] } }).tasks.items) {
        outputs.push(await get(`/api/tasks/${t.id}`));
      }
    } finally {
      await dashboard.close();
      await uiLedger.close();
    }
    for (const text of outputs) expect(text).not.toContain(SECRET);
    // Every file the project holds, the ledger's bytes included, except the .env it came from.
    const hits = execFileSync("grep", ["-rl", "--binary-files=text", SECRET, dir], {
      encoding: "utf8",
    })
      .trim()
      .split("\n");
    expect(hits).toEqual([join(dir, ".env")]);
  }, 120_000);

  it("a failing agent that prints the key and the ntfy token gets neither stored, written or pushed", async () => {
    const token = "tk_ntfy-SECRET-91b2-do-not-leak";
    const pushes: string[] = [];
    const ntfy = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => {
        body += d;
      });
      req.on("end", () => {
        // The token rightly travels in the Authorization header; nowhere else.
        expect(req.headers.authorization).toBe(`Bearer ${token}`);
        const { authorization: _auth, ...rest } = req.headers;
        pushes.push(`${JSON.stringify(rest)}\n${body}`);
        res.end("{}");
      });
    });
    await new Promise<void>((r) => ntfy.listen(0, "127.0.0.1", () => r()));
    const port = (ntfy.address() as AddressInfo).port;
    try {
      const agent = join(import.meta.dirname, "fixtures", "exec-agent.mjs");
      const dir = tempProject(
        `retry:\n  max_retries: 0\nnotifications:\n  ntfy_topic: leak-check\n  ntfy_server: http://127.0.0.1:${port}\n`,
        [],
      );
      writeFileSync(
        join(dir, "producer.yaml"),
        `${readFileSync(join(dir, "producer.yaml"), "utf8")}  code:\n    daily_cap_usd: 5\n    runtime: exec\n    env: [NTFY_TOKEN]\n    command: ${JSON.stringify([process.execPath, agent, "leak"])}\n`,
      );
      mkdirSync(join(dir, "agents", "code"), { recursive: true });
      writeFileSync(join(dir, "agents", "code", "system_prompt.md"), "You are code.\n");
      writeFileSync(join(dir, ".env"), `ANTHROPIC_API_KEY=${SECRET}\n`);
      const ledger = await LedgerClient.open({ dbPath: join(dir, "agent-state", "ledger.db") });
      await ledger.insertTask({ agentOwner: "code", title: "Leak it" });
      await ledger.close();
      const run = await runCli(["run", "--once"], {
        cwd: dir,
        env: { NTFY_TOKEN: token },
        timeoutMs: 60_000,
      });
      // The agent failed for good: run --once says so with its exit code.
      expect(run.code).toBe(GAVE_UP_EXIT_CODE);
      const check = await LedgerClient.open({
        dbPath: join(dir, "agent-state", "ledger.db"),
        create: false,
      });
      const [task] = await check.listTasks({});
      await check.close();
      // The agent did print both: what it printed is kept, with the secrets taken out.
      expect(task).toMatchObject({ status: "escalated" });
      expect(task!.lastError).toContain("[redacted ANTHROPIC_API_KEY]");
      expect(task!.lastError).toContain("[redacted NTFY_TOKEN]");
      expect(pushes.length).toBeGreaterThan(0);
      for (const text of [...pushes, run.stdout, run.stderr]) {
        expect(text).not.toContain(SECRET);
        expect(text).not.toContain(token);
      }
      const grep = (secret: string) =>
        spawnSync("grep", ["-rl", "--binary-files=text", secret, dir], { encoding: "utf8" })
          .stdout.trim()
          .split("\n")
          .filter(Boolean);
      expect(grep(SECRET)).toEqual([join(dir, ".env")]);
      expect(grep(token)).toEqual([]);
    } finally {
      await new Promise((r) => ntfy.close(r));
    }
  }, 120_000);
});
