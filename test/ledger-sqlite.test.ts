import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LedgerClient, LedgerError } from "../src/index.js";
import { describeLedgerContract } from "./contract/index.js";
import { openSqliteLedger } from "./contract/sqlite.js";
import { tempDir } from "./helpers/temp.js";

describeLedgerContract("SQLite", openSqliteLedger);

describe("opening a SQLite ledger", () => {
  it("refuses a missing file when not allowed to create it", async () => {
    const dir = tempDir();
    await expect(LedgerClient.open({ dbPath: `${dir}/nope.db`, create: false })).rejects.toThrow(
      `ledger not found at ${dir}/nope.db: run \`producer init\` in the project, or check ledger_db in producer.yaml`,
    );
  });

  it("names a file that is not a database", async () => {
    const dir = tempDir();
    writeFileSync(
      `${dir}/junk.db`,
      "this is not sqlite, just some text that is long enough ".repeat(100),
    );
    const error = await LedgerClient.open({ dbPath: `${dir}/junk.db` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerError);
    expect((error as LedgerError).message).toBe(
      `${dir}/junk.db is not a SQLite database: point ledger_db at the ledger`,
    );
    // A store that cannot serve is a `storage` failure: the dashboard answers 503.
    expect((error as LedgerError).code).toBe("storage");
  });
});
