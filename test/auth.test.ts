import { lstatSync, mkdirSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/config/load.js";
import { ClaudeAgentInvoker, planAuth } from "../src/index.js";
import { hasBubblewrap } from "../src/runtimes/claude/auth.js";
import { configFrom } from "./helpers/config.js";
import { FAKE_CLAUDE_PATH } from "./helpers/fake-anthropic.js";
import { invokeOnce, tempProjectWithLedger } from "./helpers/project.js";
import { tempDir } from "./helpers/temp.js";

const KEY = "sk-ant-test-not-a-real-key";

function setup() {
  const projectRoot = tempDir("auth-proj-");
  const home = tempDir("auth-home-");
  const agentStateDir = join(projectRoot, "agent-state");
  const credentials = join(home, ".claude", ".credentials.json");
  const login = () => {
    mkdirSync(join(home, ".claude"), { recursive: true });
    writeFileSync(credentials, '{"claudeAiOauth":{}}');
    writeFileSync(join(home, ".claude", "settings.json"), "{}");
  };
  return { projectRoot, home, agentStateDir, credentials, login };
}

describe("auth modes", () => {
  it("api: the key from the environment, an isolated empty config dir, no prompts", () => {
    const s = setup();
    const plan = planAuth({
      mode: "api",
      env: {
        HOME: s.home,
        PATH: "/bin",
        ANTHROPIC_API_KEY: KEY,
        CLAUDE_CONFIG_DIR: "/host/config",
      },
      projectRoot: s.projectRoot,
      agentStateDir: s.agentStateDir,
      canScrub: true,
    });
    expect(plan).toMatchObject({
      mode: "api",
      settingSources: [],
      permissionMode: "dontAsk",
      reportsActualCost: true,
      configDir: join(s.agentStateDir, "claude-config", "api"),
      warnings: [],
    });
    expect(plan.env).toEqual({
      HOME: s.home,
      PATH: "/bin",
      ANTHROPIC_API_KEY: KEY,
      CLAUDE_CONFIG_DIR: join(s.agentStateDir, "claude-config", "api"),
      CLAUDE_CODE_SUBPROCESS_ENV_SCRUB: "1",
      GIT_TERMINAL_PROMPT: "0",
    });
    expect(readdirSync(plan.configDir!)).toEqual([]);
  });

  it("api: the key from the project's .env when the environment has none", () => {
    const s = setup();
    writeFileSync(
      join(s.projectRoot, ".env"),
      `# secrets\nANTHROPIC_API_KEY="${KEY}-dotenv"\nOTHER=1\n`,
    );
    const plan = planAuth({
      mode: "api",
      env: { HOME: s.home },
      projectRoot: s.projectRoot,
      agentStateDir: s.agentStateDir,
    });
    expect(plan.env.ANTHROPIC_API_KEY).toBe(`${KEY}-dotenv`);
    expect(plan.env.OTHER).toBeUndefined();
  });

  it("api without a key: one error naming the three ways to fix it", () => {
    const s = setup();
    expect(() =>
      planAuth({
        mode: "api",
        env: { HOME: s.home },
        projectRoot: s.projectRoot,
        agentStateDir: s.agentStateDir,
      }),
    ).toThrow(
      "auth.mode api needs an Anthropic API key: set ANTHROPIC_API_KEY (in the environment or in the project's .env), or log in with `claude` and use auth.mode: subscription, or use auth.mode: inherit to run with your own Claude Code setup",
    );
  });

  it("subscription: an isolated config dir holding only a link to the credentials file", () => {
    const s = setup();
    s.login();
    const plan = planAuth({
      mode: "subscription",
      env: { HOME: s.home, ANTHROPIC_API_KEY: KEY },
      projectRoot: s.projectRoot,
      agentStateDir: s.agentStateDir,
    });
    expect(plan).toMatchObject({
      mode: "subscription",
      settingSources: [],
      reportsActualCost: false,
    });
    expect(readdirSync(plan.configDir!)).toEqual([".credentials.json"]);
    const link = join(plan.configDir!, ".credentials.json");
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(s.credentials);
    // The key is not passed on: subscription means the login, nothing else.
    expect(plan.env.ANTHROPIC_API_KEY).toBeUndefined();
    // Planning twice (every dispatch) keeps exactly one link.
    planAuth({
      mode: "subscription",
      env: { HOME: s.home },
      projectRoot: s.projectRoot,
      agentStateDir: s.agentStateDir,
    });
    expect(readdirSync(plan.configDir!)).toEqual([".credentials.json"]);
  });

  it("subscription without a stored login is an error naming the file", () => {
    const s = setup();
    expect(() =>
      planAuth({
        mode: "subscription",
        env: { HOME: s.home },
        projectRoot: s.projectRoot,
        agentStateDir: s.agentStateDir,
      }),
    ).toThrow(
      `auth.mode subscription needs a stored Claude login at ${s.credentials}: set ANTHROPIC_API_KEY`,
    );
  });

  it("inherit: the host's config and login as they are, no git prompts, permission rules kept", () => {
    const s = setup();
    const env = { HOME: s.home, CLAUDE_CONFIG_DIR: "/host/config", FOO: "bar" };
    const plan = planAuth({
      canScrub: false,
      mode: "inherit",
      env,
      projectRoot: s.projectRoot,
      agentStateDir: s.agentStateDir,
      isRoot: true,
    });
    expect(plan).toMatchObject({
      mode: "inherit",
      settingSources: undefined,
      permissionMode: "dontAsk",
      configDir: null,
    });
    // No sandbox flag: nothing is bypassed, so the CLI needs no leave to do it as root.
    expect(plan.env).toEqual({ ...env, GIT_TERMINAL_PROMPT: "0" });
  });

  it("asks Claude Code to scrub credentials from its shells where bubblewrap allows, else warns", () => {
    const s = setup();
    const plan = (canScrub: boolean) =>
      planAuth({
        mode: "api",
        env: { HOME: s.home, ANTHROPIC_API_KEY: KEY },
        projectRoot: s.projectRoot,
        agentStateDir: s.agentStateDir,
        canScrub,
      });
    expect(plan(true).env.CLAUDE_CODE_SUBPROCESS_ENV_SCRUB).toBe("1");
    expect(plan(true).warnings).toEqual([]);
    expect(plan(false).env.CLAUDE_CODE_SUBPROCESS_ENV_SCRUB).toBeUndefined();
    expect(plan(false).warnings).toEqual([
      "bubblewrap is not installed or cannot run here, so Claude Code cannot hide ANTHROPIC_API_KEY from the shells its Bash tool starts: an agent with Bash can read it. Install bubblewrap (e.g. apt-get install bubblewrap) where it can create namespaces to scrub it",
    ]);
  });

  it("counts bubblewrap only when it can run, not merely when it is installed", () => {
    const bin = (exit: number) => {
      const dir = tempDir("auth-bwrap-");
      writeFileSync(join(dir, "bwrap"), `#!/bin/sh\nexit ${exit}\n`, { mode: 0o755 });
      return dir;
    };
    expect(hasBubblewrap({ PATH: bin(1) })).toBe(false);
    expect(hasBubblewrap({ PATH: bin(0) })).toBe(true);
    expect(hasBubblewrap({ PATH: tempDir("auth-nobwrap-") })).toBe(false);
  });

  it("bypass_permissions is an opt-in of any mode, with the sandbox flag only as root", () => {
    const s = setup();
    const env = { HOME: s.home, FOO: "bar", ANTHROPIC_API_KEY: KEY };
    const plan = (mode: "inherit" | "api", isRoot: boolean) =>
      planAuth({
        canScrub: false,
        mode,
        env,
        projectRoot: s.projectRoot,
        agentStateDir: s.agentStateDir,
        bypassPermissions: true,
        isRoot,
      });
    expect(plan("inherit", true)).toMatchObject({ permissionMode: "bypassPermissions" });
    expect(plan("inherit", true).env).toEqual({
      ...env,
      GIT_TERMINAL_PROMPT: "0",
      IS_SANDBOX: "1",
    });
    expect(plan("inherit", false).env.IS_SANDBOX).toBeUndefined();
    expect(plan("api", true)).toMatchObject({ mode: "api", permissionMode: "bypassPermissions" });
    expect(plan("api", true).env.IS_SANDBOX).toBe("1");
    expect(
      parseConfig(
        "auth:\n  bypass_permissions: true\nagents:\n  code:\n    daily_cap_usd: 1\n",
        "/tmp/x/producer.yaml",
        {},
      ).auth,
    ).toEqual({ mode: "auto", bypassPermissions: true });
  });

  it("auto: api when a key exists, else subscription, else inherit with a warning", () => {
    const s = setup();
    const plan = (env: NodeJS.ProcessEnv) =>
      planAuth({
        canScrub: false,
        mode: "auto",
        env,
        projectRoot: s.projectRoot,
        agentStateDir: s.agentStateDir,
      });
    expect(plan({ HOME: s.home }).mode).toBe("inherit");
    expect(plan({ HOME: s.home }).warnings).toEqual([
      `auth.mode auto: no ANTHROPIC_API_KEY and no ${s.credentials}; running agents with your own Claude Code setup (inherit mode: your login, plugins and settings load; agents still get only their allowed tools)`,
    ]);
    s.login();
    expect(plan({ HOME: s.home }).mode).toBe("subscription");
    expect(plan({ HOME: s.home, ANTHROPIC_API_KEY: KEY }).mode).toBe("api");
  });

  it("PRODUCER_AUTH_MODE overrides producer.yaml", () => {
    const yaml = "auth:\n  mode: api\nagents:\n  code:\n    daily_cap_usd: 1\n";
    expect(configFrom(yaml).auth.mode).toBe("api");
    expect(
      parseConfig(yaml, "/tmp/x/producer.yaml", { PRODUCER_AUTH_MODE: "inherit" }).auth.mode,
    ).toBe("inherit");
  });

  it("a subscription dispatch reaches claude without the key and with no actual cost", async () => {
    const s = setup();
    s.login();
    const project = await tempProjectWithLedger(
      "auth:\n  mode: subscription\nagents:\n  code:\n    daily_cap_usd: 5\n",
    );
    const task = await project.fileTask("code");
    const env = {
      HOME: s.home,
      PATH: process.env.PATH,
      ANTHROPIC_API_KEY: KEY,
      CLAUDE_FAKE_MODE: "env",
    };
    const result = await invokeOnce(project, task, env, {
      invoker: new ClaudeAgentInvoker({
        pathToClaudeCodeExecutable: FAKE_CLAUDE_PATH,
        warn: () => {},
      }),
    });
    const seen = JSON.parse(result.resultText!);
    expect(seen.env).toMatchObject({
      ANTHROPIC_API_KEY: false,
      CLAUDE_CONFIG_DIR: join(project.config.agentStateDir, "claude-config", "subscription"),
      GIT_TERMINAL_PROMPT: "0",
    });
    expect(result.actualCostUsd).toBeNull();
    expect(result.costUsd).toBeGreaterThan(0);
  });
});
