// Smoke test of the offline SDK harness: the real Agent SDK driving (1) the real bundled `claude`
// against the fake Messages API and (2) the fake `claude` executable. Each real CLI start costs
// ~0.5 s of CPU, so this file stays small; feature tests build on the same helpers.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Options } from "@anthropic-ai/claude-agent-sdk";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  claudeTestEnv,
  FAKE_CLAUDE_PATH,
  type FakeAnthropic,
  offeredTools,
  runQuery,
  startFakeAnthropic,
  TURN_COST_USD,
  textTurn,
  toolResults,
  toolTurn,
} from "./helpers/fake-anthropic.js";
import { tempDir } from "./helpers/temp.js";

const sdk = await import("@anthropic-ai/claude-agent-sdk");

const MODEL = "claude-sonnet-4-5";

let fake: FakeAnthropic | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** Options every run shares: no prompts, no user settings, nothing persisted. */
function baseOptions(cwd: string, env: Record<string, string>): Options {
  return {
    cwd,
    env,
    model: MODEL,
    maxTurns: 6,
    settingSources: [],
    persistSession: false,
    permissionMode: "dontAsk",
  };
}

describe("route 1: real SDK + real claude + fake Messages API", () => {
  it("runs an in-process MCP tool, a Write and a final text, and prices all three turns", async () => {
    const cwd = tempDir("sdk-harness-cwd-");
    const configDir = tempDir("sdk-harness-cfg-");
    const decisions: Array<{ title: string; rationale: string }> = [];
    const ledger = sdk.createSdkMcpServer({
      name: "ledger",
      version: "1.0.0",
      tools: [
        sdk.tool(
          "record_decision",
          "Record a decision",
          { title: z.string(), rationale: z.string() },
          async (args) => {
            decisions.push(args);
            return { content: [{ type: "text", text: `recorded: ${args.title}` }] };
          },
        ),
      ],
    });
    fake = await startFakeAnthropic({
      script: [
        toolTurn("mcp__ledger__record_decision", { title: "Use SQLite", rationale: "simple" }),
        toolTurn("Write", { file_path: join(cwd, "out.txt"), content: "hi\n" }),
        // Dynamic turn: proves the MCP handler's answer travelled back to the model.
        (body) => textTurn(`All done. ${toolResults(body)[0]?.text.split("\n")[0] ?? "no result"}`),
      ],
    });
    const api = fake;

    const run = await runQuery(
      (abortController) =>
        sdk.query({
          prompt: "Record a decision, then write out.txt",
          options: {
            ...baseOptions(cwd, claudeTestEnv(api, configDir)),
            tools: ["Write"],
            allowedTools: ["Write", "mcp__ledger__record_decision"],
            mcpServers: { ledger },
            abortController,
          },
        }),
      45_000,
    );

    expect(run.error).toBeUndefined();
    expect(decisions).toEqual([{ title: "Use SQLite", rationale: "simple" }]);
    expect(readFileSync(join(cwd, "out.txt"), "utf8")).toBe("hi\n");
    const result = run.result;
    expect(result?.subtype).toBe("success");
    if (result?.subtype !== "success") return;
    expect(result.is_error).toBe(false);
    expect(result.num_turns).toBe(3);
    expect(result.result).toBe("All done. recorded: Use SQLite");
    expect(result.total_cost_usd).toBeCloseTo(3 * TURN_COST_USD, 9);
    expect(result.total_cost_usd).toBeCloseTo(0.01377, 9);
    expect(result.modelUsage[MODEL]).toMatchObject({
      inputTokens: 3000,
      outputTokens: 150,
      cacheCreationInputTokens: 600,
      cacheReadInputTokens: 900,
    });

    const calls = api.messageRequests();
    expect(calls).toHaveLength(3);
    expect(calls[0]?.url).toContain("?beta=true");
    expect(calls[0]?.headers["x-api-key"]).toBe("sk-ant-test-not-a-real-key");
    expect(api.requests.every((r) => r.path === "/v1/messages")).toBe(true);
    // The isolated config dir took the CLI's state instead of ~/.claude.
    expect(existsSync(join(configDir, ".claude.json"))).toBe(true);
  });

  it("the fake refuses to script a call of a tool the request did not offer, as no model could make it", async () => {
    const cwd = tempDir("sdk-harness-cwd-");
    const api = await startFakeAnthropic({
      script: [toolTurn("Bash", { command: "touch escaped.txt" })],
    });
    const run = await runQuery(
      (abortController) =>
        sdk.query({
          prompt: "Run a command",
          options: {
            ...baseOptions(cwd, claudeTestEnv(api, tempDir("sdk-harness-cfg-"))),
            tools: ["Read"],
            allowedTools: ["Read", "Bash"],
            abortController,
          },
        }),
      45_000,
    );
    expect(offeredTools(api.messageRequests()[0]!.body)).toEqual(["Read"]);
    expect(api.refused).toEqual([
      "request 0 scripts a call of Bash, which it does not offer (offered: Read)",
    ]);
    expect(String(run.error)).toContain("fake refused");
    expect(existsSync(join(cwd, "escaped.txt"))).toBe(false);
    await expect(api.close()).rejects.toThrow(
      "the fake Messages API refused impossible calls: request 0 scripts a call of Bash",
    );
  });
});

describe("route 2: real SDK + fake claude executable", () => {
  function fakeClaudeOptions(mode: string, abortController: AbortController): Options {
    const cwd = tempDir("sdk-harness-fc-");
    return {
      ...baseOptions(cwd, {
        PATH: process.env.PATH ?? "",
        CLAUDE_FAKE_MODE: mode,
        CLAUDE_FAKE_LOG: join(cwd, "fake-claude.jsonl"),
      }),
      pathToClaudeCodeExecutable: FAKE_CLAUDE_PATH,
      abortController,
    };
  }

  it("ok: yields init, assistant and a priced success result", async () => {
    let logFile = "";
    const run = await runQuery((abortController) => {
      const options = fakeClaudeOptions("ok", abortController);
      logFile = options.env?.CLAUDE_FAKE_LOG ?? "";
      return sdk.query({ prompt: "hello fake", options });
    }, 15_000);

    expect(run.error).toBeUndefined();
    expect(run.messages.map((m) => m.type)).toEqual(["system", "assistant", "result"]);
    const result = run.result;
    expect(result?.subtype).toBe("success");
    if (result?.subtype !== "success") return;
    expect(result.result).toBe("echo: hello fake");
    expect(result.total_cost_usd).toBe(TURN_COST_USD);
    expect(result.modelUsage[MODEL]).toMatchObject({
      inputTokens: 1000,
      outputTokens: 50,
      cacheCreationInputTokens: 200,
      cacheReadInputTokens: 300,
    });
    const [invocation] = readFileSync(logFile, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { argv: string[]; initialize: { subtype: string } });
    expect(invocation?.argv).toContain("--output-format");
    expect(invocation?.argv).toContain(`--model=${MODEL}`);
    expect(invocation?.initialize.subtype).toBe("initialize");
  });

  it("crash: the iterator throws with the exit code and stderr, nothing is yielded", async () => {
    const run = await runQuery(
      (abortController) =>
        sdk.query({ prompt: "hello fake", options: fakeClaudeOptions("crash", abortController) }),
      15_000,
    );

    expect(run.timedOut).toBe(false);
    expect(run.messages).toEqual([]);
    expect(run.result).toBeUndefined();
    expect(String(run.error)).toContain("exited with code 3");
    expect(String(run.error)).toContain("simulated crash");
  });
});
