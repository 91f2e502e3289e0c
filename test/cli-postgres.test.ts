import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { runCli, tempProject } from "./helpers/cli.js";
import { describePostgres, oneRow, scratchSchema } from "./helpers/postgres.js";
import { tempDir } from "./helpers/temp.js";

const RAIDER = join(import.meta.dirname, "fixtures", "ledger-raider.mjs");

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

describePostgres("a hostile agent on a PostgreSQL ledger", () => {
  it("never gets the ledger's password in its environment, and what it digs up is not stored", async () => {
    const { url, sql } = await scratchSchema("raid");
    const password = "pg-ledger-pw-3c9e1f7b";
    const withPassword = url.replace("postgres://postgres@", `postgres://postgres:${password}@`);
    const dir = tempDir("pg-raid-");
    const envFile = join(dir, "agent-env.json");
    // The Producer's host keeps the login in its environment, the way the guide says.
    const env = { PRODUCER_LEDGER_URL: withPassword, PGPASSWORD: password };
    expect(
      (
        await runCli(
          ["init", "--non-interactive", "--force", "--ledger-url", url, "--roles", "code"],
          { cwd: dir },
        )
      ).code,
    ).toBe(0);
    writeFileSync(
      join(dir, "producer.yaml"),
      `project_name: raid\nledger_url: ${url}\nretry:\n  max_retries: 0\nagents:\n  code:\n    daily_cap_usd: 5\n    runtime: exec\n    command: ${JSON.stringify([process.execPath, RAIDER, envFile])}\n`,
    );
    const added = await runCli(["task", "add", "--agent", "code", "--title", "Raid"], {
      cwd: dir,
      env,
    });
    expect(added.code).toBe(0);
    const run = await runCli(["run", "--once"], { cwd: dir, env, timeoutMs: 60_000 });
    expect(run.code).not.toBeNull();

    const seen = JSON.parse(readFileSync(envFile, "utf8")) as Record<string, string>;
    expect(seen.PGPASSWORD).toBeUndefined();
    expect(seen.PRODUCER_LEDGER_URL).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain(password);

    // It ran and failed, and what it printed (the login it read from /proc) is redacted.
    const { last_error: lastError, attempt_log: attempts } = await oneRow(
      sql`SELECT last_error, attempt_log FROM tasks WHERE title = 'Raid'`,
    );
    // It did find the login (in the Producer's /proc environ), and the store got it redacted.
    expect(lastError).toMatch(
      /found the ledger login: postgres:\/\/postgres:\[redacted [A-Z_]+\]@/,
    );
    const stored = [
      lastError,
      attempts,
      run.stdout,
      run.stderr,
      ...(await sql`SELECT details FROM audit_log`).map((r) => r.details),
    ].join("\n");
    expect(stored).not.toContain(password);
    // Out of retries, it was escalated; the file says which host's Producer wrote it.
    const { id } = await oneRow(sql`SELECT id FROM tasks WHERE title = 'Raid'`);
    const escalation = readFileSync(join(dir, "agent-state", "escalations", `${id}.md`), "utf8");
    expect(escalation).toContain(`- Escalated by the Producer on host ${hostname()}~`);
    const hits = spawnSync("grep", ["-rl", "--binary-files=text", password, dir], {
      encoding: "utf8",
    });
    expect(hits.stdout).toBe("");
  });
});

describePostgres("several hosts, one brake, named hosts", () => {
  it("says which host pulled the brake and wrote the report", async () => {
    const { url } = await scratchSchema("cli");
    const dir = tempDir("pg-host-");
    expect(
      (await runCli(["init", "--non-interactive", "--ledger-url", url], { cwd: dir })).code,
    ).toBe(0);
    expect((await runCli(["kill", "freeze for the release"], { cwd: dir })).code).toBe(0);
    // The ledger holds the brake: no file is left to keep this one host halted on its own.
    expect(existsSync(join(dir, "agent-state", "kill_switch"))).toBe(false);
    const status = JSON.parse((await runCli(["status", "--json"], { cwd: dir })).stdout);
    const host = `${hostname()}~${readFileSync("/proc/sys/kernel/random/boot_id", "utf8").slice(0, 8)}`;
    expect(status.killSwitch).toMatchObject({
      armed: true,
      reason: "freeze for the release",
      host,
    });
    const report = await runCli(["report"], { cwd: dir });
    expect(report.code).toBe(0);
    const file = readdirSync(join(dir, "agent-state")).find((f) => f.startsWith("morning-report-"));
    const text = readFileSync(join(dir, "agent-state", file!), "utf8");
    expect(text).toContain(` on host ${host}.`);
    expect(text).toContain(`> **Kill switch armed** by `);
    expect(text).toContain(` on host ${host} at `);
  });
});
