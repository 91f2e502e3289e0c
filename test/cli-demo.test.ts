import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LedgerClient } from "../src/index.js";
import { runCli } from "./helpers/cli.js";
import { tempDir } from "./helpers/temp.js";

describe("producer demo", () => {
  it("runs the offline team to completion in well under a minute", async () => {
    const cwd = tempDir("demo-");
    const started = Date.now();
    const result = await runCli(["demo", "--dir", "team"], {
      cwd,
      env: { ANTHROPIC_API_KEY: "" },
      timeoutMs: 60_000,
    });
    const seconds = (Date.now() - started) / 1000;
    expect(result.code).toBe(0);
    expect(seconds).toBeLessThan(60);
    expect(result.stdout).toMatch(/Demo finished in \d+\.\d s\./);
    expect(result.stdout).toMatch(
      /tasks {6}12 done, 0 failed, 0 escalated, 1 retried \(3 seeded, 9 filed by agents\)/,
    );
    expect(result.stdout).toMatch(/status --config team\/producer\.yaml/);

    const dir = join(cwd, "team");
    const ledger = await LedgerClient.open({
      dbPath: join(dir, "agent-state", "ledger.db"),
      create: false,
    });
    try {
      const tasks = await ledger.listTasks();
      expect(tasks).toHaveLength(12);
      expect(tasks.every((t) => t.status === "done")).toBe(true);
      expect(tasks.filter((t) => t.attempts === 2)).toHaveLength(1);
      expect(new Set(tasks.map((t) => t.agentOwner))).toEqual(
        new Set(["design", "code", "art", "qa"]),
      );
      expect(tasks.filter((t) => t.parentTaskId !== null)).toHaveLength(9);
      expect(tasks.every((t) => t.costUsd > 0 && t.model === "claude-sonnet-5-5")).toBe(true);
      expect(await ledger.listDecisions()).toHaveLength(9);
      const assets = await ledger.listAssets();
      expect(assets).toHaveLength(12);
      expect(assets.every((a) => existsSync(join(dir, a.path)))).toBe(true);
      expect((await ledger.verifyAuditChain()).ok).toBe(true);
    } finally {
      await ledger.close();
    }
    const report = /report {5}(\S+)/.exec(result.stdout)![1]!;
    expect(existsSync(report)).toBe(true);

    // A second run starts the demo folder over.
    const again = await runCli(["demo", "--dir", "team"], { cwd, timeoutMs: 60_000 });
    expect(again.code).toBe(0);
  });

  it("refuses a folder it did not make", async () => {
    const cwd = tempDir("demo-");
    mkdirSync(join(cwd, "mine"));
    writeFileSync(join(cwd, "mine", "notes.txt"), "keep me");
    const result = await runCli(["demo", "--dir", "mine"], { cwd });
    expect(result).toMatchObject({
      code: 1,
      stderr: `producer: ${join(cwd, "mine")} is not empty and was not made by producer demo: pass --dir with a new folder\n`,
    });
    expect(existsSync(join(cwd, "mine", "notes.txt"))).toBe(true);
  });
});
