import type { ProducerConfig, RoleConfig, RuntimeKind } from "../config/types.js";
import { DISPATCH_TOKEN_VARIABLE, dispatchTokenFor } from "../identity/dispatch-token.js";
import type { Ledger } from "../ledger/ledger.js";
import type { Task, TokenUsage } from "../ledger/types.js";
import type { PriceTable } from "../pricing/table.js";

/** Why a dispatch failed. Each kind has its own clear message; see `retryable`. */
export type InvocationErrorKind =
  /** The agent process died or exited non-zero. */
  | "crash"
  /** The role's `timeout_minutes` ran out. */
  | "timeout"
  /** Kill switch `--now` or a second Ctrl-C: not the agent's fault, not counted. */
  | "aborted"
  | "max_turns"
  | "max_budget"
  /** The model API answered with errors. */
  | "api_error"
  /** No API key and no stored login. */
  | "not_logged_in"
  /** Ended "successfully" without using a tool or writing to the ledger. */
  | "no_productive_output"
  /** The agent's report line could not be read. */
  | "bad_output"
  /** Something only a human can fix: missing prompt file, missing command or binary. */
  | "setup";

/** Everything one dispatch reports back, whichever runtime ran it. */
export interface InvocationResult {
  ok: boolean;
  errorKind: InvocationErrorKind | null;
  /** One readable line saying what went wrong; null when ok. */
  error: string | null;
  /** False for failures a retry cannot fix (setup problems). */
  retryable: boolean;
  /** The agent's final text or summary. */
  resultText: string | null;
  turns: number;
  /** Tokens per model, as the runtime reported them. */
  usageByModel: Record<string, TokenUsage>;
  /** Tokens over all models. */
  usage: TokenUsage;
  /**
   * What the call is charged, USD: the larger of the cost computed from its tokens with the
   * Producer's price table and the cost the runtime reported, so neither a stale or tampered
   * table nor an under-reporting runtime can make a call cheaper than it was.
   */
  costUsd: number;
  /** Cost the SDK reported; null when the auth mode gives none. */
  actualCostUsd: number | null;
  model: string | null;
  sessionId: string | null;
  toolCalls: number;
  ledgerWrites: number;
  durationMs: number;
  /** Last lines of the agent's stderr/stdout, kept for error reports. */
  outputTail: string | null;
}

/** One task handed to one agent. */
export interface DispatchRequest {
  task: Task;
  role: RoleConfig;
  config: ProducerConfig;
  /** The spending limit of this call (the budget's hold), USD. */
  budgetUsd: number;
  /** Aborts the call (kill switch `--now`, shutdown). */
  signal: AbortSignal;
  /** The environment the agent starts from (PRODUCER_* are added by the runtime). */
  env: NodeJS.ProcessEnv;
  /** The ledger the agent's tools write to. */
  ledger: Ledger;
  /**
   * The prices tokens are charged at: the table the Producer loaded at start (or after a
   * human's `producer pricing update`), never re-read from disk during a call.
   */
  prices: PriceTable;
  /**
   * Told how the call is going while it runs (a runtime that knows: Claude), as often as it
   * learns something; the caller decides how often to show it.
   */
  onProgress?: (progress: CallProgress) => void;
}

/** A running call's progress so far. */
export interface CallProgress {
  /** Model answers received (turns of the agent's loop). */
  turns: number;
  /** Tokens of those answers: input, output and cache. */
  tokens: number;
  /** Those tokens priced with the Producer's table, USD. */
  costUsd: number;
  /** Set while the runtime is retrying a failing API call. */
  apiRetry: {
    attempt: number;
    maxRetries: number;
    /** The HTTP status of the last failure; null when there was no answer at all. */
    status: number | null;
    /** How long it has been retrying. */
    forMs: number;
  } | null;
}

/** How the Producer runs an agent. The loop does not care which one it is. */
export interface Runtime {
  readonly kind: RuntimeKind;
  invoke(request: DispatchRequest): Promise<InvocationResult>;
}

/**
 * The charge of a call: tokens priced with our table, raised to what the runtime reported
 * when that is higher. A non-finite or negative report counts as none.
 */
export function chargeFor(computedUsd: number, reportedUsd: number | null | undefined): number {
  const reported =
    typeof reportedUsd === "number" && Number.isFinite(reportedUsd) && reportedUsd > 0
      ? reportedUsd
      : 0;
  return Math.max(computedUsd, reported);
}

/** Zero tokens. */
export function noUsage(): TokenUsage {
  return { inputTokens: 0, outputTokens: 0, cacheCreationTokens: 0, cacheReadTokens: 0 };
}

/** A result with every counter at zero; runtimes fill in what they learn. */
export function emptyResult(startedAt: number, now: number): InvocationResult {
  return {
    ok: false,
    errorKind: null,
    error: null,
    retryable: true,
    resultText: null,
    turns: 0,
    usageByModel: {},
    usage: noUsage(),
    costUsd: 0,
    actualCostUsd: null,
    model: null,
    sessionId: null,
    toolCalls: 0,
    ledgerWrites: 0,
    durationMs: now - startedAt,
    outputTail: null,
  };
}

/**
 * The result builder of one invocation started now: every counter at zero, the duration
 * measured when a result is built.
 */
export function resultBuilder(
  now: () => number,
): (patch: Partial<InvocationResult>) => InvocationResult {
  const started = now();
  return (patch) => ({ ...emptyResult(started, now()), ...patch });
}

/** The environment every dispatched agent sees, so `producer task add` is attributed. */
export function producerEnv(request: DispatchRequest): Record<string, string> {
  return {
    // What the agent's own CLI and library writes are attributed by (see identity/).
    [DISPATCH_TOKEN_VARIABLE]: request.task.claimToken
      ? dispatchTokenFor(request.task.claimToken)
      : "",
    PRODUCER_TASK_ID: request.task.id,
    PRODUCER_ROLE: request.task.agentOwner,
    PRODUCER_CONFIG: request.config.configPath,
    PRODUCER_BUDGET_USD: request.budgetUsd.toFixed(4),
  };
}
