import { readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import {
  BudgetTracker,
  KillSwitchWatcher,
  MorningReportWriter,
  ProjectNotifier,
  writeMorningReport,
} from "../src/index.js";
import { runCli } from "./helpers/cli.js";
import { chargeAt } from "./helpers/ledger.js";
import { execRole, producerProject } from "./helpers/producer.js";

const ROLES = `${execRole("code")}${execRole("qa")}`.replace(
  /daily_cap_usd: 5/g,
  "daily_cap_usd: 1",
);

/** A day of work, all through the public API. */
async function busyDay() {
  const p = await producerProject(
    "budget:\n  soft_cap_ratio: 0.5\nguardrails:\n  max_depth: 1\n",
    ROLES,
  );
  const { ledger, clock, config } = p;
  const budget = new BudgetTracker(ledger, config, { clock, warn: () => {} });
  const run = async (
    role: string,
    title: string,
    cost: number,
    end: "done" | "failed" | "escalated",
  ) => {
    const t = await ledger.insertTask({ agentOwner: role, title });
    const funded = await budget.claimAndReserve(role);
    if (funded.kind !== "claimed") throw new Error(`could not claim ${title}`);
    const claimEnd =
      end === "done" ? { kind: "done" as const } : { kind: end, error: `${title} broke` };
    await ledger.finishClaim(
      t.id,
      funded.task.claimToken!,
      claimEnd,
      { costUsd: cost },
      {
        settle: { reservationId: funded.reservation.id, limits: budget.limitsFor(role) },
      },
    );
    return t;
  };
  const login = await run("code", "Build login", 0.3, "done");
  await run("code", "Build <b>signup</b> | form", 0.25, "done");
  const bad = await run("qa", "Broken fixture", 0.0, "failed");
  await run("qa", "Test login", 1.05, "done"); // qa passes its $1 cap after the fact
  const esc = await run("code", "Flaky payments", 0.1, "escalated");
  await ledger.registerAsset({
    taskId: login.id,
    agentOwner: "code",
    path: "src/login.ts",
    kind: "code",
  });
  // A claim whose worker died, recovered when its lease ran out.
  const stuck = await ledger.insertTask({ agentOwner: "code", title: "Stuck one" });
  await ledger.claimNext("code", { leaseMs: 1000 });
  clock.advance(5000);
  await ledger.recoverExpiredLeases({ actor: "producer" });
  // A guardrail refusal and the brake pulled and released.
  await ledger
    .insertTask({
      agentOwner: "qa",
      title: "too deep",
      parentTaskId: (
        await ledger.insertTask({
          agentOwner: "qa",
          title: "lvl1",
          parentTaskId: login.id,
          createdBy: "code",
        })
      ).id,
      createdBy: "qa",
    })
    .catch(() => {});
  const ks = new KillSwitchWatcher(config.killSwitch, { clock, ledger });
  await ks.arm("deploy freeze", "alice");
  await ks.disarm("alice");
  // A push that failed.
  await new ProjectNotifier(ledger, config, {
    clock,
    push: async () => {
      throw new Error("ntfy unreachable at https://ntfy.example: ECONNREFUSED");
    },
  }).notify({ kind: "idle", title: "Agents are idle", message: "nothing to do" });
  return { ...p, escId: esc.id, badId: bad.id, stuckId: stuck.id };
}

describe("morning report", () => {
  it("covers every section, with markers, commands and the audit head", async () => {
    const p = await busyDay();
    const file = await writeMorningReport(p.config, p.ledger, { clock: p.clock });
    expect(file).toBe(join(p.config.reportsDir, "morning-report-20260506.md"));
    const text = readFileSync(file, "utf8");
    const head = await p.ledger.auditHead();

    expect(text).toContain("# Morning report: looptest, 2026-05-06 (UTC)");
    expect(text).toContain("## Shipped (3)");
    expect(text).toContain("| code | 2 | $0.55 |");
    expect(text).toContain("| qa | 1 | $1.05 |");
    // Agent-written text is kept readable and cannot break the table.
    expect(text).toContain("Build <b>signup</b> \\| form");
    expect(text).toContain("## Escalations awaiting sign-off (1)");
    expect(text).toContain(`| \`${p.escId}\` | code | Flaky payments | 1 | Flaky payments broke |`);
    expect(text).toContain(`producer task requeue ${p.escId}`);
    expect(text).toContain("## Hard failures (1)");
    expect(text).toContain(`| \`${p.badId}\` | qa | Broken fixture | 1 | Broken fixture broke |`);
    expect(text).toMatch(/\| code \| \$0\.65 \| \$0\.00 \| \$1\.00 \| \(soft cap\) \|/);
    expect(text).toMatch(/\| qa \| \$1\.05 \| \$0\.00 \| \$1\.00 \| \[CAP HIT\] \|/);
    expect(text).toContain("| **project** | **$1.70** | $0.00 | $200.00 |");
    expect(text).toContain("## Assets registered (1)");
    expect(text).toContain("| src/login.ts | code |");
    expect(text).toMatch(/kill switch armed by alice: deploy freeze/);
    expect(text).toMatch(/kill switch released by alice/);
    expect(text).toContain("- 1 stuck in progress, recovered:");
    expect(text).toContain(`\`${p.stuckId}\``);
    expect(text).toContain("- code is near its cap: $0.65 of $1.00 (soft cap)");
    expect(text).toContain("- qa [CAP HIT]: daily cap $1 passed after the fact");
    expect(text).toContain("- 1 task(s) refused by guardrails:");
    expect(text).toContain("past guardrails.max_depth 1");
    expect(text).toContain("- 1 notification(s) not delivered:");
    expect(text).toContain(
      '"Agents are idle": ntfy unreachable at https://ntfy.example: ECONNREFUSED',
    );
    expect(text).toContain(`Head \`${head.headHash}\` after ${head.rowCount} rows.`);
    expect(text).toContain(`producer audit verify --head ${head.headHash}`);
  });

  it("forecasts today's caps with its basis, by hand; a past day's report has none", async () => {
    const p = await producerProject("", ROLES);
    const charge = (role: string, at: string, cost: number) =>
      chargeAt(p.ledger, p.clock, role, at, cost);
    await charge("code", "2026-05-06T02:00:00Z", 0.2);
    await charge("code", "2026-05-06T08:30:00Z", 0.3);
    await charge("qa", "2026-05-06T04:00:00Z", 0.09);
    p.clock.set("2026-05-06T09:00:00Z");
    const text = readFileSync(
      await writeMorningReport(p.config, p.ledger, { clock: p.clock }),
      "utf8",
    );
    // code: 0.30 since 08:00 is 0.30/h, above the day's 0.50 / 9 h; the 0.50 left under its
    // $1 cap lasts 0.50 / 0.30 h = 100 min: 10:40. qa: nothing in the last hour, 0.09 / 9 h =
    // 0.01/h, 0.91 left lasts 91 h. The project: 0.30/h (last hour) against 0.59 / 9 h,
    // 199.41 left under the default $200 ceiling.
    expect(text).toContain(
      [
        "## Forecast (at 09:00 UTC)",
        "",
        "- code hits its $1.00 cap at 10:40 UTC at $0.30/h (last hour)",
        "- qa holds its $1.00 cap today at $0.01/h (since 00:00 UTC)",
        "- the project ceiling ($200.00) holds today at $0.30/h (last hour)",
        "",
        "Basis: money held by calls in flight counts as spent; each projection uses the higher",
      ].join("\n"),
    );
    const past = readFileSync(
      await writeMorningReport(p.config, p.ledger, { clock: p.clock, day: "2026-05-05" }),
      "utf8",
    );
    expect(past).toContain("## Spend");
    expect(past).not.toContain("## Forecast");
  });

  it("says plainly when a day was empty", async () => {
    const p = await producerProject("", ROLES);
    const text = readFileSync(
      await writeMorningReport(p.config, p.ledger, { clock: p.clock, day: "2026-05-01" }),
      "utf8",
    );
    expect(text).toContain("## Shipped (0)\n\nNothing was finished on this day.");
    expect(text).toContain("## Escalations awaiting sign-off (0)\n\nNone.");
    expect(text).toContain("## Hard failures (0)\n\nNone.");
    expect(text).toContain("## Anomalies\n\nNone.");
    expect(text).toContain("| code | $0.00 | $0.00 | $1.00 |  |");
    expect(text).toContain(`Head \`${"0".repeat(64)}\` after 0 rows.`);
  });

  it("flags stale prices and an armed kill switch at the top", async () => {
    const p = await producerProject("", ROLES);
    p.clock.set("2027-09-01T10:00:00Z");
    await new KillSwitchWatcher(p.config.killSwitch, { clock: p.clock }).arm(
      "budget review",
      "bob",
    );
    const text = readFileSync(
      await writeMorningReport(p.config, p.ledger, { clock: p.clock }),
      "utf8",
    );
    expect(text).toMatch(
      /> \*\*Kill switch armed\*\* by bob at 2027-09-01T10:00:00\.000Z: budget review\./,
    );
    expect(text).toMatch(
      /> \*\*Prices may be stale\*\*: last checked \d{4}-\d\d-\d\d \(\d+ days ago\)/,
    );
  });

  it("builds a report on 100,000 tasks from aggregates and short lists", async () => {
    const p = await producerProject("", ROLES);
    const day = "2026-05-06";
    const db = new Database(p.config.ledgerDb);
    const insert = db.prepare(
      `INSERT INTO tasks (id, agent_owner, title, status, cost_usd, created_by, created_at, updated_at, finished_at)
       VALUES (?, ?, ?, 'done', 0.01, 'fixture', ?, ?, ?)`,
    );
    db.transaction(() => {
      for (let i = 0; i < 100_000; i++) {
        const at = new Date(Date.parse(`${day}T00:00:00Z`) + i * 800).toISOString();
        insert.run(
          `T${String(i).padStart(8, "0")}`,
          i % 2 ? "code" : "qa",
          `task ${i}`,
          at,
          at,
          at,
        );
      }
    })();
    db.close();
    const data = await p.ledger.reportData({
      since: `${day}T00:00:00.000Z`,
      until: "2026-05-07T00:00:00.000Z",
    });
    expect(data.shippedByRole).toEqual([
      { role: "code", count: 50_000, costUsd: expect.closeTo(500, 6) },
      { role: "qa", count: 50_000, costUsd: expect.closeTo(500, 6) },
    ]);
    expect(data.shipped.count).toBe(100_000);
    expect(data.shipped.items).toHaveLength(50);
    // Only the short lists are read row by row.
    expect(data.rowsFetched).toBeLessThanOrEqual(9 * 50);
    const text = readFileSync(
      await writeMorningReport(p.config, p.ledger, { clock: p.clock, day }),
      "utf8",
    );
    expect(text).toContain("## Shipped (100,000)");
    expect(text).toContain("…and 99,950 more.");
    expect(text.length).toBeLessThan(50_000);
  });

  it("is written every report_interval_hours by a running Producer", async () => {
    const p = await producerProject("report_interval_hours: 2\n", ROLES);
    const producer = new (await import("../src/index.js")).Producer({
      config: p.config,
      ledger: p.ledger,
      clock: p.clock,
      reporter: new MorningReportWriter(p.config, p.ledger, p.clock),
      env: { PATH: process.env.PATH },
    });
    const written: string[] = [];
    producer.events.on("report_written", (e) => written.push(e.path));
    await producer.run({ once: true });
    p.clock.advance(90 * 60_000);
    await producer.run({ once: true });
    expect(written).toEqual([]);
    p.clock.advance(31 * 60_000);
    await producer.run({ once: true });
    expect(written).toEqual([join(p.config.reportsDir, "morning-report-20260506.md")]);
  });
});

describe("the previous UTC day's final report", () => {
  /** A Producer on the project's ledger and clock that lists the reports it writes. */
  const producerOn = async (p: Awaited<ReturnType<typeof producerProject>>) => {
    const { Producer } = await import("../src/index.js");
    const producer = new Producer({
      config: p.config,
      ledger: p.ledger,
      clock: p.clock,
      reporter: new MorningReportWriter(p.config, p.ledger, p.clock),
      env: { PATH: process.env.PATH },
    });
    const written: { day: string; final: boolean }[] = [];
    producer.events.on("report_written", (e) => written.push({ day: e.day, final: e.final }));
    return { producer, written };
  };

  it("is written once after midnight, even by an idle Producer, and not again on restart", async () => {
    const p = await producerProject("report_interval_hours: 6\n", ROLES);
    p.clock.set("2026-05-06T23:50:00Z");
    const first = await producerOn(p);
    await first.producer.run({ once: true });
    const task = await p.ledger.insertTask({ agentOwner: "code", title: "late work" });
    await first.producer.run({ once: true });
    expect((await p.ledger.getTask(task.id))!.status).toBe("done");
    expect(first.written).toEqual([]);

    p.clock.set("2026-05-07T00:00:05Z");
    await first.producer.run({ once: true });
    await first.producer.run({ once: true });
    expect(first.written).toEqual([{ day: "2026-05-06", final: true }]);
    const file = join(p.config.reportsDir, "morning-report-20260506.md");
    const text = readFileSync(file, "utf8");
    expect(text).toContain("Generated 2026-05-07T00:00:05.000Z.");
    expect(text).toContain("This is the day's final report: it was written after the day ended.");
    expect(text).toContain("late work");

    // A restart the same day finds it written after the day ended, and leaves it be.
    p.clock.set("2026-05-07T00:30:00Z");
    const second = await producerOn(p);
    await second.producer.run({ once: true });
    expect(second.written).toEqual([]);
    expect(readFileSync(file, "utf8")).toBe(text);

    // The next midnight closes the next day, with nothing done in it.
    p.clock.set("2026-05-08T00:00:01Z");
    await second.producer.run({ once: true });
    // (Today's periodic report falls due as well: 6 hours have passed since the restart.)
    expect(second.written.filter((w) => w.final)).toEqual([{ day: "2026-05-07", final: true }]);
    expect(readFileSync(join(p.config.reportsDir, "morning-report-20260507.md"), "utf8")).toContain(
      "Nothing was finished on this day.",
    );
  });

  it("replaces a report written during the day when a Producer restarted after midnight finds it", async () => {
    const p = await producerProject("report_interval_hours: 2\n", ROLES);
    p.clock.set("2026-05-06T16:00:00Z");
    const first = await producerOn(p);
    await first.producer.run({ once: true });
    p.clock.set("2026-05-06T18:00:00Z");
    await first.producer.run({ once: true });
    expect(first.written).toEqual([{ day: "2026-05-06", final: false }]);
    const file = join(p.config.reportsDir, "morning-report-20260506.md");
    expect(readFileSync(file, "utf8")).not.toContain("final report");

    // The Producer was down at midnight; the next one to start writes the final report.
    p.clock.set("2026-05-07T08:00:00Z");
    const second = await producerOn(p);
    await second.producer.run({ once: true });
    expect(second.written).toEqual([{ day: "2026-05-06", final: true }]);
    expect(readFileSync(file, "utf8")).toContain("Generated 2026-05-07T08:00:00.000Z.");
  });

  it("writes none for the day before the first Producer ran on the ledger", async () => {
    const p = await producerProject("", ROLES);
    p.clock.set("2026-05-07T00:10:00Z");
    const { producer, written } = await producerOn(p);
    await producer.run({ once: true });
    expect(written).toEqual([]);
  });
});

describe("producer report", () => {
  it("writes the report, prints its path, and refuses a bad date", async () => {
    const p = await busyDay();
    await p.ledger.close();
    const ok = await runCli(["report", "--date", "2026-05-06"], { cwd: p.dir });
    expect(ok).toMatchObject({
      code: 0,
      stdout: `${join(p.config.reportsDir, "morning-report-20260506.md")}\n`,
    });
    const head = /producer audit verify --head ([0-9a-f]{64})/.exec(
      readFileSync(ok.stdout.trim(), "utf8"),
    )![1]!;
    expect((await runCli(["audit", "verify", "--head", head], { cwd: p.dir })).code).toBe(0);
    // Cut the log short: the head printed in the report proves it.
    const db = new Database(p.config.ledgerDb);
    db.prepare("DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)").run();
    db.close();
    const cut = await runCli(["audit", "verify", "--head", head], { cwd: p.dir });
    expect(cut.code).toBe(1);
    expect(cut.stdout).toContain("audit chain BROKEN: ");
    for (const bad of ["2026-13-01", "2026-02-30", "yesterday", "2026-5-6"]) {
      const result = await runCli(["report", "--date", bad], { cwd: p.dir });
      expect(result).toMatchObject({
        code: 2,
        stderr: `producer: --date must be a calendar day written YYYY-MM-DD, got "${bad}"\n`,
      });
    }
  });
});
