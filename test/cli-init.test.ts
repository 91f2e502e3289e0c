import { type ChildProcess, spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  readdirSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { producerCommand } from "../src/cli/commands/init.js";
import { loadConfig } from "../src/config/load.js";
import { LedgerClient } from "../src/index.js";
import { parseRoles } from "../src/init/roles.js";
import { suggestTopic } from "../src/init/wizard.js";
import { checkSeedTasks, EXAMPLE_SEED_TASKS, toNewTasks } from "../src/seed/seed-file.js";
import { PRODUCER_BIN, runCli } from "./helpers/cli.js";
import { tempDir } from "./helpers/temp.js";

const init = (args: string[], cwd: string, env?: NodeJS.ProcessEnv) =>
  runCli(["init", ...args], { cwd, env });

const read = (...parts: string[]) => readFileSync(join(...parts), "utf8");

/** Opens a scaffolded project's ledger the way the CLI does, and hands it to `work`. */
async function withLedger<T>(dir: string, work: (ledger: LedgerClient) => Promise<T>) {
  const config = await loadConfig(join(dir, "producer.yaml"), { env: {} });
  const ledger = await LedgerClient.open({
    dbPath: config.ledgerDb,
    roles: Object.keys(config.agents),
    create: false,
  });
  try {
    return await work(ledger);
  } finally {
    await ledger.close();
  }
}

/** Files a seed file through the same checks and mapping `producer task import` uses. */
async function importSeed(dir: string, file = "seed_tasks.example.json") {
  const check = checkSeedTasks(JSON.parse(read(dir, file)));
  if (!check.ok) throw new Error(check.problems.join("\n"));
  return withLedger(dir, (ledger) =>
    ledger.insertTasks(toNewTasks(check.tasks, { createdBy: "test" })),
  );
}

const SECTIONS = [
  "## 1. Mission",
  "## 2. What you must read first",
  "## 3. Hard rules",
  "## 4. Output discipline",
  "## 5. Ledger discipline",
  "## 6. Queue self-replenishment (REQUIRED)",
  "## 7. Stop condition",
];

describe("producer init --non-interactive", () => {
  it("creates every file, a config that loads and an empty ledger", async () => {
    const cwd = tempDir("init-");
    const result = await init(["--non-interactive", "--dir", "my-game"], cwd);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const dir = join(cwd, "my-game");

    const config = await loadConfig(join(dir, "producer.yaml"), { env: {} });
    expect(Object.keys(config.agents)).toEqual(["producer", "design", "code", "qa"]);
    expect(config.projectName).toBe("my-game");
    expect(config.notifications).toMatchObject({ ntfyTopic: "", subjectPrefix: "my-game" });
    expect(config.agents.code).toMatchObject({
      dailyCapUsd: 20,
      dispatchReservationUsd: 0.2,
      prompt: join(dir, "agents", "code", "system_prompt.md"),
    });
    expect(config.ledgerDb).toBe(join(dir, "agent-state", "ledger.db"));
    // Every key group is there with its comment.
    const yaml = read(dir, "producer.yaml");
    for (const key of ["retry:", "notifications:", "budget:", "auth:", "guardrails:", "agents:"]) {
      expect(yaml).toMatch(new RegExp(`# .*\\n(?:#.*\\n)*${key}`));
    }

    for (const role of Object.keys(config.agents)) {
      const prompt = read(dir, "agents", role, "system_prompt.md");
      let at = -1;
      for (const section of SECTIONS) {
        const next = prompt.indexOf(section);
        expect(next, `${role}: ${section}`).toBeGreaterThan(at);
        at = next;
      }
      expect(prompt).toContain(`# The ${role} agent of my-game`);
      expect(prompt).not.toMatch(/\{\{|<!-- template/);
      expect(prompt).toMatch(/mcp__ledger__insert_task\(\{\n {2}"agent_owner": "[a-z]+"/);
      expect(prompt).toContain("mcp__ledger__record_decision({");
      expect(prompt).toContain("mcp__ledger__register_asset({");
      expect(prompt).toMatch(/producer task add --agent [a-z]+ \\\n {2}--title '/);
    }
    // The keystone example names the next role of the pipeline.
    expect(read(dir, "agents", "design", "system_prompt.md")).toContain('"agent_owner": "code"');
    expect(read(dir, "agents", "code", "system_prompt.md")).toContain('"agent_owner": "qa"');

    expect(read(dir, "CLAUDE.md")).toContain("@ONBOARDING.md");
    const onboarding = read(dir, "ONBOARDING.md");
    expect(onboarding).toContain("producer run --once");
    expect(onboarding).toMatch(/producer task add --agent producer --title/);
    expect(read(dir, ".env.example")).toMatch(
      /^ANTHROPIC_API_KEY=$[\s\S]*^NTFY_TOKEN=$[\s\S]*^# PRODUCER_AUTH_MODE=$/m,
    );
    expect(read(dir, ".gitignore").split("\n")).toEqual(
      expect.arrayContaining(["agent-state/", ".env", "node_modules/"]),
    );
    expect(await withLedger(dir, (ledger) => ledger.listTasks())).toEqual([]);

    expect(result.stdout).toContain("producer task import seed_tasks.example.json");
    expect(result.stdout).toContain("producer run --once");
    expect(result.stdout).toContain("agent-state/ledger.db (a new, empty ledger)");
    expect(result.stdout).toContain("Onboarding chat skipped (--non-interactive)");
    expect(result.stdout).toContain("cd my-game && claude");
  });

  it("writes a seed example and CLI examples that the task commands accept", async () => {
    const cwd = tempDir("init-");
    expect((await init(["--non-interactive"], cwd)).code).toBe(0);
    const imported = await runCli(["task", "import", "seed_tasks.example.json"], { cwd });
    expect(imported.stderr).toBe("");
    expect(imported.code).toBe(0);
    const tasks = await withLedger(cwd, async (ledger) =>
      (await ledger.listTasks()).sort((a, b) => a.id.localeCompare(b.id)),
    );
    expect(tasks.map((t) => t.agentOwner)).toEqual(["producer", "design", "code", "qa"]);
    // Each kickoff task waits for the one before it, by id once filed.
    for (let i = 1; i < tasks.length; i++) {
      expect(tasks[i]!.dependsOn).toEqual([tasks[i - 1]!.id]);
    }

    // The shell form in section 6 of a prompt is a working command.
    const prompt = read(cwd, "agents", "code", "system_prompt.md");
    const [, agent, title, description] =
      /producer task add --agent (\S+) \\\n {2}--title '([^']+)' \\\n {2}--description '([^']+)'/.exec(
        prompt,
      )!;
    const added = await runCli(
      ["task", "add", "--agent", agent!, "--title", title!, "--description", description!],
      { cwd },
    );
    expect(added.stderr).toBe("");
    expect(added.code).toBe(0);

    // A team that has the task command's example roles gets that example as it is.
    const team = join(cwd, "team");
    const args = ["--non-interactive", "--dir", team, "--roles", "design,code,art,qa"];
    expect((await init(args, cwd)).code).toBe(0);
    expect(JSON.parse(read(team, "seed_tasks.example.json"))).toEqual(EXAMPLE_SEED_TASKS);
    expect(await importSeed(team)).toHaveLength(EXAMPLE_SEED_TASKS.length);
  });

  it("refuses to overwrite, naming the files, then overwrites with --force and keeps the ledger", async () => {
    const cwd = tempDir("init-");
    expect((await init(["--non-interactive"], cwd)).code).toBe(0);
    await withLedger(cwd, (ledger) => ledger.insertTask({ agentOwner: "code", title: "keep me" }));
    writeFileSync(join(cwd, "producer.yaml"), "# mine\n");
    writeFileSync(join(cwd, "agents", "code", "system_prompt.md"), "mine");
    const before = readdirSync(cwd).sort();

    const refused = await init(["--non-interactive", "--roles", "code"], cwd);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      "producer init: these files already exist: producer.yaml, agents/code/system_prompt.md, seed_tasks.example.json, ONBOARDING.md; re-run with --force to overwrite them\n",
    );
    expect(read(cwd, "producer.yaml")).toBe("# mine\n");
    expect(read(cwd, "agents", "code", "system_prompt.md")).toBe("mine");
    expect(readdirSync(cwd).sort()).toEqual(before);

    const forced = await init(["--non-interactive", "--force"], cwd);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/overwritten +producer\.yaml/);
    expect(forced.stdout).toMatch(/kept +agent-state\/ledger\.db \(an existing ledger/);
    expect(forced.stdout).toMatch(/unchanged +\.gitignore/);
    expect(read(cwd, "agents", "code", "system_prompt.md")).toContain("## 1. Mission");
    const titles = await withLedger(cwd, async (ledger) =>
      (await ledger.listTasks()).map((t) => t.title),
    );
    expect(titles).toEqual(["keep me"]);
  });

  it("scaffolds the roles given with --roles, and refuses a bad role name", async () => {
    const cwd = tempDir("init-");
    const ok = await init(["--non-interactive", "--roles", " writer, editor ,writer"], cwd);
    expect(ok.code).toBe(0);
    const config = await loadConfig(join(cwd, "producer.yaml"), { env: {} });
    expect(Object.keys(config.agents)).toEqual(["writer", "editor"]);
    expect(readdirSync(join(cwd, "agents")).sort()).toEqual(["editor", "writer"]);
    // Unknown roles hand off along the list, the last one back to the first.
    expect(read(cwd, "agents", "writer", "system_prompt.md")).toContain('"agent_owner": "editor"');
    expect(read(cwd, "agents", "editor", "system_prompt.md")).toContain('"agent_owner": "writer"');
    expect(await importSeed(cwd)).toHaveLength(2);

    const fresh = join(cwd, "fresh");
    const bad = await init(["--non-interactive", "--dir", fresh, "--roles", "code,QA Team"], cwd);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--roles: "QA Team": invalid role name');
    expect(existsSync(fresh)).toBe(false);
    const empty = await init(["--non-interactive", "--dir", fresh, "--roles", " , "], cwd);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("--roles needs at least one role name");
  });

  it("adds to .gitignore, .env.example and CLAUDE.md without repeating or replacing lines", async () => {
    const cwd = tempDir("init-");
    writeFileSync(join(cwd, ".gitignore"), "node_modules/\n/.env");
    writeFileSync(join(cwd, ".env.example"), "ANTHROPIC_API_KEY=\nOTHER=1\n");
    writeFileSync(join(cwd, "CLAUDE.md"), "# House rules\n\nUse tabs.\n");
    expect((await init(["--non-interactive"], cwd)).code).toBe(0);

    expect(read(cwd, ".gitignore")).toBe(
      "node_modules/\n/.env\n\n# ai-producer: runtime state, secrets and installed packages\nagent-state/\n",
    );
    const envExample = read(cwd, ".env.example");
    expect(envExample.startsWith("ANTHROPIC_API_KEY=\nOTHER=1\n")).toBe(true);
    expect(envExample.match(/ANTHROPIC_API_KEY=/g)).toHaveLength(1);
    expect(envExample).toMatch(/^NTFY_TOKEN=$/m);
    const claudeMd = read(cwd, "CLAUDE.md");
    expect(claudeMd.startsWith("# House rules\n\nUse tabs.\n")).toBe(true);
    expect(claudeMd).toContain("@ONBOARDING.md");

    const again = await init(["--non-interactive", "--force"], cwd);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/unchanged +\.gitignore/);
    expect(read(cwd, ".gitignore").match(/agent-state\//g)).toHaveLength(1);
    expect(read(cwd, ".env.example")).toBe(envExample);
    expect(read(cwd, "CLAUDE.md")).toBe(claudeMd);
  });

  it("creates a missing --dir, and refuses one that is a file or an unexpanded ~", async () => {
    const cwd = tempDir("init-");
    const nested = await init(["--non-interactive", "--dir", "a/b/c"], cwd);
    expect(nested.code).toBe(0);
    expect(existsSync(join(cwd, "a", "b", "c", "producer.yaml"))).toBe(true);

    writeFileSync(join(cwd, "notes.txt"), "");
    const file = await init(["--non-interactive", "--dir", "notes.txt"], cwd);
    expect(file.code).toBe(1);
    expect(file.stderr).toBe(
      `producer init: --dir ${join(cwd, "notes.txt")} is a file, not a folder\n`,
    );
    const under = await init(["--non-interactive", "--dir", "notes.txt/x"], cwd);
    expect(under.code).toBe(1);
    expect(under.stderr).toContain(`${join(cwd, "notes.txt")} is a file, not a folder`);
    const tilde = await init(["--non-interactive", "--dir", "~/proj"], cwd);
    expect(tilde.code).toBe(2);
    expect(tilde.stderr).toContain("$HOME/proj");
    expect(existsSync(join(cwd, "~"))).toBe(false);
  });
});

describe("init helpers", () => {
  it("suggests ntfy topics that fit ntfy's rule", () => {
    expect(suggestTopic("Space Game!", "abc123")).toBe("space-game-abc123");
    expect(suggestTopic("日本", "abc123")).toBe("producer-abc123");
    expect(suggestTopic("x".repeat(100), "abc123")).toHaveLength(64);
    expect(suggestTopic("Café")).toMatch(/^cafe-[a-z0-9]{6}$/);
  });

  it("reads --roles", () => {
    expect(parseRoles(undefined)).toEqual(["producer", "design", "code", "qa"]);
    expect(parseRoles("a, b,,a")).toEqual(["a", "b"]);
    expect(() => parseRoles("9lives")).toThrow(/invalid role name/);
  });
});

// ---- on a terminal ----------------------------------------------------------------------

const SCRIPT = "/usr/bin/script";
const STTY = ["/usr/bin/stty", "/bin/stty"].find((p) => existsSync(p));
const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escapes are what it strips.
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]|\u001b\][^\u0007]*\u0007|\r/g;

interface PtyRun {
  child: ChildProcess;
  output(): string;
  /** Waits for `pattern` after the last thing waited for, then types `keys`. */
  answer(pattern: RegExp, keys: string): Promise<void>;
  exited: Promise<number | null>;
}

/**
 * Runs `producer init ...` on a pseudo-terminal (util-linux `script`), 100 columns wide so
 * prompts are not wrapped a character per line.
 */
function initOnPty(args: string[], cwd: string, env: NodeJS.ProcessEnv): PtyRun {
  const command = [process.execPath, PRODUCER_BIN, "init", ...args].map(quote).join(" ");
  const child = spawn(SCRIPT, ["-qfec", `${STTY} cols 100 rows 40; exec ${command}`, "/dev/null"], {
    cwd,
    env: { ...process.env, NO_COLOR: "1", PRODUCER_CONFIG: "", TERM: "xterm", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let seen = 0;
  child.stdout!.on("data", (d) => {
    out += String(d).replace(ANSI, "");
  });
  child.stderr!.on("data", (d) => {
    out += String(d);
  });
  const exited = new Promise<number | null>((resolvePromise) => {
    child.on("close", (code) => {
      child.stdin!.destroy();
      resolvePromise(code);
    });
  });
  return {
    child,
    output: () => out,
    exited,
    async answer(pattern, keys) {
      const started = Date.now();
      for (;;) {
        const match = pattern.exec(out.slice(seen));
        if (match) {
          seen += match.index + match[0].length;
          break;
        }
        if (child.exitCode !== null || Date.now() - started > 10_000) {
          throw new Error(`no ${pattern} on the terminal; it showed:\n${out}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      // clack listens for keys (in raw mode) before it draws a prompt, so typing now is safe.
      child.stdin!.write(keys);
    },
  };
}

/** A fake `claude` that records its arguments, its folder and whether it got the terminal. */
function fakeClaude(): { bin: string; log: string } {
  const bin = tempDir("fake-claude-");
  const log = join(bin, "claude.log");
  writeFileSync(
    join(bin, "claude"),
    `#!/bin/sh
if [ -t 0 ] && [ -t 1 ]; then terminal=tty; else terminal=no-tty; fi
{ printf '%s\\n' "$#" "$@"; pwd; echo "$terminal"; } > ${quote(log)}
`,
  );
  chmodSync(join(bin, "claude"), 0o755);
  return { bin, log };
}

const ENTER = "\r";
const PROMPTS = {
  name: /Project name/,
  topic: /ntfy topic[^\n]*\n[^\n]*-[a-z0-9]{6}/,
  prefix: /Subject prefix/,
};

describe.skipIf(!existsSync(SCRIPT) || STTY === undefined)("producer init on a terminal", () => {
  it("asks its three questions, writes the answers and hands over to claude", async () => {
    const cwd = tempDir("init-pty-");
    const { bin, log } = fakeClaude();
    const pty = initOnPty(["--dir", "game"], cwd, { PATH: `${bin}:${process.env.PATH}` });
    await pty.answer(PROMPTS.name, `Space Game${ENTER}`);
    await pty.answer(PROMPTS.topic, ENTER);
    await pty.answer(PROMPTS.prefix, `SG${ENTER}`);
    expect(await pty.exited, pty.output()).toBe(0);

    const dir = join(cwd, "game");
    const config = await loadConfig(join(dir, "producer.yaml"), { env: {} });
    expect(config.projectName).toBe("Space Game");
    expect(config.notifications.ntfyTopic).toMatch(/^space-game-[a-z0-9]{6}$/);
    expect(config.notifications.subjectPrefix).toBe("SG");
    expect(read(dir, "agents", "qa", "system_prompt.md")).toContain("# The qa agent of Space Game");

    const [argc, request, where, terminal] = read(log).trimEnd().split("\n");
    expect(argc).toBe("1");
    expect(request).toBe("Read ONBOARDING.md and help me design the agents of this project.");
    expect(where).toBe(realpathSync(dir));
    expect(terminal).toBe("tty");
    expect(pty.output()).toContain("Handing over to Claude Code with ONBOARDING.md");
  });

  it("takes the defaults on Enter, and says how to start the chat later without claude", async () => {
    const cwd = tempDir("init-pty-");
    // Only node's own folder: no claude there.
    const path = dirname(process.execPath);
    expect(existsSync(join(path, "claude"))).toBe(false);
    const pty = initOnPty(["--dir", "Tidy Shop"], cwd, { PATH: path });
    await pty.answer(PROMPTS.name, ENTER);
    await pty.answer(PROMPTS.topic, ENTER);
    await pty.answer(PROMPTS.prefix, ENTER);
    expect(await pty.exited, pty.output()).toBe(0);

    const config = await loadConfig(join(cwd, "Tidy Shop", "producer.yaml"), { env: {} });
    expect(config.projectName).toBe("Tidy Shop");
    expect(config.notifications.ntfyTopic).toMatch(/^tidy-shop-[a-z0-9]{6}$/);
    expect(config.notifications.subjectPrefix).toBe("Tidy Shop");
    expect(pty.output()).toContain("Claude Code (`claude`) is not on your PATH");
    expect(pty.output()).toContain("cd 'Tidy Shop' && claude");
  });

  it("turns push off when the topic is cleared, and skips the chat with --no-chat", async () => {
    const cwd = tempDir("init-pty-");
    const { bin, log } = fakeClaude();
    const pty = initOnPty(["--no-chat"], cwd, { PATH: `${bin}:${process.env.PATH}` });
    await pty.answer(PROMPTS.name, ENTER);
    await pty.answer(PROMPTS.topic, `\u0015${ENTER}`); // Ctrl-U clears the line
    await pty.answer(PROMPTS.prefix, ENTER);
    expect(await pty.exited, pty.output()).toBe(0);
    const config = await loadConfig(join(cwd, "producer.yaml"), { env: {} });
    expect(config.notifications.ntfyTopic).toBe("");
    expect(existsSync(log)).toBe(false);
    expect(pty.output()).toContain("Onboarding chat skipped (--no-chat)");
  });

  it("writes nothing when the wizard is cancelled with Ctrl-C", async () => {
    const cwd = tempDir("init-pty-");
    const pty = initOnPty(["--dir", "proj"], cwd, {});
    await pty.answer(PROMPTS.name, "\u0003");
    expect(await pty.exited).toBe(130);
    expect(pty.output()).toContain("Cancelled: nothing was written.");
    expect(existsSync(join(cwd, "proj"))).toBe(false);
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe("init's next steps", () => {
  it("say npx producer where ai-producer is installed in the project, producer elsewhere", () => {
    const bin = (root: string) => join(root, "node_modules", "ai-producer", "bin", "producer.js");
    expect(producerCommand(bin("/home/me/game"), "/home/me/game")).toBe("npx producer");
    // Installed in a folder above the project (a monorepo): npx finds it from there too.
    expect(producerCommand(bin("/home/me"), "/home/me/game")).toBe("npx producer");
    // A global install, or a checkout run by its path.
    expect(producerCommand(bin("/usr/local/lib"), "/home/me/game")).toBe("producer");
    expect(producerCommand("/home/me/ai-producer/bin/producer.js", "/home/me/game")).toBe(
      "producer",
    );
  });
});
