import { describe, expect, it } from "vitest";
import { LedgerError } from "../../src/index.js";
import type { OpenLedgerUnderTest } from "./harness.js";

/** The task bus's contract: filing, claiming, ending claims, human actions, records. */
export function tasksContract(open: OpenLedgerUnderTest): void {
  describe("insertTask", () => {
    it("stores a task with defaults and reads it back", async () => {
      const { ledger } = await open();
      const task = await ledger.insertTask({
        agentOwner: "code",
        title: "  Build the login form ",
        payload: { screen: "login" },
      });
      expect(task).toMatchObject({
        agentOwner: "code",
        title: "Build the login form",
        description: "",
        payload: { screen: "login" },
        priority: 5,
        status: "pending",
        attempts: 0,
        parentTaskId: null,
        depth: 0,
        dependsOn: [],
        createdBy: "library",
        createdAt: "2026-05-06T09:00:00.000Z",
      });
      expect(task.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
      expect(await ledger.getTask(task.id)).toEqual(task);
      expect(await ledger.getTask("01NOPE")).toBeNull();
    });

    it("accepts a payload given as JSON text", async () => {
      const { ledger } = await open();
      const task = await ledger.insertTask({
        agentOwner: "qa",
        title: "t",
        payload: '{"a":[1,2]}',
      });
      expect(task.payload).toEqual({ a: [1, 2] });
    });

    it("links a child to its parent and counts depth", async () => {
      const { ledger } = await open();
      const parent = await ledger.insertTask({ agentOwner: "design", title: "spec" });
      const child = await ledger.insertTask(
        { agentOwner: "code", title: "build", parentTaskId: parent.id },
        { actor: "design" },
      );
      expect(child).toMatchObject({ parentTaskId: parent.id, depth: 1, createdBy: "design" });
      expect((await ledger.listChildren(parent.id)).map((t) => t.id)).toEqual([child.id]);
    });

    const invalid: [string, Record<string, unknown>, string][] = [
      [
        "unknown role",
        { agentOwner: "cod", title: "x" },
        'unknown role "cod" (did you mean "code"?); the roles are: producer, design, code, qa',
      ],
      [
        "unknown role, no hint",
        { agentOwner: "marketing", title: "x" },
        'unknown role "marketing"; the roles are: producer, design, code, qa',
      ],
      ["empty title", { agentOwner: "code", title: "   " }, "title must not be empty"],
      ["title not text", { agentOwner: "code", title: 42 }, "title must be text"],
      [
        "multi-line title",
        { agentOwner: "code", title: "a\nb" },
        "title must be a single line without control characters",
      ],
      [
        "huge title",
        { agentOwner: "code", title: "x".repeat(1_000_000) },
        "title is 1000000 characters long; the limit is 500 (put the detail in the description)",
      ],
      [
        "bad JSON payload",
        { agentOwner: "code", title: "x", payload: "{oops" },
        "payload is not valid JSON (Expected property name or '}' in JSON at position 1)",
      ],
      [
        "array payload",
        { agentOwner: "code", title: "x", payload: "[1,2]" },
        'payload must be a JSON object like {"key": "value"}, got an array',
      ],
      [
        "number payload",
        { agentOwner: "code", title: "x", payload: 7 },
        'payload must be a JSON object like {"key": "value"}, got number',
      ],
      [
        "priority 0",
        { agentOwner: "code", title: "x", priority: 0 },
        "priority must be a whole number from 1 (highest) to 9 (lowest), got 0",
      ],
      [
        "priority 2.5",
        { agentOwner: "code", title: "x", priority: 2.5 },
        "priority must be a whole number from 1 (highest) to 9 (lowest), got 2.5",
      ],
      [
        "missing parent",
        { agentOwner: "code", title: "x", parentTaskId: "01MISSING" },
        'parent task "01MISSING" does not exist',
      ],
      [
        "missing dependency",
        { agentOwner: "code", title: "x", dependsOn: ["01MISSING"] },
        'dependency "01MISSING" does not exist',
      ],
      [
        "bad not_before",
        { agentOwner: "code", title: "x", notBefore: "tomorrow" },
        'notBefore must be an ISO-8601 timestamp like 2026-05-06T09:30:00Z, got "tomorrow"',
      ],
      [
        "control chars in description",
        { agentOwner: "code", title: "x", description: "a\u0007b" },
        "description contains control characters (only tab and newline are allowed)",
      ],
    ];
    for (const [name, input, message] of invalid) {
      it(`refuses ${name} with a clear message and writes nothing`, async () => {
        const { ledger } = await open();
        const before = await ledger.auditHead();
        const error = await ledger.insertTask(input as never).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(LedgerError);
        // Node 22 appends "(line 1 column 2)" to JSON.parse errors; compare up to that.
        expect((error as Error).message.replace(/ \(line \d+ column \d+\)/, "")).toBe(message);
        expect(await ledger.countTasks()).toBe(0);
        expect(await ledger.auditHead()).toEqual(before);
      });
    }

    it("accepts any role when opened without a role list", async () => {
      const { ledger } = await open({ roles: undefined });
      expect((await ledger.insertTask({ agentOwner: "anything", title: "x" })).agentOwner).toBe(
        "anything",
      );
    });

    it("stores SQL metacharacters and HTML verbatim", async () => {
      const { ledger } = await open();
      const title = `Robert'); DROP TABLE tasks;-- <img src=x onerror=alert(1)>`;
      const task = await ledger.insertTask({
        agentOwner: "qa",
        title,
        description: "50% _done_ \\",
      });
      expect((await ledger.getTask(task.id))!.title).toBe(title);
      expect(await ledger.listTasks({ text: "50%" })).toHaveLength(1);
      expect(await ledger.listTasks({ text: "0%_" })).toHaveLength(0);
    });
  });

  describe("resolveTaskId", () => {
    it("finds a task by its full id or any unique end of it, in any case", async () => {
      const { ledger } = await open();
      const task = await ledger.insertTask({ agentOwner: "code", title: "build" });
      const other = await ledger.insertTask({ agentOwner: "code", title: "test" });
      expect(await ledger.resolveTaskId(task.id)).toBe(task.id);
      expect(await ledger.resolveTaskId(task.id.toLowerCase())).toBe(task.id);
      // What the run log shows, typed back in lower case.
      expect(await ledger.resolveTaskId(task.id.slice(-8).toLowerCase())).toBe(task.id);
      expect(await ledger.resolveTaskId(` ${other.id.slice(-4)} `)).toBe(other.id);
    });

    it("names an unknown id, and says what to type for a short or ambiguous one", async () => {
      const { ledger, raw } = await open();
      await ledger.insertTask({ agentOwner: "code", title: "build" });
      // Two ids sharing their last five characters, as ULIDs rarely but can.
      for (const id of ["01AAAAAAAAAAAAAAAAAAAZ9XYZ", "01BBBBBBBBBBBBBBBBBBBQ9XYZ"]) {
        await raw(
          "INSERT INTO tasks (id, agent_owner, title, created_by, created_at, updated_at) VALUES (?, 'code', 'twin', 'x', 'x', 'x')",
          id,
        );
      }
      expect(await ledger.resolveTaskId("z9xyz")).toBe("01AAAAAAAAAAAAAAAAAAAZ9XYZ");
      const refusal = async (given: string) => {
        try {
          await ledger.resolveTaskId(given);
        } catch (error) {
          return { message: (error as Error).message, code: (error as LedgerError).code };
        }
        throw new Error(`resolveTaskId(${JSON.stringify(given)}) found a task`);
      };
      expect(await refusal("9xyz")).toEqual({
        message:
          'task id "9xyz" is ambiguous: 2 tasks end with it (01BBBBBBBBBBBBBBBBBBBQ9XYZ, 01AAAAAAAAAAAAAAAAAAAZ9XYZ); give more of the id',
        code: "invalid",
      });
      expect(await refusal("WXYZ")).toEqual({
        message: 'no task with id "WXYZ"',
        code: "not_found",
      });
      expect(await refusal("x%yz")).toEqual({
        message: 'no task with id "x%yz"',
        code: "not_found",
      });
      expect(await refusal("xyz")).toEqual({
        message: 'task id "xyz" is too short: give the full id or at least its last 4 characters',
        code: "invalid",
      });
    });
  });

  describe("filing follow-ups again", () => {
    it("returns the task already filed when a retried agent files the same follow-up", async () => {
      const { ledger } = await open();
      const parent = await ledger.insertTask({ agentOwner: "design", title: "spec" });
      const child = {
        agentOwner: "code",
        title: "build it",
        parentTaskId: parent.id,
        createdBy: "design",
      };
      const first = await ledger.insertTask(child);
      const again = await ledger.insertTask({ ...child, description: "second attempt's words" });
      expect(again.id).toBe(first.id);
      expect(await ledger.countTasks()).toBe(2);
      // Another creator, or a killed twin, files a new task.
      expect((await ledger.insertTask({ ...child, createdBy: "cli" })).id).not.toBe(first.id);
      await ledger.kill(first.id);
      expect((await ledger.insertTask(child)).id).not.toBe(first.id);
      expect((await ledger.verifyAuditChain()).ok).toBe(true);
    });
  });

  describe("insertTasks", () => {
    it("files a batch whose tasks refer to each other by ref", async () => {
      const { ledger } = await open();
      const [spec, build, test] = await ledger.insertTasks([
        { ref: "spec", agentOwner: "design", title: "spec" },
        {
          ref: "build",
          agentOwner: "code",
          title: "build",
          parentTaskId: "spec",
          dependsOn: ["spec"],
        },
        { agentOwner: "qa", title: "test", parentTaskId: "spec", dependsOn: ["build", "spec"] },
      ]);
      expect(build!.parentTaskId).toBe(spec!.id);
      expect(build!.dependsOn).toEqual([spec!.id]);
      expect(test!.dependsOn).toEqual([build!.id, spec!.id]);
    });

    it("is all or nothing: one bad task files none", async () => {
      const { ledger } = await open();
      const error = await ledger
        .insertTasks([
          { agentOwner: "code", title: "good one" },
          { agentOwner: "code", title: "" },
        ])
        .catch((e: unknown) => e as Error);
      expect((error as Error).message).toBe('task 2 of 2 (""): title must not be empty');
      expect(await ledger.countTasks()).toBe(0);
    });

    it("refuses a dependency cycle inside a batch, naming it", async () => {
      const { ledger } = await open();
      const error = await ledger
        .insertTasks([
          { ref: "a", agentOwner: "code", title: "a", dependsOn: ["c"] },
          { ref: "b", agentOwner: "code", title: "b", dependsOn: ["a"] },
          { ref: "c", agentOwner: "code", title: "c", dependsOn: ["b"] },
        ])
        .catch((e: unknown) => e as Error);
      expect((error as Error).message).toBe("dependency cycle: a -> c -> b -> a");
      expect(await ledger.countTasks()).toBe(0);
    });

    it("refuses a task that depends on itself", async () => {
      const { ledger } = await open();
      const error = await ledger
        .insertTasks([{ ref: "a", agentOwner: "code", title: "a", dependsOn: ["a"] }])
        .catch((e: unknown) => e as Error);
      expect((error as Error).message).toBe("dependency cycle: a -> a");
    });

    it("refuses a parent ref that comes later and duplicate refs", async () => {
      const { ledger } = await open();
      const later = await ledger
        .insertTasks([
          { agentOwner: "code", title: "child", parentTaskId: "p" },
          { ref: "p", agentOwner: "design", title: "parent" },
        ])
        .catch((e: unknown) => e as Error);
      expect((later as Error).message).toBe(
        'task 1 of 2 ("child"): parent "p" must come before the tasks that name it',
      );
      const dup = await ledger
        .insertTasks([
          { ref: "p", agentOwner: "code", title: "one" },
          { ref: "p", agentOwner: "code", title: "two" },
        ])
        .catch((e: unknown) => e as Error);
      expect((dup as Error).message).toBe('task 2 of 2 ("two"): ref "p" is used by two tasks');
      expect(await ledger.countTasks()).toBe(0);
    });

    it("refuses an empty batch", async () => {
      const { ledger } = await open();
      await expect(ledger.insertTasks([])).rejects.toThrow(
        "nothing to insert: give at least one task",
      );
    });
  });

  describe("claimNext", () => {
    it("takes the highest priority first, then the oldest", async () => {
      const { ledger, clock } = await open();
      const low = await ledger.insertTask({ agentOwner: "code", title: "low", priority: 7 });
      clock.advance(1000);
      const highOld = await ledger.insertTask({
        agentOwner: "code",
        title: "high old",
        priority: 2,
      });
      clock.advance(1000);
      const highNew = await ledger.insertTask({
        agentOwner: "code",
        title: "high new",
        priority: 2,
      });
      await ledger.insertTask({ agentOwner: "qa", title: "other role", priority: 1 });
      const order: string[] = [];
      for (;;) {
        const t = await ledger.claimNext("code");
        if (!t) break;
        order.push(t.id);
      }
      expect(order).toEqual([highOld.id, highNew.id, low.id]);
    });

    it("waits for dependencies to be done", async () => {
      const { ledger } = await open();
      const spec = await ledger.insertTask({ agentOwner: "design", title: "spec" });
      const build = await ledger.insertTask({
        agentOwner: "code",
        title: "build",
        dependsOn: [spec.id],
      });
      expect(await ledger.claimNext("code")).toBeNull();
      const claimed = (await ledger.claimNext("design"))!;
      // A failed attempt that will be retried does not unblock dependents.
      await ledger.fail(claimed.id, claimed.claimToken!, {
        error: "boom",
        retryAt: "2026-05-06T09:00:00Z",
      });
      expect(await ledger.claimNext("code")).toBeNull();
      const again = (await ledger.claimNext("design"))!;
      await ledger.complete(again.id, again.claimToken!);
      expect((await ledger.claimNext("code"))?.id).toBe(build.id);
    });

    it("counts a dependency that was already done at filing time", async () => {
      const { ledger } = await open();
      const spec = await ledger.insertTask({ agentOwner: "design", title: "spec" });
      const c = (await ledger.claimNext("design"))!;
      await ledger.complete(c.id, c.claimToken!);
      const build = await ledger.insertTask({
        agentOwner: "code",
        title: "build",
        dependsOn: [spec.id],
      });
      expect((await ledger.claimNext("code"))?.id).toBe(build.id);
    });

    it("respects not_before", async () => {
      const { ledger, clock } = await open();
      const later = await ledger.insertTask({
        agentOwner: "code",
        title: "later",
        notBefore: "2026-05-06T10:00:00Z",
      });
      expect(await ledger.claimNext("code")).toBeNull();
      clock.set("2026-05-06T09:59:59.999Z");
      expect(await ledger.claimNext("code")).toBeNull();
      clock.set("2026-05-06T10:00:00Z");
      expect((await ledger.claimNext("code"))?.id).toBe(later.id);
    });

    it("gives each claim a fresh token, a lease and an attempt", async () => {
      const { ledger } = await open();
      const t = await ledger.insertTask({ agentOwner: "code", title: "t" });
      const first = (await ledger.claimNext("code", { leaseMs: 30_000, claimedBy: "hostA:42" }))!;
      expect(first).toMatchObject({
        id: t.id,
        status: "in_progress",
        attempts: 1,
        claimedBy: "hostA:42",
        leaseExpiresAt: "2026-05-06T09:00:30.000Z",
        startedAt: "2026-05-06T09:00:00.000Z",
      });
      await ledger.fail(t.id, first.claimToken!, {
        error: "nope",
        retryAt: "2026-05-06T09:00:00Z",
      });
      const second = (await ledger.claimNext("code"))!;
      expect(second.attempts).toBe(2);
      expect(second.claimToken).not.toBe(first.claimToken);
      const attempts = await ledger.listAttempts(t.id);
      expect(attempts.map((a) => [a.attempt, a.outcome, a.error])).toEqual([
        [1, "retry", "nope"],
        [2, "running", null],
      ]);
    });

    it("lists every attempt with how it ended, numbered 1..N across releases and requeues", async () => {
      const { ledger, clock, raw } = await open();
      const t = await ledger.insertTask({ agentOwner: "code", title: "t" });
      const run = async (minutes: number) => {
        const claimed = (await ledger.claimNext("code", { leaseMs: 60_000 }))!;
        clock.advance(minutes * 60_000);
        return claimed;
      };
      const first = await run(1);
      await ledger.release(t.id, first.claimToken!, "shutting down");
      await run(2);
      expect((await ledger.recoverExpiredLeases()).map((r) => r.id)).toEqual([t.id]);
      await run(1);
      await ledger.kill(t.id, { reason: "wrong brief" });
      await ledger.requeue(t.id);
      const last = await run(3);
      await ledger.complete(t.id, last.claimToken!, { costUsd: 0.25 });
      const attempts = await ledger.listAttempts(t.id);
      expect(attempts.map((a) => [a.attempt, a.outcome, a.error, a.costUsd])).toEqual([
        [1, "released", "shutting down", 0],
        [2, "recovered", expect.stringContaining("lease"), 0],
        [3, "killed", "wrong brief", 0],
        [4, "done", null, 0.25],
      ]);
      // Numbered over the task's life: neither the release nor the requeue restarts them,
      // while the count the retry limit is measured by restarts with the requeue.
      expect((await ledger.getTask(t.id))!.attempts).toBe(1);
      // The log itself stores those numbers, as each claim ended.
      const [row] = await raw("SELECT attempt_log FROM tasks WHERE id = ?", t.id);
      const stored = String(row!.attempt_log)
        .trim()
        .split("\n")
        .map((line) => (JSON.parse(line) as { attempt: number }).attempt);
      expect(stored).toEqual([1, 2, 3, 4]);
      expect(attempts.map((a) => [a.startedAt, a.finishedAt])).toEqual([
        ["2026-05-06T09:00:00.000Z", "2026-05-06T09:01:00.000Z"],
        ["2026-05-06T09:01:00.000Z", "2026-05-06T09:03:00.000Z"],
        ["2026-05-06T09:03:00.000Z", "2026-05-06T09:04:00.000Z"],
        ["2026-05-06T09:04:00.000Z", "2026-05-06T09:07:00.000Z"],
      ]);
      expect(attempts.every((a) => a.taskId === t.id)).toBe(true);
      // Another task's history stays its own, and an unknown id has none.
      expect(await ledger.listAttempts("01NOPE")).toEqual([]);
    });
  });

  describe("claim lifecycle", () => {
    it("completes with cost, tokens, model and result", async () => {
      const { ledger } = await open();
      await ledger.insertTask({ agentOwner: "code", title: "t" });
      const c = (await ledger.claimNext("code"))!;
      const done = await ledger.complete(c.id, c.claimToken!, {
        costUsd: 0.0123,
        actualCostUsd: 0.012,
        usage: {
          inputTokens: 1000,
          outputTokens: 50,
          cacheCreationTokens: 200,
          cacheReadTokens: 300,
        },
        model: "claude-sonnet-4-5",
        result: "built it",
      });
      expect(done).toMatchObject({
        status: "done",
        costUsd: 0.0123,
        actualCostUsd: 0.012,
        inputTokens: 1000,
        outputTokens: 50,
        cacheCreationTokens: 200,
        cacheReadTokens: 300,
        model: "claude-sonnet-4-5",
        result: "built it",
        claimToken: null,
        leaseExpiresAt: null,
        finishedAt: "2026-05-06T09:00:00.000Z",
      });
    });

    it("escalates and fails for good", async () => {
      const { ledger } = await open();
      const a = await ledger.insertTask({ agentOwner: "code", title: "a" });
      const b = await ledger.insertTask({ agentOwner: "code", title: "b" });
      const ca = (await ledger.claimNext("code"))!;
      const cb = (await ledger.claimNext("code"))!;
      expect((await ledger.escalate(ca.id, ca.claimToken!, "three strikes")).status).toBe(
        "escalated",
      );
      const failed = await ledger.fail(cb.id, cb.claimToken!, { error: "prompt file missing" });
      expect(failed).toMatchObject({ status: "failed", lastError: "prompt file missing" });
      expect([a.id, b.id]).toContain(failed.id);
    });

    it("releases a claim without counting the attempt", async () => {
      const { ledger } = await open();
      await ledger.insertTask({ agentOwner: "code", title: "t" });
      const c = (await ledger.claimNext("code"))!;
      const released = await ledger.release(c.id, c.claimToken!, "shutting down");
      expect(released).toMatchObject({ status: "pending", attempts: 0 });
    });

    it("refuses an outcome from a stale claim token", async () => {
      const { ledger, clock } = await open();
      await ledger.insertTask({ agentOwner: "code", title: "t" });
      const c = (await ledger.claimNext("code", { leaseMs: 1000 }))!;
      clock.advance(1001);
      const recovered = await ledger.recoverExpiredLeases({ actor: "producer" });
      expect(recovered.map((t) => [t.id, t.status, t.attempts])).toEqual([[c.id, "pending", 1]]);
      expect(recovered[0]!.lastError).toBe(
        "lease expired: the worker holding it stopped renewing it",
      );
      const again = (await ledger.claimNext("code"))!;
      await expect(ledger.complete(c.id, c.claimToken!)).rejects.toThrow(
        `the claim on task ${c.id} is no longer held by this worker (its lease expired and it was recovered); the outcome was not recorded`,
      );
      expect((await ledger.complete(again.id, again.claimToken!)).status).toBe("done");
    });

    it("extends a lease with a heartbeat so it is not recovered", async () => {
      const { ledger, clock } = await open();
      await ledger.insertTask({ agentOwner: "code", title: "t" });
      const c = (await ledger.claimNext("code", { leaseMs: 1000 }))!;
      clock.advance(800);
      expect(await ledger.heartbeat(c.id, c.claimToken!, 1000)).toBe(true);
      clock.advance(800);
      expect(await ledger.recoverExpiredLeases()).toEqual([]);
      expect(await ledger.heartbeat(c.id, "not-the-token", 1000)).toBe(false);
    });

    it("recovers claims of dead processes on this host at once", async () => {
      const { ledger } = await open();
      await ledger.insertTask({ agentOwner: "code", title: "t1" });
      await ledger.insertTask({ agentOwner: "code", title: "t2" });
      const identity = ledger.workerIdentity;
      const host = identity.slice(0, identity.lastIndexOf(":"));
      const dead = (await ledger.claimNext("code", { claimedBy: `${host}:999999` }))!;
      const alive = (await ledger.claimNext("code", { claimedBy: `${host}:${process.pid}` }))!;
      const recovered = await ledger.recoverDeadClaims((pid) => pid === process.pid);
      expect(recovered.map((t) => t.id)).toEqual([dead.id]);
      expect((await ledger.getTask(alive.id))!.status).toBe("in_progress");
    });
  });

  describe("human actions and illegal transitions", () => {
    async function taskIn(
      status: "pending" | "in_progress" | "done" | "failed" | "escalated" | "killed",
    ) {
      const env = await open();
      const t = await env.ledger.insertTask({ agentOwner: "code", title: "t" });
      if (status === "pending") return { ...env, id: t.id, token: undefined };
      if (status === "killed") {
        await env.ledger.kill(t.id);
        return { ...env, id: t.id, token: undefined };
      }
      const c = (await env.ledger.claimNext("code"))!;
      if (status === "done") await env.ledger.complete(c.id, c.claimToken!);
      if (status === "failed") await env.ledger.fail(c.id, c.claimToken!, { error: "x" });
      if (status === "escalated") await env.ledger.escalate(c.id, c.claimToken!, "x");
      return { ...env, id: t.id, token: c.claimToken as string | undefined };
    }

    it("requeues failed, escalated and killed tasks with fresh retries", async () => {
      for (const status of ["failed", "escalated", "killed"] as const) {
        const { ledger, id } = await taskIn(status);
        const t = await ledger.requeue(id, { actor: "cli", reason: "fixed the prompt" });
        expect(t).toMatchObject({ status: "pending", attempts: 0 });
        const audit = await ledger.recentAudit(1, id);
        expect(audit[0]).toMatchObject({ actor: "cli", action: "task.requeued" });
      }
    });

    it("kills and reroutes", async () => {
      const { ledger, id } = await taskIn("escalated");
      const rerouted = await ledger.reroute(id, "qa", { actor: "ui" });
      expect(rerouted).toMatchObject({ agentOwner: "qa", status: "pending" });
      const killed = await ledger.kill(id, { reason: "not needed" });
      expect(killed).toMatchObject({ status: "killed", lastError: "killed: not needed" });
    });

    const illegal: [string, Parameters<typeof taskIn>[0], string][] = [
      [
        "requeue",
        "pending",
        "cannot requeue task ID: it is pending (requeue works on failed, escalated, killed tasks)",
      ],
      [
        "requeue",
        "done",
        "cannot requeue task ID: it is done (requeue works on failed, escalated, killed tasks)",
      ],
      [
        "requeue",
        "in_progress",
        "cannot requeue task ID: it is in progress (requeue works on failed, escalated, killed tasks)",
      ],
      [
        "kill",
        "done",
        "cannot kill task ID: it is done (kill works on awaiting approval, pending, in progress, failed, escalated tasks)",
      ],
      [
        "kill",
        "killed",
        "cannot kill task ID: it is killed (kill works on awaiting approval, pending, in progress, failed, escalated tasks)",
      ],
      [
        "reroute",
        "done",
        "cannot reroute task ID: it is done (reroute works on awaiting approval, pending, failed, escalated tasks)",
      ],
      [
        "reroute",
        "in_progress",
        "cannot reroute task ID: it is in progress (reroute works on awaiting approval, pending, failed, escalated tasks)",
      ],
    ];
    for (const [action, status, message] of illegal) {
      it(`refuses to ${action} a ${status} task`, async () => {
        const { ledger, id } = await taskIn(status);
        const before = await ledger.auditHead();
        const run =
          action === "requeue"
            ? ledger.requeue(id)
            : action === "kill"
              ? ledger.kill(id)
              : ledger.reroute(id, "qa");
        await expect(run).rejects.toThrow(message.replace("ID", id));
        expect(await ledger.auditHead()).toEqual(before);
      });
    }

    it("refuses to complete a task that is not claimed", async () => {
      const { ledger, id } = await taskIn("pending");
      await expect(ledger.complete(id, "whatever")).rejects.toThrow(
        `task ${id} is pending, not in progress: only a claimed task can be completed`,
      );
      const done = await taskIn("done");
      await expect(done.ledger.fail(done.id, done.token!, { error: "x" })).rejects.toThrow(
        `task ${done.id} is done, not in progress: only a claimed task can be failed`,
      );
    });

    it("refuses unknown ids and unknown roles on reroute", async () => {
      const { ledger, id } = await taskIn("failed");
      await expect(ledger.requeue("01NOPE")).rejects.toThrow('no task with id "01NOPE"');
      await expect(ledger.reroute(id, "qaa")).rejects.toThrow(
        'unknown role "qaa" (did you mean "qa"?); the roles are: producer, design, code, qa',
      );
    });
  });

  describe("decisions and assets", () => {
    it("records and lists them per task", async () => {
      const { ledger } = await open();
      const t = await ledger.insertTask({ agentOwner: "code", title: "t" });
      const d = await ledger.recordDecision({
        taskId: t.id,
        agentOwner: "code",
        kind: "implementation",
        decisionText: "Used a reducer",
        rationale: "Per spec §2.",
      });
      const a = await ledger.registerAsset({
        taskId: t.id,
        agentOwner: "code",
        path: "./src//login.ts",
      });
      expect(a.path).toBe("src/login.ts");
      expect(await ledger.listDecisions({ taskId: t.id })).toEqual([d]);
      expect(await ledger.listAssets({ taskId: t.id })).toEqual([a]);
    });

    it("refuses asset paths outside the project and decisions on missing tasks", async () => {
      const { ledger } = await open();
      await expect(
        ledger.registerAsset({ agentOwner: "code", path: "../../etc/passwd" }),
      ).rejects.toThrow('asset path "../../etc/passwd" points outside the project');
      await expect(
        ledger.registerAsset({ agentOwner: "code", path: "/etc/passwd" }),
      ).rejects.toThrow('asset path "/etc/passwd" must be relative to the project root');
      // Backslashes are separators too: judged after they become slashes.
      await expect(
        ledger.registerAsset({ agentOwner: "code", path: "a\\..\\..\\..\\etc\\passwd" }),
      ).rejects.toThrow('asset path "a\\..\\..\\..\\etc\\passwd" points outside the project');
      await expect(
        ledger.registerAsset({ agentOwner: "code", path: "\\etc\\passwd" }),
      ).rejects.toThrow("must be relative to the project root");
      await expect(
        ledger.recordDecision({ taskId: "01NOPE", agentOwner: "code", decisionText: "x" }),
      ).rejects.toThrow('no task with id "01NOPE"');
      await expect(
        ledger.recordDecision({ agentOwner: "code", decisionText: "  " }),
      ).rejects.toThrow("decision text must not be empty");
    });
  });

  describe("errors carry a code", () => {
    it("says invalid, not_found, transition or conflict, so callers need not ask again", async () => {
      const { ledger } = await open();
      const code = async (work: Promise<unknown>) => {
        const error = await work.then(
          () => null,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(LedgerError);
        return (error as LedgerError).code;
      };
      expect(await code(ledger.insertTask({ agentOwner: "nobody", title: "t" }))).toBe("invalid");
      expect(await code(ledger.requeue("01NOSUCHTASK"))).toBe("not_found");
      expect(
        await code(ledger.insertTask({ agentOwner: "code", title: "t", parentTaskId: "01NONE" })),
      ).toBe("not_found");
      const task = await ledger.insertTask({ agentOwner: "code", title: "t" });
      expect(await code(ledger.requeue(task.id))).toBe("transition");
      expect(await code(ledger.reroute(task.id, "code"))).toBe("transition");
      const claimed = (await ledger.claimNext("code"))!;
      expect(await code(ledger.complete(claimed.id, "not-the-token"))).toBe("conflict");
      await ledger.complete(claimed.id, claimed.claimToken!);
      expect(await code(ledger.complete(claimed.id, claimed.claimToken!))).toBe("transition");
      expect(await code(ledger.releaseBudget("01NOSUCHHOLD"))).toBe("not_found");
    });
  });

  describe("watch", () => {
    it("calls back soon after a commit, and not after it was stopped", async () => {
      const { ledger } = await open();
      let calls = 0;
      let woke: () => void = () => {};
      const wake = new Promise<void>((resolve) => {
        woke = resolve;
      });
      const stop = ledger.watch(() => {
        calls++;
        woke();
      });
      await ledger.insertTask({ agentOwner: "code", title: "wake the loop" });
      await Promise.race([
        wake,
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error("no change seen in 5 s")), 5_000),
        ),
      ]);
      expect(calls).toBeGreaterThan(0);
      stop();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const seen = calls;
      await ledger.insertTask({ agentOwner: "code", title: "nobody listens" });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(calls).toBe(seen);
    });
  });
}
