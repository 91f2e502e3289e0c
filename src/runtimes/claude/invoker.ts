import { dirname } from "node:path";
import type { Options, SDKMessage, SDKResultMessage } from "@anthropic-ai/claude-agent-sdk";
import type { TokenUsage } from "../../ledger/types.js";
import { computeCost } from "../../pricing/table.js";
import { agentEnv } from "../agent-env.js";
import { DISPATCH_MARK_VARIABLE, endDispatchTreeSoon, newDispatchMark } from "../process-tree.js";
import { buildDispatchPrompt, rolePromptOrFailure } from "../prompt.js";
import {
  chargeFor,
  type DispatchRequest,
  type InvocationResult,
  noUsage,
  producerEnv,
  type Runtime,
  resultBuilder,
} from "../types.js";
import { HOW_TO_AUTHENTICATE, hostCredentialsFile, planAuth } from "./auth.js";
import { CallWatch, DEFAULT_API_URL } from "./call-watch.js";
import { createLedgerServer, LEDGER_TOOL_NAMES } from "./ledger-tools.js";
import { editDenyRules, protectedPaths } from "./protected-paths.js";
import { writeGuardHooks } from "./write-guard.js";

type Sdk = typeof import("@anthropic-ai/claude-agent-sdk");

/** Characters of the CLI's stderr kept for error reports. */
const STDERR_TAIL = 4000;

/** Knobs for tests and unusual installs. */
export interface ClaudeInvokerOptions {
  /** Run this instead of the SDK's bundled `claude` (a `.js`/`.mjs` path runs with node). */
  pathToClaudeCodeExecutable?: string;
  /** Where "now" comes from, for durations. */
  now?: () => number;
  /** Told about auth fallbacks and other things an operator should see. */
  warn?: (message: string) => void;
}

/**
 * Dispatches one task to Claude through the Claude Agent SDK: the dispatch prompt, the role's
 * standing prompt appended to Claude Code's own, the model, turn limit, timeout and spending
 * limit. The model is offered exactly the role's `allowed_tools` plus the five ledger tools
 * (loaded up front, not deferred); no other built-in tool exists for it. Writes to the
 * project's protected files are refused in every auth mode, and nothing ever waits on a
 * permission prompt. The SDK is loaded only when the first dispatch needs it.
 */
export class ClaudeAgentInvoker implements Runtime {
  readonly kind = "claude" as const;
  private sdk: Promise<Sdk> | undefined;
  private readonly warned = new Set<string>();

  constructor(private readonly options: ClaudeInvokerOptions = {}) {}

  async invoke(request: DispatchRequest): Promise<InvocationResult> {
    const base = resultBuilder(this.options.now ?? Date.now);
    const role = rolePromptOrFailure(request.role.prompt);
    if ("failure" in role) return base(role.failure);
    const systemPrompt = role.prompt;
    let auth: ReturnType<typeof planAuth>;
    try {
      auth = planAuth({
        mode: request.config.auth.mode,
        env: request.env,
        passEnv: agentEnv(request.env, {
          roleEnv: request.role.env,
          forClaude: true,
          projectRoot: request.config.projectRoot,
        }),
        projectRoot: request.config.projectRoot,
        agentStateDir: request.config.agentStateDir,
        bypassPermissions: request.config.auth.bypassPermissions,
      });
    } catch (error) {
      return base({
        errorKind: "not_logged_in",
        retryable: false,
        error: (error as Error).message,
      });
    }
    for (const warning of auth.warnings) this.warnOnce(warning);

    let sdk: Sdk;
    try {
      this.sdk ??= import("@anthropic-ai/claude-agent-sdk");
      sdk = await this.sdk;
    } catch (error) {
      this.sdk = undefined;
      return base({
        errorKind: "setup",
        retryable: false,
        error: `the Claude Agent SDK could not be loaded (${(error as Error).message}): reinstall ai-producer with its dependencies`,
      });
    }

    const counters = { ledgerWrites: 0 };
    const abort = new AbortController();
    let timedOut = false;
    const timeoutMs = request.role.timeoutMinutes * 60_000;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, timeoutMs);
    const onAbort = () => abort.abort();
    if (request.signal.aborted) abort.abort();
    else request.signal.addEventListener("abort", onAbort, { once: true });

    let stderr = "";
    // Everything the CLI starts (its Bash tool's background jobs too) carries this mark.
    const mark = newDispatchMark();
    const fence = protectedPaths(request.config, [dirname(hostCredentialsFile(request.env))]);
    const options: Options = {
      cwd: request.config.projectRoot,
      env: {
        // How long the CLI waits for an answer to start (checked with the bundled claude: a
        // slower stream is not cut). Its default, 10 minutes, keeps a call that reached a
        // silent proxy from ever retrying; an operator's own setting wins.
        API_TIMEOUT_MS: String(request.config.retry.apiWaitSeconds * 1000),
        ...auth.env,
        ...producerEnv(request),
        [DISPATCH_MARK_VARIABLE]: mark,
      },
      systemPrompt: { type: "preset", preset: "claude_code", append: systemPrompt },
      settingSources: auth.settingSources,
      permissionMode: auth.permissionMode,
      allowDangerouslySkipPermissions: auth.permissionMode === "bypassPermissions",
      // `tools` decides what the model is offered; `allowedTools` only pre-approves.
      tools: [...request.role.allowedTools],
      allowedTools: [...new Set([...request.role.allowedTools, ...LEDGER_TOOL_NAMES])],
      hooks: writeGuardHooks(fence),
      settings: { permissions: { deny: editDenyRules(fence) } },
      mcpServers: { ledger: createLedgerServer(sdk, request.ledger, request.task, counters) },
      model: request.role.model,
      maxTurns: request.role.maxTurns,
      maxBudgetUsd: request.budgetUsd,
      persistSession: false,
      abortController: abort,
      stderr: (chunk: string) => {
        stderr = (stderr + chunk).slice(-STDERR_TAIL);
      },
      ...(this.options.pathToClaudeCodeExecutable
        ? { pathToClaudeCodeExecutable: this.options.pathToClaudeCodeExecutable }
        : {}),
    };

    const watch = new CallWatch({
      prices: request.prices,
      now: this.options.now ?? Date.now,
      apiWaitMs: request.config.retry.apiWaitSeconds * 1000,
      apiUrl: options.env?.ANTHROPIC_BASE_URL || DEFAULT_API_URL,
      onProgress: request.onProgress,
      onGiveUp: () => abort.abort(),
    });
    let result: SDKResultMessage | undefined;
    let toolCalls = 0;
    let sessionId: string | null = null;
    let model: string | null = null;
    let thrown: unknown;
    try {
      for await (const message of sdk.query({
        prompt: buildDispatchPrompt(request.task, request.config, request.budgetUsd),
        options,
      }) as AsyncIterable<SDKMessage>) {
        watch.see(message);
        if (message.type === "system" && message.subtype === "init") {
          sessionId = message.session_id;
          model = message.model;
        } else if (message.type === "assistant") {
          for (const block of message.message.content) if (block.type === "tool_use") toolCalls++;
        } else if (message.type === "result") {
          result = message;
        }
      }
    } catch (error) {
      // The SDK throws after an error result when the CLI exits non-zero: keep the result.
      thrown = error;
    } finally {
      watch.close();
      clearTimeout(timer);
      request.signal.removeEventListener("abort", onAbort);
      // Nothing the agent started outlives its dispatch: the same sweep as an exec agent's,
      // which looks again for a process it caught still starting its program.
      await endDispatchTreeSoon(mark, "SIGKILL");
    }

    const accounting = this.account(result, request, auth.reportsActualCost);
    const common: Partial<InvocationResult> = {
      ...accounting,
      sessionId: result?.session_id ?? sessionId,
      model: accounting.model ?? model ?? request.role.model,
      turns: result?.num_turns ?? 0,
      toolCalls,
      ledgerWrites: counters.ledgerWrites,
      outputTail: stderr.trim() || null,
    };
    return base({
      ...common,
      ...classify({
        result,
        thrown,
        timedOut,
        unreachable: watch.unreachable,
        apiUrl: options.env?.ANTHROPIC_BASE_URL || DEFAULT_API_URL,
        aborted: request.signal.aborted,
        toolCalls,
        counters,
        timeoutMinutes: request.role.timeoutMinutes,
        sdk,
      }),
    });
  }

  /**
   * Tokens per model from `modelUsage` (complete even when `usage` lags), priced by us, and
   * charged at no less than what the CLI itself computed (`total_cost_usd`).
   */
  private account(
    result: SDKResultMessage | undefined,
    request: DispatchRequest,
    reportsActualCost: boolean,
  ): Partial<InvocationResult> {
    if (!result) return {};
    const table = request.prices;
    const usageByModel: Record<string, TokenUsage> = {};
    const usage = noUsage();
    let costUsd = 0;
    let busiest: string | null = null;
    let busiestTokens = -1;
    for (const [id, m] of Object.entries(result.modelUsage ?? {})) {
      const u: TokenUsage = {
        inputTokens: m.inputTokens ?? 0,
        outputTokens: m.outputTokens ?? 0,
        cacheCreationTokens: m.cacheCreationInputTokens ?? 0,
        cacheReadTokens: m.cacheReadInputTokens ?? 0,
      };
      const writes1h = m.cacheCreationEphemeral1hInputTokens ?? 0;
      if (writes1h > 0) {
        u.cacheCreation1hTokens = writes1h;
        usage.cacheCreation1hTokens = (usage.cacheCreation1hTokens ?? 0) + writes1h;
      }
      usageByModel[id] = u;
      usage.inputTokens += u.inputTokens;
      usage.outputTokens += u.outputTokens;
      usage.cacheCreationTokens += u.cacheCreationTokens;
      usage.cacheReadTokens += u.cacheReadTokens;
      const priced = computeCost(id, u, table);
      if (priced.unknownModel)
        this.warnOnce(`no price known for model ${id}: priced at the most expensive known rate`);
      costUsd += priced.costUsd;
      const tokens = u.inputTokens + u.outputTokens;
      if (tokens > busiestTokens) {
        busiest = id;
        busiestTokens = tokens;
      }
    }
    return {
      usageByModel,
      usage,
      costUsd: chargeFor(costUsd, result.total_cost_usd),
      actualCostUsd: reportsActualCost ? result.total_cost_usd : null,
      model: busiest,
      resultText: result.subtype === "success" ? result.result : null,
    };
  }

  private warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    (this.options.warn ?? ((m: string) => process.emitWarning(m)))(message);
  }
}

/** Maps what the SDK said (or threw) to one outcome with one clear message. */
function classify(facts: {
  result: SDKResultMessage | undefined;
  thrown: unknown;
  timedOut: boolean;
  /** Why the call was given up on an API it could not reach, if it was. */
  unreachable: string | null;
  /** The API the CLI was sent to. */
  apiUrl: string;
  aborted: boolean;
  toolCalls: number;
  counters: { ledgerWrites: number };
  timeoutMinutes: number;
  sdk: Sdk;
}): Partial<InvocationResult> {
  const { result, thrown } = facts;
  if (facts.timedOut) {
    return {
      ok: false,
      errorKind: "timeout",
      error: `the call ran past its ${facts.timeoutMinutes}-minute timeout and was stopped`,
    };
  }
  if (facts.unreachable) return { ok: false, errorKind: "api_error", error: facts.unreachable };
  if (facts.aborted) return { ok: false, errorKind: "aborted", error: "the call was aborted" };
  if (result?.is_error || (result && result.subtype !== "success")) {
    const text = result.subtype === "success" ? result.result : result.errors.join("; ");
    if (result.subtype === "error_max_turns") {
      return { ok: false, errorKind: "max_turns", error: `the agent hit its turn limit: ${text}` };
    }
    if (result.subtype === "error_max_budget_usd") {
      return {
        ok: false,
        errorKind: "max_budget",
        error: `the agent hit this call's spending limit: ${text}`,
      };
    }
    if (/not logged in|invalid api key|authentication/i.test(text)) {
      return {
        ok: false,
        errorKind: "not_logged_in",
        retryable: false,
        error: `Claude refused the credentials (${text}): ${HOW_TO_AUTHENTICATE}`,
      };
    }
    const status = (result as { api_error_status?: number | null }).api_error_status;
    if (status || (result as { terminal_reason?: string }).terminal_reason === "api_error") {
      // The CLI gave up retrying before the watch did: name where it was sent, as the watch does.
      const where = /connect|ECONN|ENOTFOUND|EAI_AGAIN|timed out|fetch failed/i.test(text)
        ? ` (at ${facts.apiUrl}; check the network and ANTHROPIC_BASE_URL)`
        : "";
      return {
        ok: false,
        errorKind: "api_error",
        error: `the Claude API failed: ${text}${where}`,
      };
    }
    return {
      ok: false,
      errorKind: "crash",
      error: `the agent's run failed: ${text || result.subtype}`,
    };
  }
  if (!result) {
    const message = thrown instanceof Error ? thrown.message : String(thrown ?? "no result");
    if (thrown instanceof facts.sdk.AbortError)
      return { ok: false, errorKind: "aborted", error: "the call was aborted" };
    if (/binary not found|Native CLI binary/i.test(message) || thrown instanceof ReferenceError) {
      return {
        ok: false,
        errorKind: "setup",
        retryable: false,
        error: `the claude executable is missing: ${message}`,
      };
    }
    return {
      ok: false,
      errorKind: "crash",
      error: `the claude process failed before finishing: ${firstLines(message)}`,
    };
  }
  if (facts.toolCalls === 0 && facts.counters.ledgerWrites === 0) {
    return {
      ok: false,
      errorKind: "no_productive_output",
      error: "the agent answered with text only: no tool used, nothing written to the ledger",
    };
  }
  return { ok: true };
}

function firstLines(text: string): string {
  return text.split("\n").slice(0, 3).join(" ").slice(0, 500);
}
