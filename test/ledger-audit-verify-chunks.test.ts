// `audit verify` reads the chain and the audited rows in chunks that worker threads hash, and
// checks a chunk row by row (the reference check) when they do not pass it. On ledgers of
// several chunks, the fast path must give exactly what the reference alone gives: the same
// result, naming the same first problem.
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LedgerClient, ManualClock } from "../src/index.js";
import { type ChainJob, type DigestJob, Hashers } from "../src/ledger/audit/verify/hashers.js";
import { verifyChain } from "../src/ledger/audit/verify/index.js";
import { SqliteStorage } from "../src/ledger/sqlite/storage.js";
import type { Tx } from "../src/ledger/storage.js";

const KEY = "k".repeat(40);
const DAY = "2026-05-06";
const LIMITS = {
  roleCapUsd: 1e6,
  ceilingUsd: 1e7,
  softCapRatio: 0.8,
  roleSlots: 10,
  projectSlots: 10,
};
/** Text where a careless JSON writer could differ from JSON.stringify. */
const ODD = 'tab\t nul\u0000 bell\u0007 del\u007f sep\u2028 é 😀 lone\ud800 \\ " </script>';
/** The same with only the control characters free text may hold (tab and newline). */
const ODD_TEXT = 'tab\t newline\n sep\u2028 é 😀 lone\ud800 \\ " </script>';
/** The same without line breaks or control characters, as a title must be. */
const ODD_LINE = 'é 😀 lone\ud800 \\ " </script>';
/** Costs SQLite writes differently from JavaScript (2.0, 17 digits, 1.0e-07, ...). */
const COSTS = [2, 1 / 3, 0.1 + 0.2, 1e-7, 0.01 + 0.05, 123456.789, 5e-324];

interface Template {
  path: string;
  rows: number;
  taskIds: string[];
  decisionId: string;
  /** seqs of the seals, in order. */
  seals: number[];
}

let dir: string;
let template: Template;

/**
 * A ledger of three chunks of audit rows and two chunks of tasks: tasks filed with odd text,
 * most claimed and ended with odd costs, decisions, assets, budget holds and settlements,
 * notifications, seals in the first and second chunks, and details that nest a digest key.
 */
async function build(path: string): Promise<Template> {
  const clock = new ManualClock(Date.parse(`${DAY}T09:00:00Z`));
  const roles = ["design", "code", "qa"];
  const ledger = await LedgerClient.open({ dbPath: path, clock, roles });
  const taskIds: string[] = [];
  const seals: number[] = [];
  const seal = async () => {
    await ledger.sealAudit(KEY);
    seals.push((await ledger.auditHead()).rowCount);
  };
  let decisionId = "";
  for (let i = 0; i < 4400; i += 400) {
    const batch = Array.from({ length: 400 }, (_, k) => ({
      agentOwner: roles[(i + k) % 3]!,
      title: `task ${i + k} ${(i + k) % 50 === 0 ? ODD_LINE : ""}`,
      description: (i + k) % 7 === 0 ? ODD_TEXT : "plain",
      payload: { n: i + k, text: (i + k) % 11 === 0 ? ODD : "x" },
    }));
    taskIds.push(...(await ledger.insertTasks(batch)).map((t) => t.id));
    if (i === 400) await seal();
  }
  for (let n = 0; n < 2600; n++) {
    const task = (await ledger.claimNext(roles[n % 3]!))!;
    if (n % 500 === 0) {
      const d = await ledger.recordDecision({
        taskId: task.id,
        agentOwner: task.agentOwner,
        decisionText: `decision ${n} ${ODD_TEXT}`,
      });
      decisionId ||= d.id;
      await ledger.registerAsset({ taskId: task.id, agentOwner: task.agentOwner, path: `a/${n}` });
      const hold = await ledger.reserveBudget(
        { day: DAY, role: task.agentOwner, taskId: task.id, minimumUsd: 0.5 },
        LIMITS,
      );
      if (hold.ok) await ledger.settleBudget(hold.reservation.id, 1 / 3, LIMITS);
      await ledger.recordNotification({
        kind: "idle",
        title: `notice ${n}`,
        message: ODD_TEXT,
        priority: 3,
        tags: [],
        needsHuman: false,
        sequenceId: null,
      });
    }
    const costUsd = COSTS[n % COSTS.length]!;
    if (n % 9 === 0) await ledger.fail(task.id, task.claimToken!, { error: ODD_TEXT }, { costUsd });
    else await ledger.complete(task.id, task.claimToken!, { costUsd, result: `done ${n}` });
    if (n % 100 === 0) {
      // The task's last row: its recorded digest is the top-level one, not the one it nests.
      await ledger.appendAudit({
        action: "task.noted",
        entityType: "task",
        entityId: task.id,
        details: { a: { digest: "f".repeat(64) }, odd: ODD },
      });
    }
    if (n === 1500) await seal();
  }
  const { rowCount } = await ledger.auditHead();
  await ledger.close();
  return { path, rows: rowCount, taskIds, decisionId, seals };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "verify-chunks-"));
  template = await build(join(dir, "template.db"));
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Hashers that count the chunks their workers answered. */
class Counted extends Hashers {
  answered = 0;
  override async chain(job: ChainJob) {
    const verdict = await super.chain(job);
    if (verdict) this.answered++;
    return verdict;
  }
  override async digests(job: DigestJob) {
    const verdict = await super.digests(job);
    if (verdict !== null) this.answered++;
    return verdict;
  }
}

let copies = 0;

/** A copy of the template, tampered with by `tamper` through a second connection. */
function tampered(tamper: (db: Database.Database) => void = () => {}): string {
  const path = join(dir, `case-${copies++}.db`);
  copyFileSync(template.path, path);
  const db = new Database(path);
  try {
    db.transaction(() => tamper(db))();
  } finally {
    db.close();
  }
  return path;
}

async function verifyWith(
  path: string,
  hashers: Hashers,
  options: { expectedHead?: string; key?: string } = {},
) {
  const storage = await SqliteStorage.open({
    file: path,
    create: false,
    synchronous: "NORMAL",
    lockTimeoutMs: 5_000,
  });
  // The chunks the reference check read again, row by row (the fast path reads none).
  let rereads = 0;
  try {
    const result = await storage.transaction("read", (tx) => {
      const counting: Tx = {
        ...tx,
        scan: (sql, params, visit) => {
          if (/ LIMIT 4096$/.test(sql)) rereads++;
          return tx.scan(sql, params, visit);
        },
      };
      const scope = { tx: counting, clock: new ManualClock(0), roles: null, host: "test" };
      return verifyChain(scope, options, hashers);
    });
    return { result, rereads };
  } finally {
    await storage.close();
  }
}

/**
 * Verifies through the workers and by the reference check alone: both must agree. Also
 * says how many chunks the workers answered, and how many the reference read again.
 */
async function verify(path: string, options: { expectedHead?: string; key?: string } = {}) {
  const hashers = new Counted(1);
  const fast = await verifyWith(path, hashers, options);
  const reference = await verifyWith(path, new Hashers(0), options);
  expect(fast.result).toEqual(reference.result);
  return { ...fast.result, answered: hashers.answered, rereads: fast.rereads };
}

const storedHash = (path: string, seq: number): string => {
  const db = new Database(path, { readonly: true });
  try {
    const row = db.prepare("SELECT row_hash FROM audit_log WHERE seq = ?").pluck().get(seq);
    return Buffer.from(row as Uint8Array).toString("hex");
  } finally {
    db.close();
  }
};

describe("audit verify in chunks", () => {
  it("builds a ledger of several chunks", () => {
    expect(template.rows).toBeGreaterThan(2 * 4096);
    expect(template.taskIds.length).toBeGreaterThan(4096);
    expect(template.seals[0]).toBeLessThan(4096);
    expect(template.seals[1]).toBeGreaterThan(4096);
  });

  it("passes an intact ledger through the workers, odd text and odd costs included", async () => {
    const result = await verify(tampered());
    expect(result).toMatchObject({ ok: true, problem: null, rowsChecked: template.rows });
    expect(result.entitiesChecked).toBe(template.taskIds.length + 2 * 6);
    // Every chunk of the chain and of the audited rows had a worker's answer, and passed.
    expect(result.answered).toBeGreaterThanOrEqual(Math.ceil(template.rows / 4096) + 2);
    expect(result.rereads).toBe(0);
  });

  it("with the key, proves the chain up to its last seal, and names the first seal a wrong key fails", async () => {
    const path = tampered();
    const sealed = await verify(path, { key: KEY });
    expect(sealed).toMatchObject({ ok: true, sealedThrough: template.seals[1] });
    const wrong = await verify(path, { key: "w".repeat(40) });
    expect(wrong.problem).toMatchObject({ seq: template.seals[0] });
    expect(wrong.problem!.reason).toMatch(/^seal row \d+ does not match the chain before it/);
  });

  it("finds an expected head in any chunk, and says so when it is not in the chain", async () => {
    const path = tampered();
    for (const seq of [1, 4096, 4097, 6000, template.rows]) {
      expect((await verify(path, { expectedHead: storedHash(path, seq) })).ok).toBe(true);
    }
    const missing = await verify(path, { expectedHead: "ab".repeat(32) });
    expect(missing.problem!.reason).toMatch(/^the expected head abab/);
  });

  it("names an edited row anywhere: inside a chunk, at either side of a boundary, first or last", async () => {
    for (const seq of [1, 2000, 4096, 4097, 6000, 8192, 8193, template.rows]) {
      const path = tampered((db) =>
        db.prepare("UPDATE audit_log SET actor = actor || 'x' WHERE seq = ?").run(seq),
      );
      const result = await verify(path);
      expect(result.problem).toMatchObject({
        seq,
        reason: `row ${seq} was edited: its contents no longer match its hash`,
      });
      expect(result.rowsChecked).toBe(seq - 1);
      if (seq > 1) expect(result.headHash).toBe(storedHash(path, seq - 1));
      // Only the chunk holding the edit was read again.
      expect(result.rereads).toBe(1);
    }
  });

  it("names a removed, a swapped and a forged row at a chunk boundary", async () => {
    const removed = await verify(
      tampered((db) => db.prepare("DELETE FROM audit_log WHERE seq = 4097").run()),
    );
    expect(removed.problem!.reason).toBe(
      "row 4098 follows row 4096: the rows between were removed, or rows were reordered",
    );
    const swapped = await verify(
      tampered((db) => {
        db.prepare("UPDATE audit_log SET seq = -1 WHERE seq = 4096").run();
        db.prepare("UPDATE audit_log SET seq = 4096 WHERE seq = 4097").run();
        db.prepare("UPDATE audit_log SET seq = 4097 WHERE seq = -1").run();
      }),
    );
    expect(swapped.problem).toMatchObject({ seq: 4096 });
    const below = await verify(
      tampered((db) =>
        db
          .prepare(
            "INSERT INTO audit_log (seq, ts, actor, action, entity_type, entity_id, details, row_hash) VALUES (0, 'x', 'mallory', 'note', 'x', NULL, '{}', ?)",
          )
          .run(Buffer.alloc(32)),
      ),
    );
    expect(below.problem!.reason).toBe(
      "row 0 follows row 0: the rows between were removed, or rows were reordered",
    );
  });

  it("lets the reference decide what the database cannot write as JavaScript would", async () => {
    // A hash kept as hex text (as before migration 0003) still matches.
    const hexText = await verify(
      tampered((db) =>
        db.prepare("UPDATE audit_log SET row_hash = lower(hex(row_hash)) WHERE seq = 5000").run(),
      ),
    );
    expect(hexText.ok).toBe(true);
    // A field turned into bytes no longer reads as the text it held: the row was edited.
    const bytes = await verify(
      tampered((db) =>
        db.prepare("UPDATE audit_log SET actor = CAST(actor AS BLOB) WHERE seq = 5000").run(),
      ),
    );
    expect(bytes.problem).toMatchObject({ seq: 5000 });
    // A task title as the bytes of the same text still digests the same.
    const title = await verify(
      tampered((db) =>
        db
          .prepare("UPDATE tasks SET title = CAST(title AS BLOB) WHERE id = ?")
          .run(template.taskIds[4200]),
      ),
    );
    expect(title.ok).toBe(true);
  });

  it("walks rows in filing order whatever their rowids, past 2^53 or below 0", async () => {
    const moved = await verify(
      tampered((db) => {
        const move = db.prepare("UPDATE tasks SET rowid = ? WHERE id = ?");
        for (let i = 0; i < 4400; i += 7) move.run(2n ** 60n + BigInt(i), template.taskIds[i]);
        move.run(-(2n ** 63n), template.taskIds[4399]);
      }),
    );
    expect(moved).toMatchObject({ ok: true, entitiesChecked: template.taskIds.length + 12 });
  });

  it("names a task edited in either chunk of tasks, by a cent or by the last bit", async () => {
    for (const [index, sql] of [
      [10, "UPDATE tasks SET cost_usd = cost_usd + 0.01 WHERE id = ?"],
      [3000, "UPDATE tasks SET title = 'forged' WHERE id = ?"],
      [4200, "UPDATE tasks SET priority = 9 - priority WHERE id = ?"],
      [1, "UPDATE tasks SET cost_usd = 1 / 3.0 + 5.551115123125783e-17 WHERE id = ?"],
    ] as const) {
      const id = template.taskIds[index]!;
      const result = await verify(tampered((db) => db.prepare(sql).run(id)));
      expect(result.problem).toMatchObject({ entityId: id });
      expect(result.problem!.reason).toMatch(
        new RegExp(
          `^task ${id} was edited behind the ledger's back: it no longer matches audit row \\d+$`,
        ),
      );
    }
  });

  it("names a decision edited, a task deleted or written behind the ledger's back", async () => {
    const decision = await verify(
      tampered((db) =>
        db
          .prepare("UPDATE decisions SET decision_text = 'forged' WHERE id = ?")
          .run(template.decisionId),
      ),
    );
    expect(decision.problem).toMatchObject({ entityId: template.decisionId });
    const id = template.taskIds[4300]!;
    const deleted = await verify(
      tampered((db) => db.prepare("DELETE FROM tasks WHERE id = ?").run(id)),
    );
    expect(deleted.problem!.reason).toMatch(
      new RegExp(
        `^task ${id} was deleted behind the ledger's back \\(last audited at row \\d+\\)$`,
      ),
    );
    const written = await verify(
      tampered((db) =>
        db
          .prepare(
            "INSERT INTO tasks (id, agent_owner, title, created_by, created_at, updated_at) VALUES ('01SNEAKY', 'code', 'x', 'x', 'x', 'x')",
          )
          .run(),
      ),
    );
    expect(written.problem!.reason).toBe(
      "task 01SNEAKY has no audit history: it was written behind the ledger's back",
    );
  });

  it("rebuilds the money and the notifications gathered from every chunk", async () => {
    const spent = await verify(
      tampered((db) => db.prepare("UPDATE budget SET spent_usd = 0").run()),
    );
    expect(spent.problem!.reason).toMatch(/^the budget of \w+ on 2026-05-06 says \$0 spent/);
    const notice = await verify(
      tampered((db) => db.prepare("DELETE FROM notifications WHERE title = 'notice 2500'").run()),
    );
    expect(notice.problem!.reason).toMatch(
      /^notification \w+ was deleted behind the ledger's back$/,
    );
  });
});
