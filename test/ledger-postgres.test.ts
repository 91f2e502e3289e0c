import { expect, it, onTestFinished } from "vitest";
import { LedgerClient, LedgerError } from "../src/index.js";
import { MIGRATIONS } from "../src/ledger/postgres/migrations/index.js";
import { describeLedgerContract } from "./contract/index.js";
import { openPostgresLedger } from "./contract/postgres.js";
import { startPgProxy } from "./helpers/pg-proxy.js";
import { describePostgres, oneRow, scratchSchema } from "./helpers/postgres.js";

describePostgres("PostgreSQL backend", () => {
  describeLedgerContract("PostgreSQL", openPostgresLedger);
});

describePostgres("opening a PostgreSQL ledger", () => {
  it("migrates a new schema once when several processes open it together", async () => {
    const { url, sql } = await scratchSchema("migrate");
    const opened = await Promise.all(
      Array.from({ length: 6 }, () =>
        LedgerClient.open({ ledgerUrl: url, roles: ["code"], actor: "test" }),
      ),
    );
    await Promise.all(opened.map((l) => l.close()));
    const rows = await sql`SELECT version, name FROM migrations ORDER BY version`;
    // Every shipped migration, each applied once.
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it("refuses a schema migrated by a newer ai-producer, and one that holds no ledger", async () => {
    const { url, sql, schema } = await scratchSchema("migrate");
    await (await LedgerClient.open({ ledgerUrl: url })).close();
    await sql`INSERT INTO migrations (version, name, applied_at) VALUES (99, 'future', 'x')`;
    await expect(LedgerClient.open({ ledgerUrl: url })).rejects.toThrow(
      `the ledger in schema ${schema} at ${url} is at schema version 99, newer than this ai-producer knows (${MIGRATIONS.at(-1)!.version}): upgrade ai-producer on this host`,
    );
    const missing = url.replace(schema, `${schema}_none`);
    await expect(LedgerClient.open({ ledgerUrl: missing, create: false })).rejects.toThrow(
      `no ledger in schema ${schema}_none at ${missing}: run \`producer init --ledger-url ...\` first, or check ledger_url`,
    );
  });

  it("migration 0007 widens a version-6 schema's status check, keeping its tasks", async () => {
    const { url, sql } = await scratchSchema("migrate");
    const first = await LedgerClient.open({ ledgerUrl: url, roles: ["code"] });
    const filed = await first.insertTasks(
      Array.from({ length: 30 }, (_, i) => ({ agentOwner: "code", title: `task ${i}` })),
    );
    const claimed = await first.claimNext("code");
    await first.complete(claimed!.id, claimed!.claimToken!);
    await first.close();
    // Back to what 0001-0006 left: 0001's check, and no record of 0007.
    await sql.unsafe(`ALTER TABLE tasks DROP CONSTRAINT tasks_status_check;
      ALTER TABLE tasks ADD CONSTRAINT tasks_status_check
        CHECK (status IN ('pending','in_progress','done','failed','escalated','killed'));
      DELETE FROM migrations WHERE version = 7;`);
    await expect(
      sql`UPDATE tasks SET status = 'awaiting_approval' WHERE id = ${filed[1]!.id}`,
    ).rejects.toThrow(/tasks_status_check/);
    const before = await sql`SELECT * FROM tasks ORDER BY rowid`;

    const ledger = await LedgerClient.open({ ledgerUrl: url, roles: ["code"] });
    onTestFinished(() => ledger.close());
    expect(await sql`SELECT * FROM tasks ORDER BY rowid`).toEqual(before);
    const gated = await ledger.insertTask({
      agentOwner: "code",
      title: "g",
      requiresApproval: true,
    });
    expect(gated.status).toBe("awaiting_approval");
    expect(
      (await sql`SELECT version FROM migrations ORDER BY version`).map((r) => r.version),
    ).toEqual(MIGRATIONS.map((m) => m.version));
    expect((await ledger.verifyAuditChain()).ok).toBe(true);
  });

  it("refuses a dbPath and a ledgerUrl together", async () => {
    await expect(
      LedgerClient.open({ dbPath: "/tmp/x.db", ledgerUrl: "postgres://127.0.0.1/test" }),
    ).rejects.toThrow("LedgerClient.open takes a dbPath or a ledgerUrl, not both");
  });
});

describePostgres("exact with writers side by side", () => {
  it("keeps the guardrails and the retried follow-up check exact across connections", async () => {
    const { url, sql } = await scratchSchema("race");
    const open = () =>
      LedgerClient.open({
        ledgerUrl: url,
        roles: ["design", "code"],
        guardrails: { maxDepth: 5, maxChildrenPerTask: 5, maxTasksPerRolePerHour: 1000 },
        actor: "test",
      });
    const clients = await Promise.all([open(), open(), open(), open()]);
    onTestFinished(() => Promise.all(clients.map((c) => c.close())).then(() => undefined));
    const parent = await clients[0]!.insertTask({ agentOwner: "design", title: "spec" });
    // Twelve different children filed at once by the design agent: five fit under the parent.
    const filings = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        clients[i % 4]!.insertTask(
          { agentOwner: "code", title: `part ${i}`, parentTaskId: parent.id },
          { actor: "design" },
        ),
      ),
    );
    expect(filings.filter((f) => f.status === "fulfilled")).toHaveLength(5);
    const { children } = await oneRow(
      sql`SELECT count(*)::int AS children FROM tasks WHERE parent_task_id = ${parent.id}`,
    );
    expect(children).toBe(5);

    // One follow-up filed again by a retried agent, at once from four connections: one task.
    const other = await clients[0]!.insertTask({ agentOwner: "design", title: "other spec" });
    const again = await Promise.all(
      clients.map((c) =>
        c.insertTask(
          { agentOwner: "code", title: "build it", parentTaskId: other.id },
          { actor: "design" },
        ),
      ),
    );
    expect(new Set(again.map((t) => t.id)).size).toBe(1);
    expect((await clients[0]!.verifyAuditChain()).ok).toBe(true);
  });
});

describePostgres("dependencies filed while they finish", () => {
  it("never leaves a task waiting on a dependency that completed as it was filed", async () => {
    const { url } = await scratchSchema("deps");
    const open = () => LedgerClient.open({ ledgerUrl: url, roles: ["code"], actor: "test" });
    const [a, b] = await Promise.all([open(), open()]);
    onTestFinished(() => Promise.all([a.close(), b.close()]).then(() => undefined));
    for (let round = 0; round < 25; round++) {
      await a.insertTask({ agentOwner: "code", title: `dep ${round}` });
      const dep = (await a.claimNext("code"))!;
      const [, filed] = await Promise.all([
        a.complete(dep.id, dep.claimToken!, { costUsd: 0 }),
        b.insertTask({ agentOwner: "code", title: `after ${round}`, dependsOn: [dep.id] }),
      ]);
      // Whichever committed first, the dependent is claimable now.
      const next = await a.claimNext("code");
      expect(next?.id).toBe(filed.id);
      await a.complete(next!.id, next!.claimToken!, { costUsd: 0 });
    }
  });
});

describePostgres("sealing while others write", () => {
  it("seals the row it follows, whatever another connection appended meanwhile", async () => {
    const { url } = await scratchSchema("seal");
    const key = "a-long-random-audit-key-for-the-test";
    const open = () => LedgerClient.open({ ledgerUrl: url, roles: ["code"], actor: "test" });
    const [a, b] = await Promise.all([open(), open()]);
    onTestFinished(() => Promise.all([a.close(), b.close()]).then(() => undefined));
    for (let round = 0; round < 30; round++) {
      await Promise.all([
        b.insertTask({ agentOwner: "code", title: `t ${round}` }),
        a.sealAudit(key),
        b.insertTask({ agentOwner: "code", title: `u ${round}` }),
      ]);
    }
    await a.sealAudit(key);
    expect(await a.verifyAuditChain({ key })).toMatchObject({ ok: true });
  });
});

describePostgres("when the network misbehaves", () => {
  it("warns and polls where notifications never arrive (a pooler in transaction mode)", async () => {
    const { url } = await scratchSchema("net");
    const proxy = await startPgProxy({ host: "127.0.0.1", port: 5432 });
    proxy.dropNotifications = true;
    const ledger = await LedgerClient.open({ ledgerUrl: viaProxy(url, proxy.port) });
    onTestFinished(() => ledger.close());
    const warned = new Promise<string>((resolve) => {
      const stop = ledger.watch(() => {}, resolve);
      onTestFinished(stop);
    });
    expect(await warned).toBe(
      `notifications from the ledger at ${viaProxy(url, proxy.port)} do not arrive (a connection pooler in transaction mode?); polling only`,
    );
  });

  it("never runs a transaction again when the line dropped after its COMMIT was sent", async () => {
    const { url, sql } = await scratchSchema("net");
    const proxy = await startPgProxy({ host: "127.0.0.1", port: 5432 });
    const ledger = await LedgerClient.open({
      ledgerUrl: viaProxy(url, proxy.port),
      roles: ["code"],
    });
    onTestFinished(() => ledger.close());
    proxy.cutAfterCommit = true;
    const error = await ledger
      .insertTask({ agentOwner: "code", title: "filed once" })
      .catch((e: unknown) => e);
    expect(proxy.cut).toBe(1);
    expect(error).toBeInstanceOf(LedgerError);
    expect((error as LedgerError).code).toBe("storage");
    expect((error as Error).message).toBe(
      `the connection to the ledger at ${viaProxy(url, proxy.port)} was lost while committing; the change may or may not have been saved (check with \`producer status\`)`,
    );
    // The server did commit it, once: nothing ran it a second time.
    const { n } = await oneRow(
      sql`SELECT count(*)::int AS n FROM tasks WHERE title = 'filed once'`,
    );
    expect(n).toBe(1);
    // The client carries on over a new connection.
    expect((await ledger.insertTask({ agentOwner: "code", title: "next" })).title).toBe("next");
  });
});

/** The same ledger URL, through the proxy's port. */
function viaProxy(url: string, port: number): string {
  return url.replace("127.0.0.1:5432", `127.0.0.1:${port}`);
}
