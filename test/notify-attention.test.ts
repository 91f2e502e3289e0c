import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { ATTENTION_FILE_LIMIT, needsAttentionPath, ProjectNotifier } from "../src/index.js";
import type { Notice } from "../src/notify/notice.js";
import { tempLedger } from "./helpers/ledger.js";

async function notifier() {
  const { ledger, dir, clock } = await tempLedger();
  const config = { agentStateDir: join(dir, "agent-state"), projectName: "demo" };
  const errors: string[] = [];
  const notifier = new ProjectNotifier(ledger, config, { onError: (m) => errors.push(m) });
  const file = needsAttentionPath(config);
  const headings = () =>
    readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.startsWith("## "));
  return { ledger, clock, notifier, file, errors, headings };
}

const IDLE: Notice = {
  kind: "idle",
  title: "Agents are idle",
  message: "Nothing was dispatched for 30 s: the queue is empty.",
  needsHuman: true,
  sequenceId: "demo-idle",
};
const BACK: Notice = {
  kind: "back_online",
  title: "Agents are back at work",
  message: "Dispatching again after 40 s idle.",
  sequenceId: "demo-idle",
};

describe("needs-attention.md, rendered from the ledger's open items", () => {
  it("lists each open item under a heading that carries its id, newest first", async () => {
    const n = await notifier();
    const cap = await n.notifier.notify({
      kind: "cap_hit",
      title: "[CAP HIT] qa",
      message: "qa spent $5.00 of $5.00.\n## forged heading",
      needsHuman: true,
    });
    n.clock.advance(1000);
    await n.notifier.notify({ kind: "report", title: "Routine", message: "no one needs this" });
    const idle = await n.notifier.notify(IDLE);
    expect(n.headings()).toEqual([
      `## ${idle!.id} · 2026-05-06T09:00:01.000Z · Agents are idle`,
      `## ${cap!.id} · 2026-05-06T09:00:00.000Z · [CAP HIT] qa`,
    ]);
    const text = readFileSync(n.file, "utf8");
    expect(text).toMatch(/^# demo: needs attention\n\n2 open items, newest first\./);
    expect(text).toContain("> ## forged heading");
    expect(text).not.toContain("Routine");
    // Written whole through a temporary file that is gone afterwards.
    expect(readdirSync(dirname(n.file))).toEqual(["needs-attention.md"]);
    expect(n.errors).toEqual([]);
  });

  it("a back-online notice resolves the idle item of its spell, and the file goes with it", async () => {
    const n = await notifier();
    const idle = await n.notifier.notify(IDLE);
    // Another spell's idle item, and an item that is not about idleness, stay open.
    const otherSpell = await n.notifier.notify({ ...IDLE, sequenceId: "other-idle" });
    expect(n.headings()).toHaveLength(2);
    n.clock.advance(40_000);
    await n.notifier.notify(BACK);
    const [resolved] = (await n.ledger.listAttention({ all: true })).filter(
      (i) => i.id === idle!.id,
    );
    expect(resolved).toMatchObject({
      resolvedAt: "2026-05-06T09:00:40.000Z",
      resolvedBy: "producer",
      resolutionNote: "agents dispatching again",
    });
    expect(n.headings()).toEqual([
      `## ${otherSpell!.id} · 2026-05-06T09:00:00.000Z · Agents are idle`,
    ]);
    // The back-online notice is recorded first, then the idle item resolved by the producer.
    const [last, before] = await n.ledger.recentAudit(2);
    expect(before).toMatchObject({ actor: "producer", action: "notification.recorded" });
    expect(last).toMatchObject({
      actor: "producer",
      action: "attention.resolved",
      entityId: idle!.id,
    });
    await n.ledger.resolveAttention({ ids: [otherSpell!.id] }, { actor: "cli" });
    // The file follows the ledger on the next change: a new back-online notice resolves
    // nothing, and leaves the file as it was.
    await n.notifier.notify({ ...BACK, sequenceId: "other-idle" });
    expect(existsSync(n.file)).toBe(true);
    await n.notifier.notify(IDLE);
    await n.notifier.notify(BACK);
    expect(existsSync(n.file)).toBe(false);
    expect(n.errors).toEqual([]);
  });

  it(`names the open items beyond the newest ${ATTENTION_FILE_LIMIT} by pointing at the CLI`, async () => {
    const n = await notifier();
    for (let i = 0; i <= ATTENTION_FILE_LIMIT; i++) {
      await n.ledger.recordNotification({
        kind: "escalation",
        title: `item ${i}`,
        message: "m",
        priority: 3,
        tags: [],
        needsHuman: true,
        sequenceId: null,
      });
    }
    await n.notifier.notify({ kind: "guardrail", title: "last", message: "m", needsHuman: true });
    expect(n.headings()).toHaveLength(ATTENTION_FILE_LIMIT);
    expect(n.headings()[0]).toMatch(/ · last$/);
    const text = readFileSync(n.file, "utf8");
    expect(text).toContain(`${ATTENTION_FILE_LIMIT}+ open items, newest first.`);
    expect(text).toContain("`producer attention` lists them all");
  });
});
