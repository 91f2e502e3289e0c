import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { LedgerClient } from "../src/index.js";
import { runCli, tempProject } from "./helpers/cli.js";

async function seededProject() {
  const dir = tempProject();
  const ledger = await LedgerClient.open({ dbPath: join(dir, "agent-state", "ledger.db") });
  const t = await ledger.insertTask({ agentOwner: "code", title: "t" });
  const head = await ledger.auditHead();
  await ledger.close();
  return { dir, taskId: t.id, head };
}

describe("producer audit verify", () => {
  it("reports an intact chain from a subdirectory, and JSON with --json", async () => {
    const { dir, head } = await seededProject();
    const sub = join(dir, "src", "deep");
    mkdirSync(sub, { recursive: true });
    const plain = await runCli(["audit", "verify"], { cwd: sub });
    expect(plain).toMatchObject({ code: 0, stderr: "" });
    expect(plain.stdout).toBe(`audit chain ok: 1 rows, 1 records checked; head ${head.headHash}\n`);
    const json = await runCli(["audit", "verify", "--json", "--head", head.headHash], { cwd: dir });
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: true,
      rowCount: 1,
      headHash: head.headHash,
    });
  });

  it("exits 1 and names the problem when a row was edited", async () => {
    const { dir, taskId } = await seededProject();
    const db = new Database(join(dir, "agent-state", "ledger.db"));
    db.prepare("UPDATE tasks SET title = 'forged' WHERE id = ?").run(taskId);
    db.close();
    const result = await runCli(["audit", "verify"], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stdout.split("\n")[0]).toBe(
      `audit chain BROKEN: task ${taskId} was edited behind the ledger's back: it no longer matches audit row 1`,
    );
  });

  it("gives one-line errors: bad --head is usage (2), no project is operational (1)", async () => {
    const { dir } = await seededProject();
    const bad = await runCli(["audit", "verify", "--head", "xyz"], { cwd: dir });
    expect(bad).toMatchObject({
      code: 2,
      stderr: "producer: --head must be a 64-character hex hash, as printed in a morning report\n",
    });
    const nowhere = await runCli(["audit", "verify"], { cwd: "/" });
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toBe(
      "producer: no producer.yaml in / or any parent folder: run `producer init`, or pass --config\n",
    );
  });

  it("names a missing ledger file", async () => {
    const dir = tempProject();
    const result = await runCli(["audit", "verify"], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `producer: ledger not found at ${join(dir, "agent-state", "ledger.db")}: run \`producer init\` in the project, or check ledger_db in producer.yaml\n`,
    );
  });
});
