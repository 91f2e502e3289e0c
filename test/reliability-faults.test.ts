// Faults from outside: a ledger locked by another program, a ledger that is missing or is
// not a database, producer.yaml broken while the Producer runs.
import { spawn } from "node:child_process";
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LedgerClient } from "../src/index.js";
import { runCli, startCli, tempProject } from "./helpers/cli.js";
import { PRODUCER_AGENT } from "./helpers/producer.js";

const HOLD_LOCK = join(import.meta.dirname, "fixtures", "hold-lock.mjs");
const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

async function projectWithLedger() {
  const dir = tempProject();
  // Every role's prompt is in place: these tests are about the ledger, one line of it.
  for (const role of ["producer", "design", "code", "qa"]) {
    mkdirSync(join(dir, "agents", role), { recursive: true });
    writeFileSync(join(dir, "agents", role, "system_prompt.md"), `You are ${role}.\n`);
  }
  const dbPath = join(dir, "agent-state", "ledger.db");
  const ledger = await LedgerClient.open({ dbPath });
  await ledger.close();
  return { dir, dbPath };
}

describe("faults", () => {
  it("waits out a 10 s exclusive lock held by another program instead of failing", async () => {
    const { dir, dbPath } = await projectWithLedger();
    const holder = spawn(process.execPath, [HOLD_LOCK, dbPath, "10000"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    stops.push(() => holder.kill("SIGKILL"));
    await new Promise<void>((resolve) => holder.stdout!.once("data", () => resolve()));
    const started = Date.now();
    const add = await runCli(["task", "add", "--agent", "code", "--title", "after the lock"], {
      cwd: dir,
      timeoutMs: 40_000,
    });
    const waited = Date.now() - started;
    expect(add.code).toBe(0);
    expect(add.stderr).toBe("");
    expect(waited).toBeGreaterThan(8_000);
    const ledger = await LedgerClient.open({ dbPath, create: false });
    expect(await ledger.countTasks()).toBe(1);
    expect((await ledger.verifyAuditChain()).ok).toBe(true);
    await ledger.close();
  }, 60_000);

  it("names a missing ledger or a file that is not a database, in one line, without a stack", async () => {
    const dir = tempProject();
    const missing = await runCli(["task", "list"], { cwd: dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      `producer: ledger not found at ${join(dir, "agent-state", "ledger.db")}: run \`producer init\` in the project, or check ledger_db in producer.yaml\n`,
    );
    writeFileSync(
      join(dir, "agent-state", "ledger.db"),
      "this is a text file, not a ledger ".repeat(200),
    );
    for (const args of [["task", "list"], ["status"], ["run", "--once"], ["audit", "verify"]]) {
      const result = await runCli(args, { cwd: dir });
      expect(result.code, args.join(" ")).toBe(1);
      expect(result.stderr).toBe(
        `producer: ${join(dir, "agent-state", "ledger.db")} is not a SQLite database: point ledger_db at the ledger\n`,
      );
    }
  });

  it("names a read-only ledger in one line, without a stack", async () => {
    const { dir, dbPath } = await projectWithLedger();
    // Root ignores file modes, so make the file immutable instead (ext4, as root).
    const { execFileSync } = await import("node:child_process");
    try {
      execFileSync("chattr", ["+i", dbPath], { stdio: "ignore" });
    } catch {
      console.log("read-only ledger: chattr unavailable here; case skipped");
      return;
    }
    stops.push(() => execFileSync("chattr", ["-i", dbPath], { stdio: "ignore" }));
    for (const args of [
      ["task", "add", "--agent", "code", "--title", "x"],
      ["run", "--once"],
    ]) {
      const result = await runCli(args, { cwd: dir });
      expect(result.code, args.join(" ")).toBe(1);
      expect(result.stderr).toBe(
        `producer: the ledger ${dbPath} is read-only: the producer needs write access to it and its folder\n`,
      );
    }
  });

  it("keeps running on the loaded config when producer.yaml is broken mid-run, and says so", async () => {
    const { dir } = await projectWithLedger();
    const yaml = join(dir, "producer.yaml");
    writeFileSync(
      yaml,
      `${readFileSync(yaml, "utf8").replace("agents:\n", "poll_interval_seconds: 0.1\nagents:\n")}  worker:\n    daily_cap_usd: 5\n    runtime: exec\n    command: ${JSON.stringify([process.execPath, PRODUCER_AGENT])}\n    env: [AGENT_LOG]\n`,
    );
    mkdirSync(join(dir, "agents", "worker"), { recursive: true });
    writeFileSync(join(dir, "agents", "worker", "system_prompt.md"), "You work.\n");
    const run = startCli(["run"], { cwd: dir });
    stops.push(() => run.child.kill("SIGKILL"));
    await run.waitFor(/producer started/);
    appendFileSync(yaml, "budget: [this is: not valid\n");
    await run.waitFor(/producer\.yaml changed and no longer loads/);
    expect(run.stdout()).toMatch(
      /still running with the configuration loaded at start, fix the file before restarting/,
    );
    // And it still works: a task filed now is done.
    const ledger = await LedgerClient.open({
      dbPath: join(dir, "agent-state", "ledger.db"),
      create: false,
    });
    const task = await ledger.insertTask({ agentOwner: "worker", title: "after the edit" });
    await run.waitFor(/done in/);
    expect((await ledger.getTask(task.id))!.status).toBe("done");
    await ledger.close();
    run.child.kill("SIGINT");
    expect(await run.exited).toBe(0);
  }, 30_000);
});
