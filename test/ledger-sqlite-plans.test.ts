import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../src/index.js";
import { RARE_ACTION_TERM } from "../src/ledger/audit/chain.js";
import { connect } from "../src/ledger/open.js";
import { SqliteStorage } from "../src/ledger/sqlite/storage.js";
import { tempDir } from "./helpers/temp.js";

const ROLES = ["design", "code", "qa"];
const DAY = "2026-05-06";
const LIMITS = { roleCapUsd: 10, ceilingUsd: 50, softCapRatio: 0.8, roleSlots: 2, projectSlots: 4 };

/**
 * Reads that walk a whole table on purpose, each with the reason. Anything else that scans
 * `tasks` or `audit_log` without an index fails the test.
 */
const WHOLE_TABLE_BY_DESIGN: { pattern: RegExp; why: string }[] = [
  {
    pattern: /FROM (audit_log|tasks) ORDER BY (seq|rowid) LIMIT 4096\b/,
    why: "verify's first chunk, along the key from its lowest value wherever it is (the next chunks start after a key): reads only as many rows as the limit",
  },
  { pattern: /LIKE @text/, why: "a substring search of titles: no index serves it" },
  {
    pattern: /FROM audit_log(?: a)? ORDER BY seq DESC LIMIT/,
    why: "the newest rows, backwards along the primary key: reads only as many as the limit",
  },
];

/** Every public ledger call, so every statement the product runs gets compiled once. */
async function everyCall(ledger: Awaited<ReturnType<typeof connect>>, clock: ManualClock) {
  const [spec] = await ledger.insertTasks([{ agentOwner: "design", title: "spec" }]);
  const build = await ledger.insertTask({
    agentOwner: "code",
    title: "build",
    dependsOn: [spec!.id],
    parentTaskId: spec!.id,
    createdBy: "design",
  });
  await ledger.insertTask({ agentOwner: "qa", title: "check", priority: 2 });
  const claimed = (await ledger.claimNext("design"))!;
  await ledger.heartbeat(claimed.id, claimed.claimToken!, 60_000);
  await ledger.recordDecision({ taskId: claimed.id, agentOwner: "design", decisionText: "tabs" });
  await ledger.registerAsset({ taskId: claimed.id, agentOwner: "design", path: "docs/spec.md" });
  await ledger.complete(claimed.id, claimed.claimToken!, { costUsd: 0.1 });
  const funded = await ledger.claimAndReserve("code", {
    day: DAY,
    minimumUsd: 0.5,
    limits: LIMITS,
  });
  if (funded.kind !== "claimed") throw new Error(`expected a funded claim, got ${funded.kind}`);
  await ledger.finishClaim(
    funded.task.id,
    funded.task.claimToken!,
    { kind: "retry", error: "flaky", notBefore: `${DAY}T09:00:01.000Z` },
    { costUsd: 0.2 },
    { settle: { reservationId: funded.reservation.id, limits: LIMITS } },
  );
  const qa = (await ledger.claimNext("qa"))!;
  await ledger.fail(qa.id, qa.claimToken!, { error: "boom" });
  await ledger.requeue(qa.id);
  const again = (await ledger.claimNext("qa"))!;
  await ledger.escalate(again.id, again.claimToken!, "needs a human");
  await ledger.reroute(again.id, "code");
  const hold = await ledger.reserveBudget({ day: DAY, role: "qa", minimumUsd: 0.1 }, LIMITS);
  if (hold.ok) await ledger.releaseBudget(hold.reservation.id);
  const other = await ledger.reserveBudget({ day: DAY, role: "qa", minimumUsd: 0.1 }, LIMITS);
  if (other.ok) await ledger.settleBudget(other.reservation.id, 0.05, LIMITS);
  await ledger.releaseOrphanHolds();
  const lease = (await ledger.claimNext("code", { leaseMs: 1_000 }))!;
  await ledger.release(lease.id, lease.claimToken!, "shutting down");
  await ledger.claimNext("code", { leaseMs: 1_000 });
  clock.advance(5_000);
  await ledger.recoverExpiredLeases();
  const dead = await ledger.claimNext("code");
  if (dead) await ledger.recoverDeadClaims(() => false);
  await ledger.kill(build.id, { reason: "not needed" });
  const note = await ledger.recordNotification({
    kind: "idle",
    title: "idle",
    message: "nothing to do",
    priority: 3,
    tags: [],
    needsHuman: false,
    sequenceId: null,
  });
  await ledger.setNotificationDelivery(note.id, "failed", "no network");
  const human = { ...note, needsHuman: true, sequenceId: "p-idle" };
  const [first, second] = [
    await ledger.recordNotification(human),
    await ledger.recordNotification(human),
  ];
  await ledger.resolveAttention({ ids: [first!.id, second!.id.slice(-6)] }, { actor: "cli" });
  await ledger.recordNotification(human);
  await ledger.resolveAttention({ sequenceId: "p-idle", kind: "idle" }, { actor: "producer" });
  await ledger.recordNotification(human);
  await ledger.resolveAttention({ all: true }, { actor: "cli" });
  await ledger.producerStarted({ once: false, pollMs: 1000 });
  await ledger.producerBeat();
  await ledger.producerStopped();
  await ledger.appendAudit({ action: "killswitch.armed", entityType: "killswitch", details: {} });
  await ledger.sealAudit("k".repeat(32));

  const window = { since: `${DAY}T00:00:00.000Z`, until: `${DAY}T23:59:59.999Z` };
  await ledger.getTask(spec!.id);
  // The end of an id, as a human copies it from a log line.
  await ledger.resolveTaskId(spec!.id.slice(-8).toLowerCase());
  for (const filter of [
    {},
    { status: "pending" as const },
    { status: ["done" as const, "failed" as const], role: "code" },
    { role: "qa", limit: 5, offset: 1 },
    { parentTaskId: spec!.id },
    { text: "spe" },
  ]) {
    await ledger.listTasks(filter);
    await ledger.countTasks(filter);
  }
  await ledger.countByRoleAndStatus();
  await ledger.listChildren(spec!.id);
  await ledger.listAttempts(build.id);
  await ledger.queueSummary();
  await ledger.queueFlow({ ...window, bucket: "hour" });
  await ledger.dispatchIdentity("nope");
  await ledger.budgetUsage(DAY, "code");
  await ledger.budgetForDay(DAY);
  await ledger.spendByDay(DAY, DAY);
  await ledger.spendPace(DAY, window.since);
  await ledger.listDecisions({ taskId: spec!.id });
  await ledger.listDecisions({ limit: 5 });
  await ledger.listAssets({ taskId: spec!.id });
  await ledger.listAssets(window);
  await ledger.listNotifications({ ...window, delivery: "failed" });
  await ledger.listNotifications({ limit: 5 });
  await ledger.reportData(window);
  await ledger.verifyAuditChain({ key: "k".repeat(32) });
  await ledger.auditHead();
  await ledger.recentAudit(20);
  await ledger.recentAudit(20, spec!.id);
  await ledger.recentAudit(20, "code");
  await ledger.latestAudit("killswitch.armed");
  await ledger.listAttention();
  await ledger.listAttention({ all: true, limit: 5 });
  await ledger.attentionOverview();
  await ledger.listProducers();
}

/**
 * Tables no read may walk whole. Notifications are checked through the attention queries:
 * only they run on every status and page refresh (the ntfy feed reads the newest few).
 */
const BIG_TABLES = ["tasks", "audit_log", "producers"];

/**
 * A plan step that reads all of a big table (named, or by an alias the SQL gives it), itself
 * or all of its primary key's index.
 */
function scansBigTable(sql: string, step: string): boolean {
  const names = new Set(isAttentionQuery(sql) ? [...BIG_TABLES, "notifications"] : BIG_TABLES);
  for (const m of sql.matchAll(/\b(?:tasks|audit_log|producers)\s+(?:AS\s+)?(\w+)/gi)) {
    const alias = m[1]!;
    if (!/^(WHERE|ORDER|GROUP|JOIN|LIMIT|SET|ON|VALUES|UNION|INNER|LEFT)$/i.test(alias)) {
      names.add(alias);
    }
  }
  // Reading every id from the primary key's index instead of the table is a scan all the same
  // (an ordered walk along it, `USING INDEX`, stops at its LIMIT).
  const scanned = /^SCAN (\w+)(?: AS (\w+))?(?: USING COVERING INDEX sqlite_autoindex_\w+)?$/.exec(
    step,
  );
  return scanned !== null && (names.has(scanned[1]!) || names.has(scanned[2] ?? ""));
}

/** A read of attention items: it must go through their partial indexes, never the table. */
function isAttentionQuery(sql: string): boolean {
  return /FROM notifications WHERE needs_human = 1/.test(sql);
}

/** The forecast's read of a day's charges: it must use the settled-by-time index. */
function isPaceQuery(sql: string): boolean {
  return sql.includes("closed_at >= @since");
}

/** NULL for every parameter: a plan does not depend on the values. */
function unbound(sql: string): unknown[] {
  const names = [...sql.matchAll(/@(\w+)/g)].map((m) => m[1]!);
  if (names.length > 0) return [Object.fromEntries(names.map((name) => [name, null]))];
  return new Array((sql.match(/\?/g) ?? []).length).fill(null);
}

describe("every read the ledger makes has an index", () => {
  it("explains every statement and finds no full scan of tasks or audit_log", async () => {
    const file = join(tempDir(), "ledger.db");
    const clock = new ManualClock(Date.parse(`${DAY}T09:00:00.000Z`));
    const storage = await SqliteStorage.open({
      file,
      create: true,
      synchronous: "NORMAL",
      lockTimeoutMs: 5_000,
    });
    const ledger = await connect(storage, { roles: ROLES, clock });
    let statements: string[];
    try {
      await everyCall(ledger, clock);
      statements = storage
        .compiledSql()
        .filter(
          (sql) =>
            /\b(tasks|audit_log|producers)\b/.test(sql) ||
            isAttentionQuery(sql) ||
            isPaceQuery(sql),
        );
    } finally {
      await ledger.close();
    }
    const db = new Database(file, { readonly: true });
    // Every audit row written tests the partial index's condition: as a chain of `<>` that
    // needs no temporary b-tree, and queries repeat it word for word to use the index.
    const index = db
      .prepare("SELECT sql FROM sqlite_schema WHERE name = 'audit_by_action'")
      .pluck()
      .get() as string;
    expect(index.replace(/\s+/g, " ")).toContain(`WHERE ${RARE_ACTION_TERM}`);
    const appendRow = statements.find((sql) => sql.startsWith("INSERT INTO audit_log"))!;
    const opcodes = (
      db.prepare(`EXPLAIN ${appendRow}`).all(...unbound(appendRow)) as { opcode: string }[]
    ).map((r) => r.opcode);
    expect(opcodes).not.toContain("OpenEphemeral");
    const plans = statements.map((sql) => ({
      sql,
      plan: (
        db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...unbound(sql)) as { detail: string }[]
      ).map((r) => r.detail),
    }));
    db.close();
    // The workload reached the statements that matter most.
    expect(plans.length).toBeGreaterThan(40);
    const scans = plans.filter(
      ({ sql, plan }) =>
        plan.some((step) => scansBigTable(sql, step)) &&
        !WHOLE_TABLE_BY_DESIGN.some(({ pattern }) => pattern.test(sql)),
    );
    expect(
      scans.map(({ sql, plan }) => `${sql.replace(/\s+/g, " ")}\n  ${plan.join("\n  ")}`),
    ).toEqual([]);
    // The forecast's read of a day's charges goes through the settled-by-time index, not
    // every reservation ever made.
    const pace = plans.find(({ sql }) => isPaceQuery(sql));
    expect(pace?.plan.join("\n")).toContain("reservations_settled");
    expect(pace?.plan.filter((step) => /^SCAN budget_reservations\b/.test(step))).toEqual([]);
    // The report's totals of a day's finished tasks read the index alone, never a task row:
    // on a busy day those rows number in the tens of thousands.
    const finished = plans.find(
      ({ sql }) => /finished_at >= @since/.test(sql) && /GROUP BY agent_owner, status/.test(sql),
    );
    expect(finished?.plan).toContainEqual(
      expect.stringMatching(
        /^SEARCH tasks USING COVERING INDEX tasks_by_finish \(finished_at>\? AND finished_at<\?\)$/,
      ),
    );
    // Each statement that walks a table by design is still there to be allowed.
    for (const { pattern, why } of WHOLE_TABLE_BY_DESIGN) {
      expect(
        statements.some((sql) => pattern.test(sql)),
        why,
      ).toBe(true);
    }
  });
});
