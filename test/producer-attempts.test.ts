// One escalation count, and attempt numbers that run on across requeues: the run log, the
// notice, the escalation file and `producer task show` tell the same story.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { attemptLogPath } from "../src/attempts/output-log.js";
import { describeEvent } from "../src/producer/console.js";
import { styleFor } from "../src/text/style.js";
import { runCli } from "./helpers/cli.js";
import { execRole, producerProject } from "./helpers/producer.js";

describe("Producer: escalation counts and attempt numbers", () => {
  it("agree in the event, the notice, the file and task show, numbered 1..N across a requeue", async () => {
    const p = await producerProject(
      "retry:\n  max_retries: 1\n  backoff_seconds: 1\n",
      execRole("code"),
    );
    const task = await p.ledger.insertTask({
      agentOwner: "code",
      title: "Build the widget",
      payload: { action: "fail", message: "widget missing" },
    });
    /** Runs until the task is escalated: one failure, a retry after the backoff, another. */
    const failUntilEscalated = async () => {
      await p.producer.run({ once: true });
      p.clock.advance(1000);
      await p.producer.run({ once: true });
      expect((await p.ledger.getTask(task.id))!.status).toBe("escalated");
    };
    await failUntilEscalated();
    await p.ledger.requeue(task.id);
    await failUntilEscalated();

    // Attempts are numbered across the requeue; the count is the one the retry limit ran out of.
    expect(p.named("claimed").map((e) => e.attempt)).toEqual([1, 2, 3, 4]);
    const escalated = p.named("escalated");
    expect(escalated.map((e) => e.attempts)).toEqual([2, 2]);
    const plain = styleFor(process.stdout, { NO_COLOR: "1" });
    expect(
      describeEvent("escalated", escalated[1] as never, plain)?.includes(
        "escalated after 2 attempts",
      ),
    ).toBe(true);
    const notices = (await p.ledger.listNotifications())
      .filter((n) => n.kind === "escalation")
      .map((n) => n.message);
    expect(notices).toHaveLength(2);
    for (const message of notices) {
      expect(message).toContain(`Task ${task.id} (code) failed 2 times; last error:`);
    }
    const file = readFileSync(join(p.config.escalationsDir, `${task.id}.md`), "utf8");
    expect(file).toContain(
      "failed 2 times since it was last queued (attempts 3 to 4) and is waiting for a human.",
    );
    expect([...file.matchAll(/^\| (\d+) \| \S+ \| (\w+) \|/gm)].map((m) => [m[1], m[2]])).toEqual([
      ["1", "retry"],
      ["2", "escalated"],
      ["3", "retry"],
      ["4", "escalated"],
    ]);
    // Each attempt kept its own output: the requeued attempts did not overwrite 1 and 2.
    for (const n of [1, 2, 3, 4]) {
      expect(existsSync(attemptLogPath(p.config.agentStateDir, task.id, n))).toBe(true);
    }

    const json = await runCli(["task", "show", task.id, "--json"], { cwd: p.dir });
    expect(json.code).toBe(0);
    const detail = JSON.parse(json.stdout) as {
      attempts: { attempt: number; outcome: string; log: string | null }[];
    };
    expect(detail.attempts.map((a) => [a.attempt, a.outcome])).toEqual([
      [1, "retry"],
      [2, "escalated"],
      [3, "retry"],
      [4, "escalated"],
    ]);
    expect(detail.attempts.map((a) => a.log)).toEqual(
      [1, 2, 3, 4].map((n) => attemptLogPath(p.config.agentStateDir, task.id, n)),
    );
    const text = await runCli(["task", "show", task.id], { cwd: p.dir });
    expect(text.stdout).toContain("escalated, 2 attempts since it was last queued, 4 in all\n");
    expect(text.stdout).toMatch(
      /attempts \(4\)\n.*\n +1 .+ retry .*\n +2 .+ escalated .*\n +3 .+ retry .*\n +4 .+ escalated /,
    );
  });
});
