import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { findConfigPath } from "../src/config/find.js";
import { loadConfig, parseConfig } from "../src/config/load.js";
import { ConfigError } from "../src/errors.js";
import { editDistance, suggest } from "../src/text/suggest.js";

let dir: string;

beforeEach(() => {
  // realpath: macOS's tmpdir is a symlink, and paths are compared exactly below.
  dir = realpathSync(mkdtempSync(join(tmpdir(), "producer-config-")));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes `text` to `<dir>/<name>` (creating folders) and returns its path. */
function write(name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
  return path;
}

/** Runs `fn`, which must throw a ConfigError, and returns it. */
async function configError(fn: () => unknown): Promise<ConfigError> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

/** The problems of a ConfigError as `path: message` lines, the way the CLI prints them. */
function lines(error: ConfigError): string[] {
  return error.problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message));
}

const MINIMAL = "agents:\n  code:\n    daily_cap_usd: 20\n";

describe("loadConfig defaults", () => {
  it("fills in every default for a minimal file", async () => {
    const file = write("producer.yaml", MINIMAL);
    const config = await loadConfig(file, { env: {} });
    const state = join(dir, "agent-state");
    expect(config).toEqual({
      configPath: file,
      projectName: basename(dir),
      projectRoot: dir,
      agentStateDir: state,
      killSwitch: join(state, "kill_switch"),
      ledgerDb: join(state, "ledger.db"),
      ledgerUrl: null,
      escalationsDir: join(state, "escalations"),
      reportsDir: state,
      pollIntervalSeconds: 10,
      idleThresholdPolls: 12,
      reportIntervalHours: 6,
      maxConcurrentDispatches: 1,
      leaseSeconds: 30,
      notifications: {
        ntfyTopic: "",
        ntfyServer: "https://ntfy.sh",
        subjectPrefix: basename(dir),
      },
      budget: { projectCeilingUsd: 200, softCapRatio: 0.8, forecastWarningMinutes: 60 },
      auth: { mode: "auto", bypassPermissions: false },
      retry: { maxRetries: 3, backoffSeconds: 30, apiWaitSeconds: 60 },
      guardrails: { maxDepth: 20, maxChildrenPerTask: 50, maxTasksPerRolePerHour: 500 },
      pricing: {
        overrideFile: join(state, "pricing.json"),
        updateSource:
          "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json",
      },
      agents: {
        code: {
          name: "code",
          dailyCapUsd: 20,
          dispatchReservationUsd: null,
          allowedTools: ["Read", "Glob", "Grep"],
          env: [],
          prompt: join(dir, "agents", "code", "system_prompt.md"),
          promptRequired: true,
          maxConcurrent: 1,
          timeoutMinutes: 30,
          model: "claude-sonnet-5-5",
          maxTurns: 30,
          runtime: "claude",
          command: null,
          requiresApproval: false,
        },
      },
    });
  });

  it("keeps roles in file order and reads every role setting", async () => {
    const file = write(
      "producer.yaml",
      [
        "project_name: Demo",
        "notifications:",
        "  ntfy_topic: demo-alerts",
        "  ntfy_server: https://ntfy.example.org/",
        "agents:",
        "  qa:",
        "    daily_cap_usd: 5",
        "    dispatch_reservation_usd: 0.1",
        "    allowed_tools: [Read, Bash]",
        "    max_concurrent: 2",
        "    timeout_minutes: 12.5",
        "    model: claude-opus-4-1",
        "    max_turns: 7",
        "  build:",
        "    daily_cap_usd: 1",
        "    runtime: exec",
        "    command: [./build.sh, --fast]",
        "",
      ].join("\n"),
    );
    const config = await loadConfig(file, { env: {} });
    expect(Object.keys(config.agents)).toEqual(["qa", "build"]);
    expect(config.notifications).toEqual({
      ntfyTopic: "demo-alerts",
      ntfyServer: "https://ntfy.example.org",
      subjectPrefix: "Demo",
    });
    expect(config.agents.qa).toMatchObject({
      dispatchReservationUsd: 0.1,
      allowedTools: ["Read", "Bash"],
      maxConcurrent: 2,
      timeoutMinutes: 12.5,
      model: "claude-opus-4-1",
      maxTurns: 7,
      command: null,
    });
    expect(config.agents.build).toMatchObject({
      runtime: "exec",
      command: ["./build.sh", "--fast"],
    });
  });

  it("treats an empty value as the default and an empty role as a role without settings", async () => {
    const text = "poll_interval_seconds:\nnotifications:\nagents:\n  code:\n";
    const error = await configError(() => parseConfig(text, "/p/producer.yaml", {}));
    expect(lines(error)).toEqual(["agents.code.daily_cap_usd: is required"]);
  });

  it("allows a role cap above the project ceiling (the ceiling binds)", () => {
    const config = parseConfig(
      "budget:\n  project_ceiling_usd: 10\nagents:\n  code:\n    daily_cap_usd: 50\n",
      join(dir, "producer.yaml"),
      {},
    );
    expect(config.agents.code?.dailyCapUsd).toBe(50);
    expect(config.budget.projectCeilingUsd).toBe(10);
  });
});

describe("loadConfig paths", () => {
  it("resolves a relative project_root against the yaml's folder, not the cwd", async () => {
    const file = write(
      "conf/producer.yaml",
      `project_root: ../game\nledger_db: data/ledger.db\n${MINIMAL}`,
    );
    const config = await loadConfig(file, { env: {} });
    const root = join(dir, "game");
    expect(config.projectRoot).toBe(root);
    expect(config.projectName).toBe("game");
    expect(config.ledgerDb).toBe(join(root, "data", "ledger.db"));
    expect(config.killSwitch).toBe(join(root, "agent-state", "kill_switch"));
    expect(config.agents.code?.prompt).toBe(join(root, "agents", "code", "system_prompt.md"));
  });

  it("keeps absolute paths and resolves the rest against project_root", async () => {
    const elsewhere = join(dir, "elsewhere");
    const file = write(
      "producer.yaml",
      [
        "project_root: proj",
        "agent_state_dir: state",
        `kill_switch: ${join(elsewhere, "STOP")}`,
        "escalations_dir: esc",
        "reports_dir: reports",
        "pricing:",
        "  override_file: prices.json",
        "  update_source: vendor/prices.json",
        "agents:",
        "  code:",
        "    daily_cap_usd: 20",
        `    prompt: ${join(elsewhere, "code.md")}`,
        "  art:",
        "    daily_cap_usd: 3",
        "    prompt: prompts/art.md",
        "",
      ].join("\n"),
    );
    const config = await loadConfig(file, { env: {} });
    const root = join(dir, "proj");
    expect(config.agentStateDir).toBe(join(root, "state"));
    expect(config.killSwitch).toBe(join(elsewhere, "STOP"));
    expect(config.ledgerDb).toBe(join(root, "state", "ledger.db"));
    expect(config.escalationsDir).toBe(join(root, "esc"));
    expect(config.reportsDir).toBe(join(root, "reports"));
    expect(config.pricing).toEqual({
      overrideFile: join(root, "prices.json"),
      updateSource: join(root, "vendor", "prices.json"),
    });
    expect(config.agents.code?.prompt).toBe(join(elsewhere, "code.md"));
    expect(config.agents.art?.prompt).toBe(join(root, "prompts", "art.md"));
  });
});

describe("PRODUCER_AUTH_MODE", () => {
  it("overrides auth.mode", async () => {
    const file = write("producer.yaml", `auth:\n  mode: api\n${MINIMAL}`);
    expect((await loadConfig(file, { env: {} })).auth.mode).toBe("api");
    const config = await loadConfig(file, { env: { PRODUCER_AUTH_MODE: "inherit" } });
    expect(config.auth.mode).toBe("inherit");
  });

  it("reports a bad value with the variable as its path", async () => {
    const file = write("producer.yaml", MINIMAL);
    const error = await configError(() =>
      loadConfig(file, { env: { PRODUCER_AUTH_MODE: "subscripton" } }),
    );
    expect(lines(error)).toEqual([
      'PRODUCER_AUTH_MODE: must be one of auto, api, subscription or inherit, got "subscripton" (did you mean "subscription"?)',
    ]);
  });
});

describe("invalid files", () => {
  it("reports every mistake at once, in file order, each with its key path", async () => {
    const file = write(
      "producer.yaml",
      [
        "project_name: demo",
        "poll_interval_seconds: abc",
        "lease_seconds: 2",
        "soft_cap_ratio: 0.5",
        "budget:",
        "  soft_cap_ratio: 1.5",
        "  forecast_warning_minutes: -5",
        "notifications:",
        "  ntfy_topic: 12345",
        "auth:",
        "  mode: keychain",
        "agents:",
        "  code:",
        "    daily_cap_usd: -5",
        "    daly_cap_usd: 3",
        "    allowed_tools: Read",
        "  build:",
        "    daily_cap_usd: 2",
        "    runtime: exec",
        "  Code Reviewer:",
        "    daily_cap_usd: 1",
        "    dispatch_reservation_usd: 2",
        "    command: [make]",
        "    colour: blue",
        "",
      ].join("\n"),
    );
    const error = await configError(() => loadConfig(file, { env: {} }));
    expect(error.file).toBe(file);
    expect(lines(error)).toEqual([
      'poll_interval_seconds: must be a number, got "abc"',
      "lease_seconds: must be a whole number of at least 5",
      "soft_cap_ratio: unknown key (it belongs under budget:)",
      "budget.soft_cap_ratio: must be greater than 0 and at most 1",
      "budget.forecast_warning_minutes: must be a number, 0 or more",
      'notifications.ntfy_topic: must be a string, got 12345 (put it in quotes: "12345")',
      'auth.mode: must be one of auto, api, subscription or inherit, got "keychain"',
      "agents.code.daily_cap_usd: must be a positive number",
      'agents.code.daly_cap_usd: unknown key (did you mean "daily_cap_usd"?)',
      'agents.code.allowed_tools: must be a list of strings, got "Read"',
      "agents.build.command: is required when runtime is exec",
      'agents["Code Reviewer"]: invalid role name: use a lowercase letter first, then lowercase letters, digits, "_" or "-" (at most 40 characters)',
      'agents["Code Reviewer"].dispatch_reservation_usd: must not exceed daily_cap_usd (2 > 1)',
      'agents["Code Reviewer"].command: is only allowed with runtime: exec',
      'agents["Code Reviewer"].colour: unknown key (allowed keys: daily_cap_usd, dispatch_reservation_usd, allowed_tools, env, prompt, max_concurrent, timeout_minutes, model, max_turns, runtime, command, requires_approval)',
    ]);
    expect(error.message.split("\n").slice(0, 3)).toEqual([
      `${file} has 15 problems:`,
      '  - poll_interval_seconds: must be a number, got "abc"',
      "  - lease_seconds: must be a whole number of at least 5",
    ]);
  });

  it("words type and range mistakes in lists, integers and URLs", async () => {
    const error = await configError(() =>
      parseConfig(
        [
          "idle_threshold_polls: 1.5",
          "max_concurrent_dispatches: 0",
          "notifications:",
          "  ntfy_server: ntfy.sh",
          "retry:",
          "  max_retries: -1",
          "agents:",
          "  code:",
          "    daily_cap_usd: '20'",
          "    allowed_tools: [Read, 5]",
          "    runtime: docker",
          "  build:",
          "    daily_cap_usd: 1",
          "    runtime: exec",
          "    command: []",
          "",
        ].join("\n"),
        join(dir, "producer.yaml"),
        {},
      ),
    );
    expect(lines(error)).toEqual([
      "idle_threshold_polls: must be a whole number, got 1.5",
      "max_concurrent_dispatches: must be a positive whole number",
      "notifications.ntfy_server: must be an http:// or https:// URL",
      "retry.max_retries: must be a whole number of at least 0",
      'agents.code.daily_cap_usd: must be a number, got "20"',
      'agents.code.allowed_tools[1]: must be a string, got 5 (put it in quotes: "5")',
      'agents.code.runtime: must be one of claude or exec, got "docker"',
      "agents.build.command: must be a non-empty list of strings (the program, then its arguments)",
    ]);
  });

  it("requires at least one role", async () => {
    const none = write("none.yaml", "project_name: x\n");
    expect(lines(await configError(() => loadConfig(none, { env: {} })))).toEqual([
      "agents: is required: declare at least one role",
    ]);
    const empty = write("empty-agents.yaml", "agents: {}\n");
    expect(lines(await configError(() => loadConfig(empty, { env: {} })))).toEqual([
      "agents: must declare at least one role",
    ]);
    const list = write("list-agents.yaml", "agents: [code]\n");
    expect(lines(await configError(() => loadConfig(list, { env: {} })))).toEqual([
      "agents: must be a mapping of role names to their settings, got a list",
    ]);
  });

  it("gives the line and column of a YAML syntax error", async () => {
    const file = write("producer.yaml", "agents:\n  code:\n    daily_cap_usd: 5\n   model: x\n");
    const error = await configError(() => loadConfig(file, { env: {} }));
    expect(lines(error)).toEqual([
      "invalid YAML at line 4, column 1: All mapping items must start at the same column",
    ]);
    expect(error.message).toBe(
      `${file}: invalid YAML at line 4, column 1: All mapping items must start at the same column`,
    );
  });

  it("reports duplicate keys and several documents as YAML errors", async () => {
    const file = write("producer.yaml", `${MINIMAL}agents:\n  qa:\n    daily_cap_usd: 1\n`);
    expect(lines(await configError(() => loadConfig(file, { env: {} })))).toEqual([
      "invalid YAML at line 4, column 1: Map keys must be unique",
    ]);
    const docs = write("docs.yaml", `${MINIMAL}---\n${MINIMAL}`);
    expect(lines(await configError(() => loadConfig(docs, { env: {} })))).toEqual([
      "invalid YAML at line 4, column 1: the file must hold a single YAML document (remove the `---` separator)",
    ]);
  });

  it("reports a missing file with a way forward", async () => {
    const file = join(dir, "producer.yaml");
    const error = await configError(() => loadConfig(file, { env: {} }));
    expect(error.file).toBe(file);
    expect(error.message).toBe(
      `${file}: not found: run \`producer init\` to create one, or pass --config`,
    );
  });

  it("reports a folder given as the file", async () => {
    const error = await configError(() => loadConfig(dir, { env: {} }));
    expect(lines(error)).toEqual([
      "is a folder, not a file: pass the path of producer.yaml inside it",
    ]);
  });

  it("reports an empty file and a file that is not a mapping", async () => {
    const empty = write("producer.yaml", "# nothing yet\n");
    expect(lines(await configError(() => loadConfig(empty, { env: {} })))).toEqual([
      "the file is empty: declare at least one role under agents: (or run `producer init`)",
    ]);
    const list = write("list.yaml", "- code\n- qa\n");
    expect(lines(await configError(() => loadConfig(list, { env: {} })))).toEqual([
      "the top level must be a mapping of keys to values, got a list",
    ]);
    const scalar = write("scalar.yaml", "hello\n");
    expect(lines(await configError(() => loadConfig(scalar, { env: {} })))).toEqual([
      'the top level must be a mapping of keys to values, got "hello"',
    ]);
  });

  it("lets roles share settings through YAML anchors and merge keys", async () => {
    const file = write(
      "producer.yaml",
      "agents:\n  a: &a { daily_cap_usd: 4, model: m }\n  b: { <<: *a, max_turns: 3 }\n",
    );
    const config = await loadConfig(file, { env: {} });
    expect(config.agents.b).toMatchObject({ dailyCapUsd: 4, model: "m", maxTurns: 3 });
  });

  it("reports an unreadable file without a stack trace", async (context) => {
    if (process.getuid?.() === 0) context.skip(); // root reads anything
    const file = write("producer.yaml", MINIMAL);
    chmodSync(file, 0o000);
    const error = await configError(() => loadConfig(file, { env: {} }));
    expect(error.message).toBe(`${file}: cannot be read: permission denied`);
  });
});

describe("findConfigPath", () => {
  it("walks up from a nested folder to the nearest producer.yaml", () => {
    const file = write("producer.yaml", MINIMAL);
    const nested = join(dir, "src", "deep", "er");
    mkdirSync(nested, { recursive: true });
    expect(findConfigPath({ cwd: nested, env: {} })).toBe(file);
  });

  it("prefers an explicit path, then PRODUCER_CONFIG, resolved against cwd", () => {
    write("producer.yaml", MINIMAL);
    const other = write("other/custom.yaml", MINIMAL);
    const env = { PRODUCER_CONFIG: "other/custom.yaml" };
    expect(findConfigPath({ cwd: dir, env })).toBe(other);
    expect(findConfigPath({ cwd: dir, env, explicit: "x.yaml" })).toBe(join(dir, "x.yaml"));
    expect(findConfigPath({ cwd: dir, env: { PRODUCER_CONFIG: join(dir, "other") } })).toBe(
      join(dir, "other", "producer.yaml"),
    );
  });

  it("says how to get a producer.yaml when there is none", async () => {
    const error = await configError(() => findConfigPath({ cwd: dir, env: {} }));
    expect(lines(error)).toEqual([
      `no producer.yaml in ${dir} or any parent folder: run \`producer init\`, or pass --config`,
    ]);
  });
});

describe("suggest", () => {
  it("counts a swap of neighbours as one edit", () => {
    expect(editDistance("daily_cap_usd", "daily_cpa_usd")).toBe(1);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("kitten", "sitting")).toBe(3);
  });

  it("suggests only close candidates", () => {
    const keys = ["daily_cap_usd", "model", "prompt"];
    expect(suggest("daly_cap_usd", keys)).toBe("daily_cap_usd");
    expect(suggest("Model", keys)).toBe("model");
    expect(suggest("modle", keys)).toBe("model");
    expect(suggest("colour", keys)).toBeUndefined();
  });
});

describe("retry.backoff_seconds", () => {
  it("takes 0 (retry at once) and refuses a negative wait by name", async () => {
    const base = "agents:\n  code:\n    daily_cap_usd: 1\nretry:\n  backoff_seconds:";
    const config = parseConfig(`${base} 0\n`, "/p/producer.yaml", {});
    expect(config.retry.backoffSeconds).toBe(0);
    const error = await configError(() => parseConfig(`${base} -1\n`, "/p/producer.yaml", {}));
    expect(lines(error)).toEqual(["retry.backoff_seconds: must be a number, 0 or more"]);
  });
});

describe("retry.api_wait_seconds", () => {
  it("defaults to a minute, takes a positive number and refuses 0 by name", async () => {
    const base = "agents:\n  code:\n    daily_cap_usd: 1\n";
    expect(parseConfig(base, "/p/producer.yaml", {}).retry.apiWaitSeconds).toBe(60);
    const set = parseConfig(`${base}retry:\n  api_wait_seconds: 5\n`, "/p/producer.yaml", {});
    expect(set.retry.apiWaitSeconds).toBe(5);
    const error = await configError(() =>
      parseConfig(`${base}retry:\n  api_wait_seconds: 0\n`, "/p/producer.yaml", {}),
    );
    expect(lines(error)).toEqual(["retry.api_wait_seconds: must be a positive number"]);
  });
});
