import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ProjectStatus } from "../src/cli/commands/status.js";
import {
  type AttentionItem,
  LedgerClient,
  type NotificationRecord,
  needsAttentionPath,
  ProjectNotifier,
} from "../src/index.js";
import { runCli, tempProject } from "./helpers/cli.js";

/** A project whose notifier has raised three items that need a human (and one that does not). */
async function project() {
  const dir = tempProject();
  const config = { agentStateDir: join(dir, "agent-state"), projectName: "testproj" };
  const ledger = await LedgerClient.open({
    dbPath: join(dir, "agent-state", "ledger.db"),
    roles: ["producer", "design", "code", "qa"],
    actor: "test",
  });
  const notifier = new ProjectNotifier(ledger, config);
  const raised: NotificationRecord[] = [];
  for (const [kind, title] of [
    ["cap_hit", "[CAP HIT] qa"],
    ["escalation", "Escalated: Build the widget"],
    ["idle", "Agents are idle"],
  ] as const) {
    raised.push(
      (await notifier.notify({
        kind,
        title,
        message: `First line of ${title}.\nSecond line.`,
        needsHuman: true,
      }))!,
    );
  }
  await notifier.notify({ kind: "report", title: "Routine report", message: "fine" });
  await ledger.close();
  const file = needsAttentionPath(config);
  const reopen = () => LedgerClient.open({ dbPath: join(dir, "agent-state", "ledger.db") });
  const openItems = async () => {
    const l = await reopen();
    try {
      return (await l.listAttention()).map((i) => i.id);
    } finally {
      await l.close();
    }
  };
  return { dir, file, raised, reopen, openItems };
}

describe("producer attention", () => {
  it("lists open items newest first, as a table or JSON, and --all adds resolved ones", async () => {
    const p = await project();
    const [cap, escalation, idle] = p.raised.map((r) => r!.id);
    const [text, alias, json] = await Promise.all([
      runCli(["attention"], { cwd: p.dir }),
      runCli(["attention", "list"], { cwd: p.dir }),
      runCli(["attention", "--json"], { cwd: p.dir }),
    ]);
    expect(text).toMatchObject({ code: 0, stderr: "" });
    expect(alias.stdout).toBe(text.stdout);
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID +TIME +TITLE +FIRST LINE$/);
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/))).toEqual([
      [idle, expect.stringMatching(/^\d{4}-/), "Agents are idle", "First line of Agents are idle."],
      [
        escalation,
        expect.stringMatching(/^\d{4}-/),
        "Escalated: Build the widget",
        "First line of Escalated: Build the widget.",
      ],
      [cap, expect.stringMatching(/^\d{4}-/), "[CAP HIT] qa", "First line of [CAP HIT] qa."],
    ]);
    const items = JSON.parse(json.stdout) as AttentionItem[];
    expect(items.map((i) => [i.id, i.kind, i.resolvedAt])).toEqual([
      [idle, "idle", null],
      [escalation, "escalation", null],
      [cap, "cap_hit", null],
    ]);

    expect(await runCli(["attention", "resolve", cap!], { cwd: p.dir })).toMatchObject({ code: 0 });
    const all = await runCli(["attention", "--all"], { cwd: p.dir });
    expect(all.stdout.split("\n")[0]).toMatch(/^ID +TIME +TITLE +STATE +FIRST LINE$/);
    expect(all.stdout).toMatch(new RegExp(`${cap} .+ resolved by cli +First line`));
    expect(all.stdout).toMatch(new RegExp(`${idle} .+ open +First line`));
  });

  it("resolves by suffix with a note: audited as the human, the file rewritten without it", async () => {
    const p = await project();
    const [cap, escalation, idle] = p.raised.map((r) => r!.id);
    expect(readFileSync(p.file, "utf8")).toContain(`## ${escalation} · `);
    const suffix = escalation!.slice(-6).toLowerCase();
    const result = await runCli(
      ["attention", "resolve", suffix, cap!, "--note", "requeued it after the fix"],
      { cwd: p.dir },
    );
    expect(result).toMatchObject({
      code: 0,
      stderr: "",
      stdout: `resolved 2 attention items: ${escalation}, ${cap}\n`,
    });
    expect(await p.openItems()).toEqual([idle]);
    const text = readFileSync(p.file, "utf8");
    expect(text).not.toContain(escalation!);
    expect(text).toContain(`## ${idle} · `);
    const ledger = await p.reopen();
    try {
      const [row] = await ledger.recentAudit(1, escalation);
      expect(row).toMatchObject({ actor: "cli", action: "attention.resolved" });
      expect(JSON.parse(row!.details).note).toBe("requeued it after the fix");
    } finally {
      await ledger.close();
    }

    const [status, statusJson] = await Promise.all([
      runCli(["status"], { cwd: p.dir }),
      runCli(["status", "--json"], { cwd: p.dir }),
    ]);
    expect(status.stdout).toMatch(
      new RegExp(
        `^attention +needs a human: 1 open, newest ${idle} at \\S+: Agents are idle \\(producer attention lists them\\)$`,
        "m",
      ),
    );
    const s = JSON.parse(statusJson.stdout) as ProjectStatus;
    expect(s.attention).toMatchObject({ open: 1, newest: { id: idle, title: "Agents are idle" } });

    const rest = await runCli(["attention", "resolve", "--all"], { cwd: p.dir });
    expect(rest).toMatchObject({ code: 0, stdout: `resolved 1 attention item: ${idle}\n` });
    expect(existsSync(p.file)).toBe(false);
    expect(await runCli(["attention"], { cwd: p.dir })).toMatchObject({
      code: 0,
      stdout: "nothing needs attention\n",
    });
    expect((await runCli(["status"], { cwd: p.dir })).stdout).toMatch(
      /^attention +nothing waiting$/m,
    );
    expect(await runCli(["attention", "resolve", "--all"], { cwd: p.dir })).toMatchObject({
      code: 0,
      stdout: "nothing was open\n",
    });
  });

  it("refuses unknown, resolved and malformed ids in one line, changing nothing", async () => {
    const p = await project();
    const [cap, escalation, idle] = p.raised.map((r) => r!.id);
    await runCli(["attention", "resolve", cap!], { cwd: p.dir });
    const before = readFileSync(p.file, "utf8");
    const [unknown, resolved, malformed, none, both] = await Promise.all([
      runCli(["attention", "resolve", escalation!, "NOPE1234"], { cwd: p.dir }),
      runCli(["attention", "resolve", idle!, cap!], { cwd: p.dir }),
      runCli(["attention", "resolve", "ab"], { cwd: p.dir }),
      runCli(["attention", "resolve"], { cwd: p.dir }),
      runCli(["attention", "resolve", idle!, "--all"], { cwd: p.dir }),
    ]);
    expect(unknown).toMatchObject({
      code: 1,
      stdout: "",
      stderr: 'producer: no attention item with id "NOPE1234"\n',
    });
    expect(resolved.code).toBe(1);
    expect(resolved.stderr).toMatch(
      new RegExp(
        `^producer: attention item ${cap} was already resolved at \\S+ by cli; nothing was resolved\\n$`,
      ),
    );
    expect(malformed).toMatchObject({
      code: 1,
      stderr:
        'producer: "ab" is not an attention id: give the id `producer attention` lists, or at least its last 4 characters\n',
    });
    expect(none).toMatchObject({
      code: 2,
      stderr:
        "producer: name the items to resolve: producer attention resolve ID... (or --all for every open one)\n",
    });
    expect(both).toMatchObject({
      code: 2,
      stderr: "producer: give attention ids or --all, not both\n",
    });
    // Nothing changed for any refused batch.
    expect(await p.openItems()).toEqual([idle, escalation]);
    expect(readFileSync(p.file, "utf8")).toBe(before);
  });

  it("is refused inside a dispatched agent: attention items are for a human", async () => {
    const p = await project();
    const result = await runCli(["attention", "resolve", "--all"], {
      cwd: p.dir,
      env: { PRODUCER_TASK_ID: "01SOMETASK" },
    });
    expect(result).toMatchObject({
      code: 2,
      stderr:
        "producer: producer attention resolve cannot run inside a dispatched agent: attention items are for a human to resolve\n",
    });
    expect(await p.openItems()).toHaveLength(3);
  });
});
