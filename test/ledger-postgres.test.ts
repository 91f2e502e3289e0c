import { expect, it } from "vitest";
import { LedgerClient } from "../src/index.js";
import { describeLedgerContract } from "./contract/index.js";
import { openPostgresLedger } from "./contract/postgres.js";
import { describePostgres, scratchSchema } from "./helpers/postgres.js";

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
    expect(rows.map((r) => r.version)).toEqual([1, 2, 3, 4]);
  });

  it("refuses a schema migrated by a newer ai-producer, and one that holds no ledger", async () => {
    const { url, sql, schema } = await scratchSchema("migrate");
    await (await LedgerClient.open({ ledgerUrl: url })).close();
    await sql`INSERT INTO migrations (version, name, applied_at) VALUES (99, 'future', 'x')`;
    await expect(LedgerClient.open({ ledgerUrl: url })).rejects.toThrow(
      `the ledger in schema ${schema} at ${url} is at schema version 99, newer than this ai-producer knows (4): upgrade ai-producer on this host`,
    );
    const missing = url.replace(schema, `${schema}_none`);
    await expect(LedgerClient.open({ ledgerUrl: missing, create: false })).rejects.toThrow(
      `no ledger in schema ${schema}_none at ${missing}: run \`producer init --ledger-url ...\` first, or check ledger_url`,
    );
  });

  it("refuses a dbPath and a ledgerUrl together", async () => {
    await expect(
      LedgerClient.open({ dbPath: "/tmp/x.db", ledgerUrl: "postgres://127.0.0.1/test" }),
    ).rejects.toThrow("LedgerClient.open takes a dbPath or a ledgerUrl, not both");
  });
});
