import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it, onTestFinished } from "vitest";
import { parseLedgerUrl } from "../src/config/ledger-url.js";
import { LedgerClient } from "../src/index.js";
import { connect } from "../src/ledger/open.js";
import { PostgresStorage } from "../src/ledger/postgres/storage.js";
import { runCli, tempProject } from "./helpers/cli.js";
import { describePostgres, oneRow, scratchSchema } from "./helpers/postgres.js";

const WORKER = join(import.meta.dirname, "fixtures", "host-worker.mjs");
const TEN_MINUTES = 600_000;

interface HostSettings {
  host: string;
  skewMs: number;
  role: string;
  leaseMs: number;
  ceilingUsd: number;
  costUsd: number;
  mode: "drain" | "hold";
  workMs?: number;
}

interface Drained {
  host: string;
  done: string[];
  ended: string;
}

/** Starts one "host": a process of its own, with its own connection, name and clock. */
function startHost(url: string, settings: HostSettings) {
  const child: ChildProcess = spawn(process.execPath, [WORKER, url, JSON.stringify(settings)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  onTestFinished(() => {
    child.kill("SIGKILL");
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => {
    stdout += d;
  });
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const firstLine = new Promise<Record<string, unknown>>((resolve, reject) => {
    const look = () => {
      const line = stdout.split("\n")[0];
      if (stdout.includes("\n") && line) resolve(JSON.parse(line));
    };
    child.stdout?.on("data", look);
    child.on("exit", (code) => {
      look();
      reject(new Error(`host ${settings.host} exited (${code}) without a result: ${stderr}`));
    });
  });
  return { child, firstLine };
}

const drain = (url: string, settings: Omit<HostSettings, "mode" | "leaseMs">) =>
  startHost(url, { ...settings, mode: "drain", leaseMs: 30_000 })
    .firstLine as Promise<unknown> as Promise<Drained>;

/** A ledger of `count` tasks for role `code`, opened from this process. */
async function filedLedger(url: string, count: number, role = "code") {
  const ledger = await LedgerClient.open({ ledgerUrl: url, roles: [role], actor: "test" });
  onTestFinished(() => ledger.close());
  await ledger.insertTasks(
    Array.from({ length: count }, (_, i) => ({ agentOwner: role, title: `task ${i}` })),
  );
  return ledger;
}

/**
 * Replays the budget from the audit chain, in commit order: money spent plus money held may
 * never pass the ceiling at any row. Returns the most that was ever spent plus held.
 */
async function peakCommitment(ledger: LedgerClient): Promise<{ peak: number; spent: number }> {
  const rows = await ledger.recentAudit(100_000);
  const held = new Map<string, number>();
  let spent = 0;
  let peak = 0;
  for (const row of rows.reverse()) {
    const d = JSON.parse(row.details) as Record<string, unknown>;
    if (row.action === "budget.held") held.set(String(d.reservation_id), Number(d.amount_usd));
    if (row.action === "budget.settled" || row.action === "budget.exceeded") {
      held.delete(String(d.reservation_id));
      spent += Number(d.cost_usd);
    }
    if (row.action === "budget.holds_released") {
      for (const id of d.reservations as string[]) held.delete(id);
    }
    peak = Math.max(peak, spent + [...held.values()].reduce((a, b) => a + b, 0));
  }
  return { peak, spent };
}

describePostgres("several hosts on one PostgreSQL ledger", () => {
  it("four hosts with skewed clocks drain it: every task once, the ceiling exact, the chain whole", async () => {
    const { url, sql } = await scratchSchema("hosts");
    const ledger = await filedLedger(url, 120);
    const hosts = [
      { host: "host-a", skewMs: TEN_MINUTES },
      { host: "host-b", skewMs: -TEN_MINUTES },
      { host: "host-c", skewMs: 0 },
      { host: "host-d", skewMs: 3_000 },
    ];
    // A ceiling of $1.00 at $0.02 a task: exactly 50 tasks fit, whoever races for them.
    const capped = await Promise.all(
      hosts.map((h) => drain(url, { ...h, role: "code", ceilingUsd: 1, costUsd: 0.02 })),
    );
    const doneUnderCap = capped.flatMap((r) => r.done);
    expect(doneUnderCap).toHaveLength(50);
    expect(new Set(doneUnderCap).size).toBe(50);
    expect(capped.map((r) => r.ended)).toEqual(hosts.map(() => "refused: project"));
    const budget = await peakCommitment(ledger);
    expect(budget.spent).toBeCloseTo(1, 9);
    expect(budget.peak).toBeLessThanOrEqual(1 + 1e-9);
    const { spent } = await oneRow(sql`SELECT sum(spent_usd) AS spent FROM budget`);
    expect(spent).toBeCloseTo(1, 9);

    // A higher ceiling: the hosts drain the rest, each task claimed once in all.
    const rest = await Promise.all(
      hosts.map((h) => drain(url, { ...h, role: "code", ceilingUsd: 100, costUsd: 0.02 })),
    );
    expect(rest.map((r) => r.ended)).toEqual(hosts.map(() => "empty"));
    const all = [...doneUnderCap, ...rest.flatMap((r) => r.done)];
    expect(all).toHaveLength(120);
    expect(new Set(all).size).toBe(120);
    const counts = await sql`SELECT status, attempts, count(*)::int AS n FROM tasks GROUP BY 1, 2`;
    expect([...counts]).toEqual([{ status: "done", attempts: 1, n: 120 }]);
    // Every host took part, and the chain of 4 rows per task (+ filing) verifies in one piece.
    expect(rest.concat(capped).every((r) => r.done.length > 0)).toBe(true);
    const verified = await ledger.verifyAuditChain();
    expect(verified).toMatchObject({ ok: true });
    const { seqs, top } = await oneRow(
      sql`SELECT count(*)::int AS seqs, max(seq)::int AS top FROM audit_log`,
    );
    expect(seqs).toBe(top);
  });

  it("a killed host's claim is recovered by database time, never early, never by PID elsewhere", async () => {
    const { url, sql } = await scratchSchema("hosts");
    await filedLedger(url, 1);
    // The holder's clock runs ten minutes behind: by its own clock its lease ended long ago.
    const holder = startHost(url, {
      host: "host-dead",
      skewMs: -TEN_MINUTES,
      role: "code",
      leaseMs: 3_000,
      ceilingUsd: 10,
      costUsd: 0.02,
      mode: "hold",
    });
    const { claimed } = (await holder.firstLine) as { claimed: string };
    expect(claimed).toMatch(/^[0-9A-Z]{26}$/);
    const { lease, claimedBy } =
      await oneRow(sql`SELECT lease_expires_at AS lease, claimed_by AS "claimedBy",
        extract(epoch FROM clock_timestamp()) * 1000 AS now FROM tasks WHERE id = ${claimed}`);
    expect(claimedBy).toMatch(/^host-dead:\d+$/);
    const { now } = await oneRow(sql`SELECT extract(epoch FROM clock_timestamp()) * 1000 AS now`);
    const leaseLeft = Date.parse(lease) - Number(now);
    expect(leaseLeft).toBeGreaterThan(0);
    expect(leaseLeft).toBeLessThanOrEqual(3_000);

    // A host whose clock runs ten minutes ahead looks for expired leases and dead claimers.
    const storage = await PostgresStorage.open({
      address: parseLedgerUrl(url),
      create: false,
      host: "host-ahead",
      hostClock: { now: () => Date.now() + TEN_MINUTES },
    });
    const rescuer = await connect(storage, { roles: ["code"], actor: "host-ahead" });
    onTestFinished(() => rescuer.close());
    expect(Math.abs(rescuer.clock.now() - Date.now())).toBeLessThan(1_000);
    expect(await rescuer.recoverExpiredLeases()).toEqual([]);
    // Every PID reads as dead to it, but the claim is another host's: not judged by PID.
    expect(await rescuer.recoverDeadClaims(() => false)).toEqual([]);

    holder.child.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, leaseLeft + 200));
    const recovered = await rescuer.recoverExpiredLeases();
    expect(recovered.map((t) => [t.id, t.status])).toEqual([[claimed, "pending"]]);
  });

  it("producer kill on one host stops every host; NOTIFY wakes a listener on another", async () => {
    const { url } = await scratchSchema("hosts");
    const ledger = await filedLedger(url, 400, "slow");
    const hosts = ["host-a", "host-b", "host-c"].map((host) =>
      drain(url, { host, skewMs: 0, role: "slow", ceilingUsd: 100, costUsd: 0.01, workMs: 50 }),
    );
    // Let them get going, then pull the brake from a project on "another machine".
    await waitFor(async () => (await ledger.countTasks({ status: "done" })) >= 6);
    const dir = tempProject(`ledger_url: ${url}\n`, ["slow"]);
    const kill = await runCli(["kill", "stop the whole team"], { cwd: dir });
    expect(kill.code).toBe(0);
    const results = await Promise.all(hosts);
    expect(results.map((r) => r.ended)).toEqual(results.map(() => "halted: stop the whole team"));
    expect(await ledger.countTasks({ status: "pending" })).toBeGreaterThan(0);
    const status = JSON.parse((await runCli(["status", "--json"], { cwd: dir })).stdout);
    expect(status.killSwitch).toMatchObject({ armed: true, reason: "stop the whole team" });
    expect((await runCli(["resume"], { cwd: dir })).code).toBe(0);
    const after = JSON.parse((await runCli(["status", "--json"], { cwd: dir })).stdout);
    expect(after.killSwitch).toEqual({ armed: false });

    // Wake-up across connections: one client files, another is told by NOTIFY.
    const listener = await LedgerClient.open({ ledgerUrl: url, roles: ["slow"], actor: "watch" });
    onTestFinished(() => listener.close());
    let woke: (() => void) | null = null;
    const stop = listener.watch(() => woke?.());
    onTestFinished(stop);
    await new Promise((r) => setTimeout(r, 300));
    const delays: number[] = [];
    for (let i = 0; i < 20; i++) {
      const heard = new Promise<void>((resolve) => {
        woke = resolve;
      });
      const started = performance.now();
      await ledger.insertTask({ agentOwner: "slow", title: `wake ${i}` });
      await heard;
      delays.push(performance.now() - started);
    }
    delays.sort((a, b) => a - b);
    const p50 = delays[10]!;
    writeFileSync(join(dir, "wakeup.txt"), `${p50}\n`);
    console.log(
      `NOTIFY wake-up across connections: p50 ${p50.toFixed(1)} ms (insert to listener, 20 inserts)`,
    );
    expect(delays).toHaveLength(20);
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}
