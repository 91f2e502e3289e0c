// The Claude runtime end to end: the real Agent SDK and the real bundled `claude` against a
// fake Messages API (route 1), and the real SDK against a fake `claude` (route 2).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  ClaudeAgentInvoker,
  computeCost,
  type InvocationResult,
  loadPriceTable,
} from "../src/index.js";
import {
  claudeTestEnv,
  errorTurn,
  FAKE_CLAUDE_PATH,
  type FakeAnthropic,
  type FakeScriptEntry,
  startFakeAnthropic,
  textTurn,
  toolTurn,
} from "./helpers/fake-anthropic.js";
import { invokeOnce, tempProjectWithLedger } from "./helpers/project.js";

const YAML = (roleExtra = "", top = "auth:\n  mode: api\n") => `
project_name: rt
${top}agents:
  code:
    daily_cap_usd: 5
    model: claude-sonnet-4-5
    max_turns: 6
    allowed_tools: [Read, Write]
${roleExtra}
  qa:
    daily_cap_usd: 5
`;

let fake: FakeAnthropic | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

type Project = Awaited<ReturnType<typeof tempProjectWithLedger>>;

/** Files a `code` task in a fresh project and dispatches it once. */
async function dispatch(
  options: {
    yaml?: string;
    script?: (project: Project) => FakeScriptEntry[];
    fallback?: FakeScriptEntry;
    budgetUsd?: number;
    env?: (project: Project) => Record<string, string>;
    invoker?: ClaudeAgentInvoker;
    signal?: AbortSignal;
  } = {},
) {
  const project = await tempProjectWithLedger(options.yaml ?? YAML());
  if (options.script || options.fallback) {
    fake = await startFakeAnthropic({
      script: options.script?.(project) ?? [],
      fallback: options.fallback,
    });
  }
  const task = await project.fileTask("code");
  const env = options.env
    ? options.env(project)
    : claudeTestEnv(fake!, join(project.dir, "ignored-config-dir"));
  const result: InvocationResult = await invokeOnce(project, task, env, {
    invoker: options.invoker,
    budgetUsd: options.budgetUsd,
    signal: options.signal,
  });
  return { ...project, task, result };
}

describe("Claude runtime: real claude against a fake Messages API", () => {
  it("files a task and records a decision through the ledger tools, attributed, and writes a file", async () => {
    const { result, ledger, task, dir, config } = await dispatch({
      script: (p) => [
        toolTurn("mcp__ledger__record_decision", {
          decision_text: "Use a reducer",
          rationale: "keeps state in one place",
          kind: "implementation",
        }),
        toolTurn("mcp__ledger__insert_task", {
          agent_owner: "qa",
          title: "Test the reducer",
          priority: 3,
          payload: { area: "state" },
        }),
        toolTurn("Write", {
          file_path: join(p.dir, "src", "reducer.ts"),
          content: "export const r = 1;\n",
        }),
        textTurn("Done: reducer written, QA task filed."),
      ],
    });
    expect(result).toMatchObject({
      ok: true,
      errorKind: null,
      turns: 4,
      toolCalls: 3,
      ledgerWrites: 2,
      model: "claude-sonnet-4-5",
      resultText: "Done: reducer written, QA task filed.",
    });
    expect(result.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(readFileSync(join(dir, "src", "reducer.ts"), "utf8")).toBe("export const r = 1;\n");

    const [decision] = await ledger.listDecisions({ taskId: task.id });
    expect(decision).toMatchObject({
      agentOwner: "code",
      kind: "implementation",
      decisionText: "Use a reducer",
      rationale: "keeps state in one place",
    });
    const [child] = await ledger.listChildren(task.id);
    expect(child).toMatchObject({
      agentOwner: "qa",
      title: "Test the reducer",
      priority: 3,
      payload: { area: "state" },
      parentTaskId: task.id,
      createdBy: "code",
      depth: 1,
    });
    expect((await ledger.recentAudit(1, child!.id))[0]).toMatchObject({
      actor: "code",
      action: "task.created",
    });

    // Four turns of 1000/50/200/300 tokens on claude-sonnet-4-5, priced with our table.
    expect(result.usage).toEqual({
      inputTokens: 4000,
      outputTokens: 200,
      cacheCreationTokens: 800,
      cacheReadTokens: 1200,
    });
    expect(result.usageByModel).toEqual({ "claude-sonnet-4-5": result.usage });
    expect(result.costUsd).toBeCloseTo(
      computeCost("claude-sonnet-4-5", result.usage, loadPriceTable()).costUsd,
      12,
    );
    expect(result.costUsd).toBeCloseTo(4 * 0.00459, 12);
    expect(result.actualCostUsd).toBeCloseTo(4 * 0.00459, 12);
    // The isolated config dir lives under agent-state, never in the user's ~/.claude.
    expect(existsSync(join(config.agentStateDir, "claude-config", "api", ".claude.json"))).toBe(
      true,
    );
  });

  it("reports a refused ledger write to the agent as a tool error it can read", async () => {
    const { result, ledger, task } = await dispatch({
      script: () => [
        toolTurn("mcp__ledger__insert_task", { agent_owner: "marketing", title: "Tweet it" }),
        (body) => {
          const text = JSON.stringify(body.messages ?? []);
          return textTurn(
            text.includes('refused: unknown role \\"marketing\\"')
              ? "saw the refusal"
              : "no refusal seen",
          );
        },
      ],
    });
    expect(result.resultText).toBe("saw the refusal");
    expect(result).toMatchObject({ ledgerWrites: 0, toolCalls: 1, ok: true });
    expect(await ledger.listChildren(task.id)).toEqual([]);
  });

  it("files a task that waits for approval when the agent asks for one through insert_task", async () => {
    const { result, ledger, task } = await dispatch({
      script: () => [
        toolTurn("mcp__ledger__insert_task", {
          agent_owner: "qa",
          title: "Run the migration on production",
          requires_approval: true,
        }),
        (body) => {
          const text = JSON.stringify(body.messages ?? []);
          return textTurn(
            text.includes("(awaiting a human's approval)") ? "told it waits" : "not told",
          );
        },
      ],
    });
    expect(result.resultText).toBe("told it waits");
    const [child] = await ledger.listChildren(task.id);
    expect(child).toMatchObject({ status: "awaiting_approval", createdBy: "code" });
  });

  it("maps hitting max_turns", async () => {
    const { result } = await dispatch({
      yaml: YAML("    max_turns: 2\n").replace("    max_turns: 6\n", ""),
      fallback: toolTurn("Read", { file_path: "/etc/hostname" }),
    });
    expect(result).toMatchObject({ ok: false, errorKind: "max_turns", retryable: true });
    expect(result.error).toBe("the agent hit its turn limit: Reached maximum number of turns (2)");
    expect(result.costUsd).toBeGreaterThan(0);
  });

  it("maps hitting the per-call spending limit, accounting from modelUsage", async () => {
    const big = {
      input_tokens: 1_000_000,
      output_tokens: 100_000,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    };
    const { result } = await dispatch({
      budgetUsd: 0.01,
      fallback: toolTurn("Read", { file_path: "/etc/hostname" }, big),
    });
    expect(result).toMatchObject({ ok: false, errorKind: "max_budget" });
    expect(result.error).toBe(
      "the agent hit this call's spending limit: Reached maximum budget ($0.01)",
    );
    // $3 x 1M input + $15 x 100k output on claude-sonnet-4-5.
    expect(result.costUsd).toBeCloseTo(4.5, 9);
    expect(result.usage.inputTokens).toBe(1_000_000);
  });

  it("fails a text-only answer as no productive output", async () => {
    const { result } = await dispatch({ script: () => [textTurn("I would do it like this...")] });
    expect(result).toMatchObject({
      ok: false,
      errorKind: "no_productive_output",
      error: "the agent answered with text only: no tool used, nothing written to the ledger",
      resultText: "I would do it like this...",
      toolCalls: 0,
      ledgerWrites: 0,
    });
    expect(result.costUsd).toBeCloseTo(0.00459, 12);
  });

  it("maps API errors: a 500 is an api_error, a 401 a credentials problem", async () => {
    const server = await dispatch({ script: () => [errorTurn(500, "upstream exploded")] });
    expect(server.result).toMatchObject({ ok: false, errorKind: "api_error", retryable: true });
    expect(server.result.error).toMatch(/^the Claude API failed: API Error: 500 upstream exploded/);
    await fake?.close();
    const auth = await dispatch({ script: () => [errorTurn(401, "invalid x-api-key")] });
    expect(auth.result).toMatchObject({ ok: false, errorKind: "not_logged_in", retryable: false });
    expect(auth.result.error).toMatch(
      /^Claude refused the credentials \(.+\): set ANTHROPIC_API_KEY/,
    );
  });
});

describe("Claude runtime: real SDK against a fake claude", () => {
  const viaFake = (mode: string, extra: Record<string, string> = {}) => ({
    invoker: new ClaudeAgentInvoker({
      pathToClaudeCodeExecutable: FAKE_CLAUDE_PATH,
      warn: () => {},
    }),
    env: () => ({
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      ANTHROPIC_API_KEY: "sk-ant-test-not-a-real-key",
      CLAUDE_FAKE_MODE: mode,
      ...extra,
    }),
  });

  it("reports a crash with the stderr line", async () => {
    const { result } = await dispatch(viaFake("crash"));
    expect(result).toMatchObject({ ok: false, errorKind: "crash", retryable: true });
    expect(result.error).toBe(
      "the claude process failed before finishing: Claude Code process exited with code 3. stderr: fake claude: something exploded (simulated crash)",
    );
  });

  it("keeps an error result that is followed by a non-zero exit", async () => {
    const { result } = await dispatch(viaFake("error"));
    expect(result).toMatchObject({
      ok: false,
      errorKind: "crash",
      error: "the agent's run failed: simulated failure",
    });
  });

  it("says how to log in when claude is not logged in", async () => {
    const { result } = await dispatch(viaFake("not-logged-in"));
    expect(result).toMatchObject({ ok: false, errorKind: "not_logged_in", retryable: false });
    expect(result.error).toBe(
      "Claude refused the credentials (Not logged in · Please run /login): set ANTHROPIC_API_KEY (in the environment or in the project's .env), or log in with `claude` and use auth.mode: subscription, or use auth.mode: inherit to run with your own Claude Code setup",
    );
  });

  it("stops a hung call at the role's timeout", async () => {
    const started = Date.now();
    const { result } = await dispatch({
      ...viaFake("hang"),
      yaml: YAML("    timeout_minutes: 0.02\n"),
    });
    expect(result).toMatchObject({
      ok: false,
      errorKind: "timeout",
      error: "the call ran past its 0.02-minute timeout and was stopped",
    });
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("aborts on the signal (kill --now, second Ctrl-C)", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 500);
    const { result } = await dispatch({ ...viaFake("hang"), signal: controller.signal });
    expect(result).toMatchObject({ ok: false, errorKind: "aborted" });
  });

  it("gives the agent the PRODUCER_* environment and never a prompt", async () => {
    const { result, task, config } = await dispatch(viaFake("env"));
    const seen = JSON.parse(result.resultText!);
    expect(seen.env).toMatchObject({
      PRODUCER_TASK_ID: task.id,
      PRODUCER_ROLE: "code",
      PRODUCER_CONFIG: config.configPath,
      GIT_TERMINAL_PROMPT: "0",
      CLAUDE_CONFIG_DIR: join(config.agentStateDir, "claude-config", "api"),
    });
    const argv = seen.argv.join(" ");
    expect(argv).toMatch(/--permission-mode[= ]dontAsk/);
    expect(argv).toMatch(/--max-budget-usd[= ]1\b/);
    expect(argv).toMatch(/--max-turns[= ]6\b/);
    expect(argv).toMatch(/--model[= ]claude-sonnet-4-5\b/);
    expect(argv).toMatch(/--allowedTools[= ]\S*mcp__ledger__insert_task/);
    expect(argv).toMatch(/--setting-sources(=| |$)/);
  });
});
