import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type CallProgress, computeCost, type InvocationResult } from "../src/index.js";
import {
  claudeTestEnv,
  DEFAULT_USAGE,
  errorTurn,
  type FakeAnthropic,
  type FakeScriptEntry,
  startFakeAnthropic,
  TURN_COST_USD,
  textTurn,
  toolTurn,
} from "./helpers/fake-anthropic.js";
import { closedPort } from "./helpers/http-server.js";
import { invokeOnce, tempProjectWithLedger } from "./helpers/project.js";

const YAML = (top = "") => `
project_name: rt
auth:
  mode: api
${top}agents:
  code:
    daily_cap_usd: 5
    model: claude-sonnet-4-5
    max_turns: 6
    allowed_tools: [Read]
`;

let fake: FakeAnthropic | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** Dispatches a `code` task once, against `apiUrl` (the fake when there is a script). */
async function dispatch(options: {
  yaml?: string;
  script?: FakeScriptEntry[];
  fallback?: FakeScriptEntry;
  apiUrl?: string;
  /** CLAUDE_CODE_MAX_RETRIES for the CLI; its own default (10) when left out. */
  cliRetries?: string;
}): Promise<{ result: InvocationResult; progress: CallProgress[] }> {
  const project = await tempProjectWithLedger(options.yaml ?? YAML());
  if (options.script || options.fallback) {
    fake = await startFakeAnthropic({ script: options.script ?? [], fallback: options.fallback });
  }
  const env = claudeTestEnv(
    { url: options.apiUrl ?? fake!.url },
    join(project.dir, "ignored-config-dir"),
  );
  // The CLI's own default: 10 retries, minutes of backoff (the other tests turn it off).
  delete env.CLAUDE_CODE_MAX_RETRIES;
  if (options.cliRetries !== undefined) env.CLAUDE_CODE_MAX_RETRIES = options.cliRetries;
  const progress: CallProgress[] = [];
  const result = await invokeOnce(project, await project.fileTask("code"), env, {
    onProgress: (p) => progress.push(p),
  });
  return { result, progress };
}

const TURN_TOKENS =
  DEFAULT_USAGE.input_tokens +
  DEFAULT_USAGE.output_tokens +
  DEFAULT_USAGE.cache_creation_input_tokens +
  DEFAULT_USAGE.cache_read_input_tokens;

describe("a Claude call in progress", () => {
  it("reports turns, tokens and spend so far as the answers arrive", async () => {
    const { result, progress } = await dispatch({
      script: [toolTurn("Read", { file_path: "producer.yaml" }), textTurn("read it")],
    });
    expect(result).toMatchObject({ ok: true, turns: 2 });
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.map((p) => p.turns)).toEqual(
      [...progress.map((p) => p.turns)].sort((a, b) => a - b),
    );
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ turns: 2, apiRetry: null });
    // A streamed answer's output tokens are final only in the call's result: so far, every
    // input and cache token of both answers, and up to their output tokens.
    const outputs = 2 * DEFAULT_USAGE.output_tokens;
    expect(last.tokens).toBeGreaterThanOrEqual(2 * TURN_TOKENS - outputs);
    expect(last.tokens).toBeLessThanOrEqual(2 * TURN_TOKENS);
    // Priced with our table, which prices a turn as the CLI does.
    const outputUsd = computeCost("claude-sonnet-4-5", { outputTokens: outputs }).costUsd;
    expect(last.costUsd).toBeGreaterThanOrEqual(2 * TURN_COST_USD - outputUsd - 1e-9);
    expect(last.costUsd).toBeLessThanOrEqual(result.costUsd + 1e-9);
    expect(result.costUsd).toBeCloseTo(2 * TURN_COST_USD, 8);
  });

  it("gives up on an API it cannot reach after retry.api_wait_seconds, naming it", async () => {
    const port = await closedPort();
    const { result, progress } = await dispatch({
      yaml: YAML("retry:\n  api_wait_seconds: 3\n"),
      apiUrl: `http://127.0.0.1:${port}`,
    });
    expect(result).toMatchObject({ ok: false, errorKind: "api_error", retryable: true });
    expect(result.error).toMatch(
      new RegExp(
        `^could not reach the Anthropic API at http://127\\.0\\.0\\.1:${port}: no connection \\(refused, unresolved or timed out\\), \\d+ attempt\\(s\\) failed over 3 s; check the network and ANTHROPIC_BASE_URL \\(retry\\.api_wait_seconds sets how long to wait\\)$`,
      ),
    );
    // Well before the CLI's own 10 retries would have ended (over two minutes here).
    expect(result.durationMs).toBeLessThan(30_000);
    expect(progress.at(-1)).toMatchObject({
      turns: 0,
      tokens: 0,
      costUsd: 0,
      apiRetry: { status: null, maxRetries: 10 },
    });
  }, 60_000);

  it("names the API and the fix when the CLI stops retrying a refused connection itself", async () => {
    const port = await closedPort();
    const { result } = await dispatch({ apiUrl: `http://127.0.0.1:${port}`, cliRetries: "1" });
    expect(result).toMatchObject({ ok: false, errorKind: "api_error" });
    expect(result.error).toMatch(
      new RegExp(
        `^the Claude API failed: API Error: .*ECONNREFUSED.* \\(at http://127\\.0\\.0\\.1:${port}; check the network and ANTHROPIC_BASE_URL\\)$`,
      ),
    );
  }, 60_000);

  it("gives up on an API that takes the connection and never answers", async () => {
    const { result } = await dispatch({
      yaml: YAML("retry:\n  api_wait_seconds: 2\n"),
      // Longer than the test: only the CLI's API_TIMEOUT_MS and the watch can end the call.
      fallback: { ...textTurn("too late"), delayMs: 120_000 },
    });
    expect(result).toMatchObject({ ok: false, errorKind: "api_error" });
    expect(result.error).toMatch(
      /^could not reach the Anthropic API at http:\/\/127\.0\.0\.1:\d+: no connection \(refused, unresolved or timed out\), \d+ attempt\(s\) failed over 2 s; /,
    );
  }, 60_000);

  it("says what a failing API answered when it keeps failing", async () => {
    const { result, progress } = await dispatch({
      yaml: YAML("retry:\n  api_wait_seconds: 2\n"),
      // A 503 the CLI is told to retry, again and again.
      fallback: errorTurn(503, "overloaded", { "x-should-retry": "true" }),
    });
    expect(result).toMatchObject({ ok: false, errorKind: "api_error" });
    expect(result.error).toContain(`at ${fake!.url}: it answered HTTP 503, `);
    expect(progress.at(-1)?.apiRetry).toMatchObject({ status: 503 });
    expect(fake!.messageRequests().length).toBeGreaterThan(1);
  }, 60_000);
});
