// The README's "Writing an agent" team (a shell, a Python and a JavaScript agent) is run as
// written, in a project that installs ai-producer the way a user does, so the section cannot
// drift from what agents really get.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { LedgerClient } from "../src/index.js";
import { tempDir } from "./helpers/temp.js";

const ROOT = join(import.meta.dirname, "..");
const README = readFileSync(join(ROOT, "README.md"), "utf8");

/** The code block right after `<!-- readme-agents:NAME -->`, by NAME. */
function markedBlocks(): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const m of README.matchAll(/<!-- readme-agents:(\S+) -->\n```\w*\n([\s\S]*?)```\n/g)) {
    blocks.set(m[1]!, m[2]!);
  }
  return blocks;
}

/** The lines of the first ```sh block after `sentence` in the README. */
function commandsAfter(sentence: string): string[] {
  const at = README.indexOf(sentence);
  expect(at, `README has "${sentence}"`).toBeGreaterThan(-1);
  const block = /```sh\n([\s\S]*?)```/.exec(README.slice(at));
  return block![1]!.trim().split("\n");
}

describe("README: Writing an agent", () => {
  it("runs the three-language team to the end, each agent attributed", async () => {
    const blocks = markedBlocks();
    expect([...blocks.keys()].sort()).toEqual([
      "agents/publisher.mjs",
      "agents/reviewer.py",
      "agents/writer.sh",
      "yaml",
    ]);
    const project = tempDir("readme-agents-");
    // What `npm install ai-producer` leaves: the package and its command in node_modules/.bin.
    mkdirSync(join(project, "node_modules", ".bin"), { recursive: true });
    symlinkSync(ROOT, join(project, "node_modules", "ai-producer"));
    symlinkSync(
      "../ai-producer/bin/producer.js",
      join(project, "node_modules", ".bin", "producer"),
    );
    const env = { ...process.env, NO_COLOR: "1", PRODUCER_CONFIG: "" };
    const run = (lines: string[]) => {
      for (const line of lines) {
        execFileSync("sh", ["-c", line], { cwd: project, env, encoding: "utf8", timeout: 60_000 });
      }
    };
    run(commandsAfter("Start the project as usual"));
    writeFileSync(join(project, "producer.yaml"), blocks.get("yaml")!);
    for (const [name, text] of blocks) {
      if (name === "yaml") continue;
      mkdirSync(dirname(join(project, name)), { recursive: true });
      writeFileSync(join(project, name), text);
    }
    run(commandsAfter("Give the team its first task"));

    const ledger = await LedgerClient.open({
      dbPath: join(project, "agent-state", "ledger.db"),
      create: false,
    });
    try {
      const tasks = await ledger.listTasks({ limit: 10 });
      const byRole = new Map(tasks.map((t) => [t.agentOwner, t]));
      expect(tasks.map((t) => `${t.agentOwner}:${t.status}`).sort()).toEqual([
        "publisher:done",
        "reviewer:done",
        "writer:done",
      ]);
      expect(byRole.get("reviewer")!.parentTaskId).toBe(byRole.get("writer")!.id);
      expect(byRole.get("publisher")!.parentTaskId).toBe(byRole.get("reviewer")!.id);
      expect(byRole.get("reviewer")!.createdBy).toBe("writer");
      const decisions = await ledger.listDecisions({});
      expect(decisions.map((d) => `${d.agentOwner}:${d.taskId}`).sort()).toEqual(
        [`reviewer:${byRole.get("reviewer")!.id}`, `writer:${byRole.get("writer")!.id}`].sort(),
      );
      const draft = `drafts/${byRole.get("writer")!.id}.md`;
      const assets = await ledger.listAssets({});
      expect(assets.map((a) => `${a.agentOwner}:${a.path}`).sort()).toEqual([
        `publisher:public/${byRole.get("writer")!.id}.md`,
        `writer:${draft}`,
      ]);
      // The writer kept its dispatch prompt; the publisher copied it.
      expect(readFileSync(join(project, draft), "utf8")).toContain("Issue 1: what we shipped");
      expect(existsSync(join(project, "public", `${byRole.get("writer")!.id}.md`))).toBe(true);
      expect(tasks.reduce((sum, t) => sum + t.costUsd, 0)).toBeCloseTo(0.004, 6);
    } finally {
      await ledger.close();
    }
  }, 120_000);
});
