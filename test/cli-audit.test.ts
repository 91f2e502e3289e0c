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

  it("catches spend, holds and notices edited behind the ledger's back", async () => {
    const tampered = async (tamper: (db: Database.Database) => void) => {
      const dir = tempProject();
      const dbPath = join(dir, "agent-state", "ledger.db");
      const ledger = await LedgerClient.open({ dbPath, roles: ["code"] });
      const limits = {
        roleCapUsd: 5,
        ceilingUsd: 50,
        softCapRatio: 0.8,
        roleSlots: 2,
        projectSlots: 2,
      };
      const day = "2026-11-30";
      for (const title of ["spent", "held"]) {
        await ledger.insertTask({ agentOwner: "code", title });
        const claim = await ledger.claimAndReserve("code", { day, minimumUsd: 0.5, limits });
        if (claim.kind !== "claimed") throw new Error("expected a claim");
        if (title === "spent") {
          await ledger.finishClaim(
            claim.task.id,
            claim.task.claimToken!,
            { kind: "done" },
            { costUsd: 0.25 },
            { settle: { reservationId: claim.reservation.id, limits } },
          );
        }
      }
      await ledger.recordNotification({
        kind: "cap_hit",
        title: "t",
        message: "m",
        priority: 3,
        tags: [],
        needsHuman: false,
        sequenceId: null,
      });
      await ledger.close();
      expect((await runCli(["audit", "verify"], { cwd: dir })).code).toBe(0);
      const db = new Database(dbPath);
      tamper(db);
      db.close();
      const result = await runCli(["audit", "verify"], { cwd: dir });
      expect(result.code).toBe(1);
      return result.stdout.split("\n")[0];
    };
    expect(await tampered((db) => db.exec("UPDATE budget SET spent_usd = 0"))).toBe(
      "audit chain BROKEN: the budget of code on 2026-11-30 says $0 spent, but its audited settlements add up to $0.25: the budget table was edited behind the ledger's back",
    );
    expect(await tampered((db) => db.exec("DELETE FROM budget"))).toMatch(
      /^audit chain BROKEN: the budget of code on 2026-11-30 is missing/,
    );
    expect(
      await tampered((db) => db.exec("DELETE FROM budget_reservations WHERE state = 'held'")),
    ).toMatch(
      /^audit chain BROKEN: hold \S+ \(code on 2026-11-30\) is open in the chain but not held/,
    );
    expect(
      await tampered((db) => db.exec("UPDATE budget_reservations SET state = 'held'")),
    ).toMatch(
      /^audit chain BROKEN: hold \S+ \(code on 2026-11-30\) is held, but the chain closed it/,
    );
    expect(await tampered((db) => db.exec("DELETE FROM notifications"))).toMatch(
      /^audit chain BROKEN: notification \S+ was deleted behind the ledger's back$/,
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
