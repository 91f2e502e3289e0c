import { existsSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KillSwitchWatcher, Producer } from "../src/index.js";
import { execRole, producerProject } from "./helpers/producer.js";

describe("Producer: retries and escalation", () => {
  it("retries 3 times with exponential backoff, then escalates with a file a human can act on", async () => {
    const p = await producerProject(
      "retry:\n  max_retries: 3\n  backoff_seconds: 10\n",
      execRole("code") + execRole("qa"),
    );
    const parent = await p.ledger.insertTask({ agentOwner: "qa", title: "Parent spec" });
    const task = await p.ledger.insertTask({
      agentOwner: "code",
      title: "Build the widget",
      description: "Make the widget spin.",
      payload: { action: "fail", message: "widget missing" },
      parentTaskId: parent.id,
    });
    await p.ledger.kill(parent.id); // keep the parent out of the way
    for (const wait of [10, 20, 40]) {
      await p.producer.run({ once: true });
      const t = (await p.ledger.getTask(task.id))!;
      expect(t.status).toBe("pending");
      expect(t.notBefore).toBe(new Date(p.clock.now() + wait * 1000).toISOString());
      // Not claimable before the backoff ends.
      await p.producer.run({ once: true });
      expect(p.named("claimed").length).toBe([10, 20, 40].indexOf(wait) + 1);
      p.clock.advance(wait * 1000);
    }
    await p.producer.run({ once: true });
    const escalated = (await p.ledger.getTask(task.id))!;
    expect(escalated).toMatchObject({ status: "escalated", attempts: 4 });
    expect(p.named("retry_scheduled").map((e) => e.inSeconds)).toEqual([10, 20, 40]);
    expect(p.named("failed").map((e) => e.next)).toEqual(["retry", "retry", "retry", "escalated"]);

    const file = join(p.config.escalationsDir, `${task.id}.md`);
    expect(p.named("escalated")[0]).toMatchObject({ taskId: task.id, file, attempts: 4 });
    const text = readFileSync(file, "utf8");
    expect(text).toContain("# Escalated: Build the widget");
    expect(text).toContain(`Task \`${task.id}\` for the **code** role in looptest failed 4 times`);
    expect(
      text.match(/\| \d \| .+ \| retry \| the agent exited with code 1: widget missing \|/g),
    ).toHaveLength(3);
    expect(text).toMatch(
      /\| 4 \| .+ \| escalated \| the agent exited with code 1: widget missing \|/,
    );
    expect(text).toContain("Make the widget spin.");
    expect(text).toContain('"message": "widget missing"');
    expect(text).toContain(`- Parent: \`${parent.id}\` (qa): Parent spec`);
    expect(text).toContain(`producer task requeue ${task.id}`);
    expect(text).toContain(`producer task reroute ${task.id} qa`);
    expect(text).toContain(`producer task kill ${task.id} --reason "..."`);

    const notes = await p.ledger.listNotifications();
    expect(notes.filter((n) => n.kind === "escalation")).toHaveLength(1);
    expect(readFileSync(join(p.config.agentStateDir, "needs-attention.md"), "utf8")).toContain(
      "Escalated: Build the widget",
    );
  });

  it("fails at once, without retries, when the role's prompt file is missing", async () => {
    // Named in producer.yaml, the prompt is required even of an exec role.
    const p = await producerProject(
      "",
      execRole("code", "    prompt: agents/code/system_prompt.md\n"),
    );
    unlinkSync(p.config.agents.code!.prompt);
    const task = await p.ledger.insertTask({ agentOwner: "code", title: "t" });
    await p.producer.run({ once: true });
    const t = (await p.ledger.getTask(task.id))!;
    expect(t.status).toBe("failed");
    expect(t.lastError).toBe(
      `the system prompt of this role cannot be read at ${p.config.agents.code!.prompt} (ENOENT): create it or fix agents.<role>.prompt`,
    );
    expect(p.named("failed")[0]).toMatchObject({ kind: "setup", next: "failed" });
  });
});

describe("Producer: budget", () => {
  it("leaves a task pending when the budget refuses, and notifies once", async () => {
    const p = await producerProject(
      "",
      "  code:\n    daily_cap_usd: 0.05\n    dispatch_reservation_usd: 0.04\n    runtime: exec\n" +
        `    command: ${JSON.stringify([process.execPath, join(import.meta.dirname, "fixtures", "producer-agent.mjs")])}\n`,
    );
    const first = await p.ledger.insertTask({
      agentOwner: "code",
      title: "one",
      payload: { cost: 0.03 },
    });
    const second = await p.ledger.insertTask({
      agentOwner: "code",
      title: "two",
      payload: { cost: 0.03 },
    });
    await p.producer.run({ once: true });
    await p.producer.run({ once: true });
    expect((await p.ledger.getTask(first.id))!.status).toBe("done");
    expect((await p.ledger.getTask(second.id))!).toMatchObject({ status: "pending", attempts: 0 });
    const capHits = (await p.ledger.listNotifications()).filter((n) => n.kind === "cap_hit");
    expect(capHits).toHaveLength(1);
    expect(capHits[0]!.title).toBe("[CAP HIT] code");
    expect(p.named("budget_refused")).toHaveLength(1);
    expect(p.named("failed")).toHaveLength(0);
  });
});

describe("Producer: the brake", () => {
  it("halts dispatch at the next poll while the call in flight finishes", async () => {
    const p = await producerProject("", execRole("code"));
    const slow = await p.ledger.insertTask({
      agentOwner: "code",
      title: "slow",
      payload: { action: "sleep", ms: 800 },
    });
    const next = await p.ledger.insertTask({ agentOwner: "code", title: "next" });
    const running = p.producer.run();
    await p.until(() => p.named("claimed").length === 1);
    await new KillSwitchWatcher(p.config.killSwitch, { ledger: p.ledger }).arm("freeze", "tester");
    await p.until(() => p.named("succeeded").length === 1);
    await new Promise((r) => setTimeout(r, 400));
    expect((await p.ledger.getTask(slow.id))!.status).toBe("done");
    expect((await p.ledger.getTask(next.id))!.status).toBe("pending");
    expect(p.named("kill_armed")).toEqual([{ reason: "freeze", by: "tester", auto: false }]);
    await new KillSwitchWatcher(p.config.killSwitch, { ledger: p.ledger }).disarm("tester");
    await p.until(async () => (await p.ledger.getTask(next.id))!.status === "done");
    expect(p.named("kill_disarmed")).toHaveLength(1);
    p.producer.stop();
    await running;
  });

  it("arms itself after 5 failures of one role within 10 minutes", async () => {
    const p = await producerProject("retry:\n  max_retries: 0\n", execRole("code"));
    for (let i = 0; i < 6; i++) {
      await p.ledger.insertTask({
        agentOwner: "code",
        title: `bad ${i}`,
        payload: { action: "fail" },
      });
    }
    await p.producer.run({ once: true });
    expect(p.named("claimed")).toHaveLength(5);
    expect(p.named("kill_armed")).toEqual([
      {
        reason: "auto-armed: 5 failures of role code within 10 minutes",
        by: "producer",
        auto: true,
      },
    ]);
    expect(await p.ledger.countTasks({ status: "pending" })).toBe(1);
    expect(
      (await p.ledger.listNotifications()).filter((n) => n.kind === "kill_armed"),
    ).toHaveLength(1);
  });
});

describe("Producer: idleness", () => {
  it("notifies once when idle and once when work resumes, on one phone notice", async () => {
    const p = await producerProject("idle_threshold_polls: 3\n", execRole("code"));
    const running = p.producer.run();
    await p.until(() => p.named("started").length === 1);
    // 3 polls of 0.05 s: idle once that much time has passed on the clock.
    p.clock.advance(150);
    await p.until(() => p.named("idle").length === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(p.named("idle")).toHaveLength(1);
    expect(p.named("idle")[0]!.reason).toBe(
      "the queue is empty: no agent filed follow-up work (check that each role's prompt files its downstream tasks), or add tasks with `producer task add`",
    );
    await p.ledger.insertTask({ agentOwner: "code", title: "work" });
    await p.until(() => p.named("back_online").length === 1);
    p.producer.stop();
    await running;
    const notes = await p.ledger.listNotifications();
    const idle = notes.filter((n) => n.kind === "idle");
    const back = notes.filter((n) => n.kind === "back_online");
    expect(idle).toHaveLength(1);
    expect(back).toHaveLength(1);
    expect(idle[0]!.sequenceId).toBe(back[0]!.sequenceId);
    // Back online resolved the idle item: nothing is left for a human, so no file either.
    expect(await p.ledger.listAttention()).toEqual([]);
    const [resolved] = await p.ledger.listAttention({ all: true });
    expect(resolved).toMatchObject({ id: idle[0]!.id, resolvedBy: "producer" });
    expect(existsSync(join(p.config.agentStateDir, "needs-attention.md"))).toBe(false);
  });

  it("explains idleness caused by unfinished dependencies", async () => {
    const p = await producerProject("idle_threshold_polls: 2\n", execRole("code"));
    const blocker = await p.ledger.insertTask({
      agentOwner: "code",
      title: "blocker",
      payload: { action: "fail" },
    });
    await p.ledger.insertTask({ agentOwner: "code", title: "blocked", dependsOn: [blocker.id] });
    await p.ledger.kill(blocker.id);
    const running = p.producer.run();
    await p.until(() => p.named("started").length === 1);
    p.clock.advance(100);
    await p.until(() => p.named("idle").length === 1);
    p.producer.stop();
    await running;
    expect(p.named("idle")[0]!.reason).toBe(
      "nothing is ready to run: 1 waiting on dependencies that are not done; check escalated or failed tasks they depend on with `producer status`",
    );
  });
});

describe("Producer: concurrency", () => {
  it("never runs more than max_concurrent_dispatches, nor more than a role's max_concurrent", async () => {
    const p = await producerProject(
      "max_concurrent_dispatches: 3\n",
      execRole("code", "    max_concurrent: 2\n") + execRole("qa", "    max_concurrent: 2\n"),
    );
    for (let i = 0; i < 6; i++) {
      await p.ledger.insertTask({
        agentOwner: "code",
        title: `c${i}`,
        payload: { action: "sleep", ms: 300 },
      });
      await p.ledger.insertTask({
        agentOwner: "qa",
        title: `q${i}`,
        payload: { action: "sleep", ms: 300 },
      });
    }
    await p.producer.run({ once: true });
    expect(await p.ledger.countTasks({ status: "done" })).toBe(12);
    // Sweep the agents' own start/end times.
    const lines = p.agentLines().sort((a, b) => a.t - b.t || (a.event === "end" ? -1 : 1));
    let total = 0;
    let maxTotal = 0;
    const perRole = new Map<string, number>();
    const maxPerRole = new Map<string, number>();
    const roleOf = new Map<string, string>();
    for (const line of lines) {
      if (line.event === "start") roleOf.set(line.task, line.role);
      const role = roleOf.get(line.task)!;
      const delta = line.event === "start" ? 1 : -1;
      total += delta;
      perRole.set(role, (perRole.get(role) ?? 0) + delta);
      maxTotal = Math.max(maxTotal, total);
      maxPerRole.set(role, Math.max(maxPerRole.get(role) ?? 0, perRole.get(role)!));
    }
    expect(maxTotal).toBe(3);
    expect(maxPerRole.get("code")).toBeLessThanOrEqual(2);
    expect(maxPerRole.get("qa")).toBeLessThanOrEqual(2);
  });
});

describe("Producer: waking", () => {
  it("recovers another worker's expired lease while its only slot is busy, then runs that task", async () => {
    const p = await producerProject("max_concurrent_dispatches: 1\n", execRole("code"));
    const slow = await p.ledger.insertTask({
      agentOwner: "code",
      title: "slow",
      payload: { action: "sleep", ms: 3000 },
    });
    const running = p.producer.run();
    await p.until(() => p.named("claimed").length === 1);
    // Another worker claims the next task and vanishes. Its claim is a ledger commit that
    // arrives while the one slot is busy: the lease must still be recovered on time.
    const orphan = await p.ledger.insertTask({ agentOwner: "code", title: "orphan" });
    const taken = await p.ledger.claimNext("code", { leaseMs: 1000, claimedBy: "elsewhere:1" });
    expect(taken?.id).toBe(orphan.id);
    p.clock.advance(2000);
    await p.until(() => p.named("recovered").length === 1, 2000);
    expect(p.named("recovered")[0]).toMatchObject({ taskId: orphan.id });
    expect((await p.ledger.getTask(slow.id))!.status).toBe("in_progress");
    await p.until(async () => (await p.ledger.getTask(orphan.id))!.status === "done");
    p.producer.stop();
    await running;
  });

  it("with --once, looks for expired leases before it calls the queue drained", async () => {
    const p = await producerProject("max_concurrent_dispatches: 1\n", execRole("code"));
    // No timer poll during the run: lease recovery is not due again after the first poll.
    const producer = new Producer({
      config: { ...p.config, pollIntervalSeconds: 30 },
      ledger: p.ledger,
      clock: p.clock,
      env: { PATH: process.env.PATH },
    });
    const claimed: string[] = [];
    producer.events.on("claimed", (e) => claimed.push(e.taskId));
    await p.ledger.insertTask({
      agentOwner: "code",
      title: "slow",
      payload: { action: "sleep", ms: 800 },
    });
    const running = producer.run({ once: true });
    await p.until(() => claimed.length === 1);
    // Another worker's claim runs out while ours is in flight.
    const orphan = await p.ledger.insertTask({ agentOwner: "code", title: "orphan" });
    await p.ledger.claimNext("code", { leaseMs: 1000, claimedBy: "elsewhere:1" });
    p.clock.advance(2000);
    await running;
    expect((await p.ledger.getTask(orphan.id))!.status).toBe("done");
  });

  it("notices the brake through the ledger's commit while its only slot is busy and the switch's folder cannot be watched", async () => {
    const p = await producerProject("max_concurrent_dispatches: 1\n", execRole("code"));
    // The folder does not exist when the Producer starts, so it cannot watch it.
    const killSwitch = join(p.dir, "not-yet", "kill_switch");
    const producer = new Producer({
      config: { ...p.config, pollIntervalSeconds: 30, killSwitch },
      ledger: p.ledger,
      clock: p.clock,
      env: { PATH: process.env.PATH },
    });
    const seen: string[] = [];
    producer.events.onAny((name) => seen.push(name));
    const slow = await p.ledger.insertTask({
      agentOwner: "code",
      title: "slow",
      payload: { action: "sleep", ms: 5000 },
    });
    const running = producer.run();
    await p.until(() => seen.includes("claimed"));
    // `producer kill --now`: the file, then its audit row (a ledger commit).
    await new KillSwitchWatcher(killSwitch, { ledger: p.ledger }).arm("halt", "tester", "now");
    await p.until(() => seen.includes("kill_armed"), 2000);
    // Armed with --now: the call in flight was aborted and its task given back.
    producer.stop();
    await running;
    expect((await p.ledger.getTask(slow.id))!.status).toBe("pending");
  });

  it("seals what is written while its only slot is busy, without waiting for the next poll", async () => {
    const p = await producerProject("max_concurrent_dispatches: 1\n", execRole("code"));
    const key = "audit-key-waking";
    // No timer poll comes during the test: only the ledger's commits wake the loop.
    const producer = new Producer({
      config: { ...p.config, pollIntervalSeconds: 30 },
      ledger: p.ledger,
      clock: p.clock,
      env: { PATH: process.env.PATH, PRODUCER_AUDIT_KEY: key },
    });
    const claimed: string[] = [];
    producer.events.on("claimed", (e) => claimed.push(e.taskId));
    const slow = await p.ledger.insertTask({
      agentOwner: "code",
      title: "slow",
      payload: { action: "sleep", ms: 3000 },
    });
    const running = producer.run();
    await p.until(() => claimed.length === 1);
    // What an agent would write mid-call, through its own connection to the ledger.
    const before = await p.ledger.verifyAuditChain({ key });
    await p.ledger.appendAudit({ action: "test.note", entityType: "test", actor: "test" });
    await p.until(async () => {
      const now = await p.ledger.verifyAuditChain({ key });
      return now.sealedThrough !== null && now.sealedThrough > before.rowCount;
    }, 2000);
    expect((await p.ledger.getTask(slow.id))!.status).toBe("in_progress");
    producer.stop();
    await running;
  });
});

describe("Producer: guardrails on agent-filed work", () => {
  it("refuses the level past max_depth and the child past max_children_per_task, audited", async () => {
    const p = await producerProject(
      "guardrails:\n  max_depth: 2\n  max_children_per_task: 3\n",
      execRole("code"),
    );
    const root = await p.ledger.insertTask({ agentOwner: "code", title: "root" });
    const d1 = await p.ledger.insertTask({
      agentOwner: "code",
      title: "d1",
      parentTaskId: root.id,
      createdBy: "code",
    });
    const d2 = await p.ledger.insertTask({
      agentOwner: "code",
      title: "d2",
      parentTaskId: d1.id,
      createdBy: "code",
    });
    await expect(
      p.ledger.insertTask({
        agentOwner: "code",
        title: "d3",
        parentTaskId: d2.id,
        createdBy: "code",
      }),
    ).rejects.toThrow(
      "guardrail: this task would sit 3 levels below a human-filed task, past guardrails.max_depth 2; a chain this deep is usually agents filing work for each other in a loop",
    );
    // A human may still file deeper by hand.
    await p.ledger.insertTask({
      agentOwner: "code",
      title: "d3 by hand",
      parentTaskId: d2.id,
      createdBy: "cli",
    });

    // An agent fanning out past the limit, through a real dispatch.
    const fan = await p.ledger.insertTask({
      agentOwner: "code",
      title: "fan out",
      payload: {
        action: "file",
        children: [1, 2, 3, 4].map((n) => ({
          agentOwner: "code",
          title: `child ${n}`,
          payload: { action: "ok" },
        })),
      },
    });
    await p.ledger.kill(root.id);
    for (const id of [d1.id, d2.id]) await p.ledger.kill(id);
    const handFiled = await p.ledger.listTasks({ text: "d3 by hand" });
    await p.ledger.kill(handFiled[0]!.id);
    await p.producer.run({ once: true });
    const children = await p.ledger.listChildren(fan.id);
    expect(
      children.map((c) => c.title),
      `fan task: ${JSON.stringify(await p.ledger.getTask(fan.id))}`,
    ).toEqual(["child 1", "child 2", "child 3"]);
    expect((await p.ledger.getTask(fan.id))!.lastError).toBe(
      `the agent exited with code 1: guardrail: task ${fan.id} already has 3 child tasks; guardrails.max_children_per_task is 3`,
    );
    const refusals = (await p.ledger.recentAudit(200)).filter(
      (a) => a.action === "guardrail.refused",
    );
    expect(refusals.length).toBeGreaterThanOrEqual(2);
    expect((await p.ledger.verifyAuditChain()).ok).toBe(true);
  });
});

describe("Producer: prices", () => {
  it("flags a price table older than 90 days once at start", async () => {
    const p = await producerProject("", execRole("code"));
    p.clock.set("2027-09-01T00:00:00Z");
    await p.producer.run({ once: true });
    await p.producer.run({ once: true });
    expect(p.named("stale_prices")).toHaveLength(2);
    const notes = (await p.ledger.listNotifications()).filter((n) => n.kind === "stale_prices");
    expect(notes[0]!.message).toMatch(
      /^The price table was last checked on \d{4}-\d\d-\d\d \(\d+ days ago\)\. Run `producer pricing update`/,
    );
  });
});

describe("Producer: a prompt file deleted while running", () => {
  it("fails that role's next task with the reason and keeps serving the other roles", async () => {
    const p = await producerProject(
      "",
      execRole("code", "    prompt: agents/code/system_prompt.md\n") + execRole("qa"),
    );
    const running = p.producer.run();
    const first = await p.ledger.insertTask({ agentOwner: "code", title: "before" });
    await p.until(async () => (await p.ledger.getTask(first.id))!.status === "done");
    unlinkSync(p.config.agents.code!.prompt);
    const second = await p.ledger.insertTask({ agentOwner: "code", title: "after" });
    const other = await p.ledger.insertTask({ agentOwner: "qa", title: "other role" });
    await p.until(async () => (await p.ledger.getTask(second.id))!.status === "failed");
    await p.until(async () => (await p.ledger.getTask(other.id))!.status === "done");
    expect((await p.ledger.getTask(second.id))!.lastError).toBe(
      `the system prompt of this role cannot be read at ${p.config.agents.code!.prompt} (ENOENT): create it or fix agents.<role>.prompt`,
    );
    p.producer.stop();
    await running;
  });
});
