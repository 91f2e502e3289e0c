// Crash safety: a real `producer run` killed with SIGKILL at random moments, restarted each
// time, must lose nothing, duplicate nothing, and keep its books and its audit chain straight.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { LedgerClient } from "../src/index.js";
import { runCli, startCli } from "./helpers/cli.js";
import { PRODUCER_AGENT } from "./helpers/producer.js";
import { tempDir } from "./helpers/temp.js";

/** A small seeded PRNG (mulberry32), so a failing round can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 20261125;
const ROUNDS = 20;
const FEATURES = 12;

describe("crash safety", () => {
  it(`survives ${ROUNDS} kill -9s at random moments (seed ${SEED})`, async () => {
    const dir = tempDir("crash-");
    const command = JSON.stringify([process.execPath, PRODUCER_AGENT]);
    const role = (name: string) =>
      `  ${name}:\n    daily_cap_usd: 50\n    dispatch_reservation_usd: 0.05\n    max_concurrent: 2\n    runtime: exec\n    command: ${command}\n    env: [AGENT_LOG]\n`;
    // A claim lost to a kill counts as an attempt, and a task whose Producer dies on every
    // attempt ends escalated (containment.test.ts); here retries outnumber the kills, so
    // every task must still finish.
    writeFileSync(
      join(dir, "producer.yaml"),
      `project_name: crash\npoll_interval_seconds: 0.1\nlease_seconds: 5\nmax_concurrent_dispatches: 3\nidle_threshold_polls: 100000\nretry:\n  max_retries: ${ROUNDS + 1}\n  backoff_seconds: 0.2\nagents:\n${role("design")}${role("qa")}`,
    );
    for (const name of ["design", "qa"]) {
      mkdirSync(join(dir, "agents", name), { recursive: true });
      writeFileSync(join(dir, "agents", name, "system_prompt.md"), `You are ${name}.\n`);
    }
    const dbPath = join(dir, "agent-state", "ledger.db");
    const seeder = await LedgerClient.open({ dbPath, roles: ["design", "qa"], actor: "seed" });
    // One task whose agent cannot finish until the test opens its gate, claimed first: the
    // first kill lands while it runs, however loaded the machine, so at least one claim is
    // certainly lost to a kill and must be recovered.
    const gate = join(dir, "gate");
    const gated = await seeder.insertTask({
      agentOwner: "design",
      title: "gated",
      priority: 1,
      payload: { action: "gate", file: gate, cost: 0.01 },
    });
    await seeder.insertTasks(
      Array.from({ length: FEATURES }, (_, i) => ({
        agentOwner: "design",
        title: `feature ${i}`,
        payload: {
          action: "file",
          cost: 0.01,
          children: [1, 2].map((n) => ({
            agentOwner: "qa",
            title: `check ${i}.${n}`,
            payload: { action: "sleep", ms: 300, cost: 0.02 },
          })),
        },
      })),
    );
    await seeder.close();
    const env = { AGENT_LOG: join(dir, "agent.log") };

    const next = random(SEED);
    let killedMidDispatch = 0;
    let claimsSeen = 0;
    const agentStarted = (task: string) =>
      existsSync(env.AGENT_LOG) &&
      readFileSync(env.AGENT_LOG, "utf8")
        .split("\n")
        .some((line) => line.includes(`"task":"${task}","event":"start"`));
    {
      const run = startCli(["run"], { cwd: dir, env });
      // A guard against a hang only: however long the start takes, the kill waits for it.
      const guard = Date.now() + 120_000;
      while (!agentStarted(gated.id)) {
        if (Date.now() > guard) throw new Error(`the gated task never started:\n${run.stderr()}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      run.child.kill("SIGKILL");
      await run.exited;
      claimsSeen += run.stdout().match(/ claimed: /g)?.length ?? 0;
      writeFileSync(gate, "");
    }
    for (let round = 1; round < ROUNDS; round++) {
      const run = startCli(["run"], { cwd: dir, env });
      // Each kill lands at a random moment after the run's first claim, not at a fixed time
      // after its start: a fast machine drains the queue sooner, a loaded one starts later,
      // and either way the kill must catch work in flight.
      const deadline = Date.now() + 10_000;
      while (!/claimed:/.test(run.stdout()) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
      }
      if (/claimed:/.test(run.stdout())) killedMidDispatch++;
      await new Promise((r) => setTimeout(r, Math.floor(next() * 250)));
      run.child.kill("SIGKILL");
      await run.exited;
      claimsSeen += run.stdout().match(/ claimed: /g)?.length ?? 0;
    }
    // Let agents orphaned by the last kill finish, then drain what is left.
    await new Promise((r) => setTimeout(r, 800));
    const final = await runCli(["run", "--once"], { cwd: dir, env, timeoutMs: 120_000 });
    expect(final.code).toBe(0);

    const ledger = await LedgerClient.open({ dbPath, create: false });
    try {
      const tasks = await ledger.listTasks();
      // Nothing lost, nothing duplicated: every feature and each of its two checks, once.
      expect(tasks).toHaveLength(FEATURES * 3 + 1);
      const keys = tasks.map((t) => `${t.parentTaskId ?? "-"}/${t.title}`);
      expect(new Set(keys).size).toBe(keys.length);
      const unfinished = tasks.filter((t) => t.status !== "done");
      expect(unfinished.map((t) => `${t.title}: ${t.status}`)).toEqual([]);

      // Each attempt counted once, however many the kills caught: per task, one claim audited
      // per attempt listed, numbered 1..N; every attempt but the last lost to a kill (and
      // recovered, audited once) or failed and retried; the last one done; and the task's
      // count of attempts is exactly the attempts listed (no requeue, no release here).
      const audit = await ledger.recentAudit(100_000);
      const auditedFor = (id: string, action: string) =>
        audit.filter((a) => a.entityId === id && a.action === action).length;
      let lostToKills = 0;
      for (const t of tasks) {
        const attempts = await ledger.listAttempts(t.id);
        const outcomes = attempts.map((a) => a.outcome);
        expect(attempts.map((a) => a.attempt)).toEqual(attempts.map((_, i) => i + 1));
        expect(outcomes.at(-1)).toBe("done");
        expect(outcomes.slice(0, -1).filter((o) => o !== "recovered" && o !== "retry")).toEqual([]);
        expect(t.attempts).toBe(attempts.length);
        expect(auditedFor(t.id, "task.claimed")).toBe(attempts.length);
        const recoveredHere = outcomes.filter((o) => o === "recovered").length;
        expect(auditedFor(t.id, "task.recovered")).toBe(recoveredHere);
        lostToKills += recoveredHere;
      }
      // The first kill caught the gated task running, for certain.
      expect((await ledger.listAttempts(gated.id))[0]).toMatchObject({
        attempt: 1,
        outcome: "recovered",
      });
      // What the runs printed was claimed, each claim once (a kill can land between a claim's
      // commit and its line, never the other way round).
      const claims = audit.filter((a) => a.action === "task.claimed").length;
      expect(claimsSeen).toBeLessThanOrEqual(claims);

      // The books balance: what the tasks record is what the budget counted.
      const db = new Database(dbPath, { readonly: true });
      try {
        const spent = db.prepare("SELECT COALESCE(SUM(spent_usd), 0) AS n FROM budget").get() as {
          n: number;
        };
        const costs = db.prepare("SELECT COALESCE(SUM(cost_usd), 0) AS n FROM tasks").get() as {
          n: number;
        };
        expect(spent.n).toBeCloseTo(costs.n, 9);
        const held = db
          .prepare("SELECT COUNT(*) AS n FROM budget_reservations WHERE state = 'held'")
          .get() as { n: number };
        expect(held.n).toBe(0);
        expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
      } finally {
        db.close();
      }
      expect((await ledger.verifyAuditChain()).ok).toBe(true);
      console.log(
        `crash safety: ${ROUNDS} rounds, ${killedMidDispatch + 1} after a claim was printed, ${lostToKills} claims lost to kills and recovered, ${claims} claims in all, ${tasks.length} tasks checked`,
      );
    } finally {
      await ledger.close();
    }
  }, 180_000);
});
