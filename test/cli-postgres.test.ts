import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { runCli, tempProject } from "./helpers/cli.js";
import { describePostgres, oneRow, scratchSchema } from "./helpers/postgres.js";
import { tempDir } from "./helpers/temp.js";

/** The one line a failed command prints, and its exit code. */
function oneLineError(result: { code: number | null; stdout: string; stderr: string }) {
  expect(result.code).not.toBe(0);
  expect(result.stderr.trim().split("\n")).toHaveLength(1);
  return result.stderr.trim();
}

describePostgres("the CLI on a PostgreSQL ledger", () => {
  it("init --ledger-url creates the schema; task add, status and audit verify use it", async () => {
    const { schema, url, sql } = await scratchSchema("cli");
    const dir = tempDir("pg-init-");
    const init = await runCli(["init", "--non-interactive", "--ledger-url", url], { cwd: dir });
    expect(init.code).toBe(0);
    expect(init.stdout).toContain(`created     ${url} (a new, empty ledger)`);
    expect(readFileSync(join(dir, "producer.yaml"), "utf8")).toMatch(
      new RegExp(`^ledger_url: ${url.replace(/[?.]/g, "\\$&")}  #`, "m"),
    );
    // Nothing of the ledger on disk: it lives in the schema.
    const { n } = await oneRow(
      sql`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = ${schema}`,
    );
    expect(n).toBeGreaterThanOrEqual(7);

    const added = await runCli(["task", "add", "--agent", "code", "--title", "Build it"], {
      cwd: dir,
    });
    expect(added).toMatchObject({ code: 0, stderr: "" });
    const id = added.stdout.trim();
    const row = await oneRow(sql`SELECT title, status FROM tasks WHERE id = ${id}`);
    expect(row).toEqual({ title: "Build it", status: "pending" });

    const status = await runCli(["status", "--json"], { cwd: dir });
    expect(JSON.parse(status.stdout).killSwitch).toEqual({ armed: false });
    const verify = await runCli(["audit", "verify"], { cwd: dir });
    expect(verify.stdout).toMatch(
      /^audit chain ok: 1 rows, 1 records checked; head [0-9a-f]{64}\n$/,
    );

    // A second init keeps the ledger it finds.
    const again = await runCli(["init", "--non-interactive", "--force", "--ledger-url", url], {
      cwd: dir,
    });
    expect(again.stdout).toContain(`kept        ${url}`);
    const { tasks } = await oneRow(sql`SELECT count(*)::int AS tasks FROM tasks`);
    expect(tasks).toBe(1);
  });

  it("PRODUCER_LEDGER_URL wins over the file, and a missing schema is named with the fix", async () => {
    const { url } = await scratchSchema("cli");
    const dir = tempProject();
    const status = await runCli(["status"], { cwd: dir, env: { PRODUCER_LEDGER_URL: url } });
    expect(oneLineError(status)).toBe(
      `producer: no ledger in schema ${url.split("schema=")[1]} at ${url}: run \`producer init --ledger-url ...\` first, or check ledger_url`,
    );
  });

  it("refuses a password in producer.yaml, both ledger keys, and a URL that is not postgres://", async () => {
    const cases: [string, RegExp][] = [
      [
        "ledger_url: postgres://me:hunter2@127.0.0.1/test\n",
        /ledger_url: holds a password: remove it and set PGPASSWORD in the environment of each host instead/,
      ],
      [
        "ledger_db: agent-state/ledger.db\nledger_url: postgres://127.0.0.1/test\n",
        /ledger_url: set ledger_db \(a SQLite file\) or ledger_url \(PostgreSQL\), not both/,
      ],
      ["ledger_url: mysql://127.0.0.1/test\n", /ledger_url must start with postgres:\/\//],
      ["ledger_url: postgres://127.0.0.1/test?schema=Bad-Name\n", /is not a plain lower-case name/],
    ];
    for (const [yaml, message] of cases) {
      const dir = tempProject(yaml);
      const result = await runCli(["task", "list"], { cwd: dir });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toContain("hunter2");
    }
  });

  it("names a server that does not answer in one line, without the password", async () => {
    const dir = tempProject();
    const result = await runCli(["status"], {
      cwd: dir,
      env: { PRODUCER_LEDGER_URL: "postgres://me:s3cret@127.0.0.1:1/test" },
    });
    const line = oneLineError(result);
    expect(line).toMatch(
      /^producer: cannot reach the ledger's PostgreSQL at postgres:\/\/me:\*\*\*@127\.0\.0\.1:1\/test\?schema=producer \(.*\): check ledger_url and that the server is running$/,
    );
    expect(line).not.toContain("s3cret");
  });

  it("runs the offline demo on PostgreSQL, and refuses a schema that already holds tasks", async () => {
    const { url, sql } = await scratchSchema("demo");
    const dir = tempDir("pg-demo-");
    const demo = await runCli(["demo", "--ledger-url", url], { cwd: dir, timeoutMs: 120_000 });
    expect(demo.code).toBe(0);
    expect(demo.stdout).toMatch(/tasks {6}12 done, 0 failed, 0 escalated/);
    expect(demo.stdout).toMatch(/audit chain ok \(\d+ rows\)/);
    const { done } = await oneRow(
      sql`SELECT count(*)::int AS done FROM tasks WHERE status = 'done'`,
    );
    expect(done).toBe(12);
    const again = await runCli(["demo", "--ledger-url", url], { cwd: dir, timeoutMs: 60_000 });
    expect(oneLineError(again)).toMatch(/already holds tasks: give the demo a new one/);
  });
});
