import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { LedgerClient } from "../src/index.js";
import { runCli, tempProject } from "./helpers/cli.js";

/** Recomputes every row's hashes from genesis, as someone with the file but no key could. */
function rechain(db: Database.Database): void {
  const rows = db
    .prepare(
      "SELECT seq, ts, actor, action, entity_type, entity_id, details FROM audit_log ORDER BY seq",
    )
    .raw()
    .all() as unknown[][];
  const update = db.prepare("UPDATE audit_log SET row_hash = ? WHERE seq = ?");
  let prev = "0".repeat(64);
  for (const row of rows) {
    const hash = createHash("sha256")
      .update(prev + JSON.stringify(row))
      .digest("hex");
    update.run(Buffer.from(hash, "hex"), row[0]);
    prev = hash;
  }
}

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

  it("with PRODUCER_AUDIT_KEY, rewriting the chain needs the key", async () => {
    const KEY = "audit-key-for-tests-0123456789";
    const { dir } = await seededProject();
    const dbPath = join(dir, "agent-state", "ledger.db");
    const ledger = await LedgerClient.open({ dbPath });
    expect(await ledger.sealAudit(KEY)).toBe(true);
    expect(await ledger.sealAudit(KEY)).toBe(false); // nothing new to seal
    await ledger.insertTask({ agentOwner: "code", title: "after the seal" });
    await ledger.close();
    const keyed = { PRODUCER_AUDIT_KEY: KEY };
    const ok = await runCli(["audit", "verify"], { cwd: dir, env: keyed });
    expect(ok.code).toBe(0);
    expect(ok.stdout.split("\n")[1]).toBe(
      "sealed with PRODUCER_AUDIT_KEY through row 2 (1 newer row not sealed yet)",
    );
    const wrong = await runCli(["audit", "verify"], {
      cwd: dir,
      env: { PRODUCER_AUDIT_KEY: "not-the-key" },
    });
    expect(wrong.stdout.split("\n")[0]).toBe(
      "audit chain BROKEN: seal row 2 does not match the chain before it: the chain was rewritten, or PRODUCER_AUDIT_KEY is not the key that sealed it",
    );

    // Someone with write access but no key rewrites row 1 and every hash after it.
    const db = new Database(dbPath);
    db.prepare("UPDATE audit_log SET actor = 'forged' WHERE seq = 1").run();
    rechain(db);
    db.close();
    // The hash chain alone cannot tell: it is consistent again...
    expect((await runCli(["audit", "verify"], { cwd: dir })).code).toBe(0);
    // ...but the seal can.
    const caught = await runCli(["audit", "verify"], { cwd: dir, env: keyed });
    expect(caught.code).toBe(1);
    expect(caught.stdout).toMatch(/^audit chain BROKEN: seal row 2 does not match the chain/);

    // Dropping the seals instead leaves a chain the key never sealed.
    const again = new Database(dbPath);
    again.prepare("DELETE FROM audit_log WHERE action = 'audit.sealed'").run();
    again.prepare("UPDATE audit_log SET seq = seq - 1 WHERE seq > 2").run();
    rechain(again);
    again.close();
    const unsealed = await runCli(["audit", "verify"], { cwd: dir, env: keyed });
    expect(unsealed.stdout.split("\n")[0]).toBe(
      "audit chain BROKEN: no row of the chain is sealed with PRODUCER_AUDIT_KEY: it was never sealed (no Producer ran with the key), or it was rewritten without its seals",
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
