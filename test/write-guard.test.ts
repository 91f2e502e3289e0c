// The fence's verdicts, call by call: which paths and commands a Claude agent may not touch.
import { mkdirSync, symlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { protectedPaths } from "../src/runtimes/claude/protected-paths.js";
import { writeGuardVerdict } from "../src/runtimes/claude/write-guard.js";
import { configFrom } from "./helpers/config.js";
import { tempDir } from "./helpers/temp.js";

function project(extra = "") {
  const dir = tempDir("fence-unit-");
  const config = configFrom(
    `${extra}agents:\n  code:\n    daily_cap_usd: 1\n  qa:\n    daily_cap_usd: 1\n    prompt: prompts/qa.md\n`,
    dir,
  );
  mkdirSync(config.agentStateDir, { recursive: true });
  const fence = protectedPaths(config);
  const verdict = (tool: string, input: unknown) => writeGuardVerdict(fence, tool, input, dir);
  return { dir, config, verdict };
}

describe("the write fence", () => {
  it("refuses protected files and folders however the path is spelled", () => {
    const { dir, verdict } = project();
    const write = (file_path: string) => verdict("Write", { file_path, content: "x" });
    expect(write(join(dir, "agent-state", "pricing.json"))).toBe(
      "agent-state/pricing.json is protected",
    );
    expect(write("agent-state/ledger.db-wal")).toBe("agent-state/ledger.db-wal is protected");
    expect(write(join(dir, "src", "..", "agent-state", "notes.md"))).toBe(
      "everything under agent-state/ is protected",
    );
    expect(write(join(dir, "agent-state"))).toBe("everything under agent-state/ is protected");
    expect(write("producer.yaml")).toBe("producer.yaml is protected");
    expect(write("agents/code/system_prompt.md")).toBe("agents/code/system_prompt.md is protected");
    expect(write("prompts/qa.md")).toBe("prompts/qa.md is protected");
    expect(write(".env")).toBe(".env holds the project's secrets and is protected");
    expect(write(".env.production")).toBe(
      ".env.production holds the project's secrets and is protected",
    );
    expect(write("node_modules/left-pad/index.js")).toBe(
      "everything under node_modules/ is protected",
    );
    const installed = resolve(import.meta.dirname, "..", "dist", "index.js");
    expect(write(installed)).toMatch(/dist\/ is protected$/);
    expect(verdict("Edit", { file_path: "producer.yaml", old_string: "a", new_string: "b" })).toBe(
      "producer.yaml is protected",
    );
    expect(verdict("NotebookEdit", { notebook_path: "agent-state/x.ipynb" })).toBe(
      "everything under agent-state/ is protected",
    );
  });

  it("refuses what configures the next Claude Code session or runs code by itself", () => {
    const { dir, verdict } = project();
    const write = (file_path: string) => verdict("Write", { file_path, content: "x" });
    expect(write(".claude/settings.json")).toBe("everything under .claude/ is protected");
    expect(write(".claude/agents/evil.md")).toBe("everything under .claude/ is protected");
    expect(write(".mcp.json")).toBe(".mcp.json is protected");
    expect(write("CLAUDE.md")).toBe("CLAUDE.md is protected");
    expect(write("CLAUDE.local.md")).toBe("CLAUDE.local.md is protected");
    expect(write(".git/config")).toBe("everything under .git/ is protected");
    expect(write(".git/hooks/pre-commit")).toBe("everything under .git/ is protected");
    expect(write("docs/CLAUDE.md")).toBeNull();
    // Spellings Claude Code would also accept.
    expect(write(` ${join(dir, "producer.yaml")} `)).toBe("producer.yaml is protected");
  });

  it("refuses the host's Claude config folder when the caller names it", () => {
    const { config } = project();
    const host = tempDir("fence-host-");
    const fence = protectedPaths(config, [host]);
    expect(writeGuardVerdict(fence, "Write", { file_path: join(host, "settings.json") }, "/")).toBe(
      `everything under ${host}/ is protected`,
    );
  });

  it("lets everything else through", () => {
    const { verdict } = project();
    const write = (file_path: string) => verdict("Write", { file_path, content: "x" });
    for (const free of [
      "src/app.ts",
      "sub/.env",
      "agent-state-notes.md",
      "agents/code/notes.md",
      "docs/producer.yaml.md",
      "/tmp/elsewhere.txt",
    ]) {
      expect(write(free), free).toBeNull();
    }
    expect(verdict("Read", { file_path: "producer.yaml" })).toBeNull();
    expect(verdict("Write", {})).toBeNull();
  });

  it("follows a link planted in the project into a protected folder", () => {
    const { dir, config, verdict } = project();
    symlinkSync(config.agentStateDir, join(dir, "innocent"));
    expect(verdict("Write", { file_path: join(dir, "innocent", "kill_switch") })).toBe(
      "agent-state/kill_switch is protected",
    );
  });

  it("never fences a folder that holds the whole project, but still what lies in it", () => {
    const { verdict } = project("agent_state_dir: .\n");
    expect(verdict("Write", { file_path: "src/app.ts" })).toBeNull();
    expect(verdict("Write", { file_path: "ledger.db" })).toBe("ledger.db is protected");
    expect(verdict("Write", { file_path: "claude-config/api/settings.json" })).toBe(
      "everything under claude-config/ is protected",
    );
  });

  it("fences a reports folder set apart from agent-state", () => {
    const { verdict } = project("reports_dir: reports\n");
    expect(verdict("Write", { file_path: "reports/morning-report-20261130.md" })).toBe(
      "everything under reports/ is protected",
    );
  });

  it("trips on Bash commands that name a protected path, not on ordinary work", () => {
    const { dir, verdict } = project();
    const bash = (command: string) => verdict("Bash", { command });
    expect(bash("echo '{}' > agent-state/pricing.json")).toBe(
      "the command names agent-state/pricing.json, which agents may not touch",
    );
    expect(bash("ls agent-state")).toBe(
      "the command names agent-state, which agents may not touch",
    );
    expect(bash(`rm ${join(dir, "agent-state", "kill_switch")}`)).toBe(
      "the command names agent-state/kill_switch, which agents may not touch",
    );
    expect(bash("cp evil.yaml ./producer.yaml")).toBe(
      "the command names producer.yaml, which agents may not touch",
    );
    expect(bash("source .env && env")).toBe("the command names .env, which agents may not touch");
    expect(bash("echo x | tee node_modules/a/b.js")).toBe(
      "the command names node_modules, which agents may not touch",
    );
    for (const fine of [
      "npm install left-pad",
      "ls node_modules/.bin",
      "node --test",
      "cat README.md > docs/agent-state-of-the-art.md",
      "echo ok > out.txt",
    ]) {
      expect(bash(fine), fine).toBeNull();
    }
  });
});
