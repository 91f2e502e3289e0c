// Idleness is time with nothing to dispatch, on the Producer's clock: early wake-ups (every
// commit to the ledger wakes the loop) neither start an idle spell nor end one.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { execRole, producerProject } from "./helpers/producer.js";

const WRITER = join(import.meta.dirname, "fixtures", "ledger-writer.mjs");

/** Real time passes (the loop polls on real timers) while the Producer's clock stands still. */
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Producer: idle alerts measured in time", () => {
  it("goes idle once the threshold's time has passed, once per spell, and back online once", async () => {
    // 2,400 polls of 0.05 s: 2 minutes on the clock, while the loop polls every 50 ms for real.
    const p = await producerProject("idle_threshold_polls: 2400\n", execRole("code"));
    const running = p.producer.run();
    await p.until(() => p.named("started").length === 1);
    // Many polls, and commits that wake the loop early, but no time on the clock: not idle.
    for (let i = 0; i < 20; i++) {
      await p.ledger.appendAudit({ action: "test.note", entityType: "test", actor: "test" });
      await pause(15);
    }
    p.clock.advance(119_000);
    await pause(300);
    expect(p.named("idle")).toHaveLength(0);
    p.clock.advance(1_000);
    await p.until(() => p.named("idle").length === 1);
    expect(p.named("idle")[0]).toMatchObject({ quietForSeconds: 120 });
    // The spell goes on: more polls and more time make no second notice.
    p.clock.advance(10 * 60_000);
    await pause(300);
    expect(p.named("idle")).toHaveLength(1);

    await p.ledger.insertTask({ agentOwner: "code", title: "work" });
    await p.until(() => p.named("back_online").length === 1);
    expect(p.named("back_online")[0]).toMatchObject({ idleForSeconds: 12 * 60 });
    await p.until(async () => (await p.ledger.countTasks({ status: "done" })) === 1);
    // A new spell is measured from the end of that work, and gets its own notice.
    p.clock.advance(119_000);
    await pause(300);
    expect(p.named("idle")).toHaveLength(1);
    p.clock.advance(1_000);
    await p.until(() => p.named("idle").length === 2);
    p.producer.stop();
    await running;

    const notes = (await p.ledger.listNotifications()).filter((n) =>
      ["idle", "back_online"].includes(n.kind),
    );
    expect(notes.map((n) => [n.kind, n.message])).toEqual(
      [
        [
          "idle",
          "Nothing was dispatched for 2 min: the queue is empty: no agent filed follow-up work (check that each role's prompt files its downstream tasks), or add tasks with `producer task add`.",
        ],
        ["back_online", "Dispatching again after 12 min idle."],
        [
          "idle",
          "Nothing was dispatched for 2 min: the queue is empty: no agent filed follow-up work (check that each role's prompt files its downstream tasks), or add tasks with `producer task add`.",
        ],
      ].reverse(),
    );
  });

  it("gives no early notice and does not flap while another process writes to the ledger", async () => {
    // 12 polls of 1 s: 12 s on the clock. The writer commits every 10 ms, and each commit
    // wakes the loop for a poll that finds nothing to do.
    const p = await producerProject(
      "poll_interval_seconds: 1\nidle_threshold_polls: 12\n",
      execRole("code") + execRole("qa"),
    );
    const stop = join(p.dir, "stop-writer");
    const writer = spawn(process.execPath, [WRITER, p.config.ledgerDb, "qa", "10", stop], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    writer.stdout.on("data", (d) => {
      out += d;
    });
    const exited = new Promise((r) => writer.on("close", r));
    onTestFinished(async () => {
      writeFileSync(stop, "");
      await exited;
    });
    const decisions = async () => (await p.ledger.listDecisions({ limit: 1000 })).length;
    const running = p.producer.run();
    await p.until(() => p.named("started").length === 1);
    // Far more than 12 early polls, with the clock short of the threshold: no notice.
    const before = await decisions();
    await p.until(async () => (await decisions()) >= before + 60);
    p.clock.advance(11_999);
    const more = await decisions();
    await p.until(async () => (await decisions()) >= more + 30);
    expect(p.named("idle")).toHaveLength(0);
    // The threshold's time passes: one notice, and the writes that go on neither end the
    // spell nor start another.
    p.clock.advance(1);
    await p.until(() => p.named("idle").length === 1);
    const after = await decisions();
    await p.until(async () => (await decisions()) >= after + 60);
    p.clock.advance(60_000);
    const later = await decisions();
    await p.until(async () => (await decisions()) >= later + 30);
    writeFileSync(stop, "");
    await exited;
    expect(JSON.parse(out).written).toBeGreaterThanOrEqual(180);
    p.producer.stop();
    await running;
    const notes = await p.ledger.listNotifications();
    expect(notes.filter((n) => n.kind === "idle")).toHaveLength(1);
    expect(notes.filter((n) => n.kind === "back_online")).toHaveLength(0);
    expect(notes.find((n) => n.kind === "idle")!.message).toMatch(
      /^Nothing was dispatched for 12 s: the queue is empty/,
    );
  });
});
