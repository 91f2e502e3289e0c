import type { SDKMessage } from "@anthropic-ai/claude-agent-sdk";
import type { TokenUsage } from "../../ledger/types.js";
import { computeCost, type PriceTable } from "../../pricing/table.js";
import type { CallProgress } from "../types.js";

/** Where the Claude CLI sends its requests unless ANTHROPIC_BASE_URL says otherwise. */
export const DEFAULT_API_URL = "https://api.anthropic.com";

/** An API failure the CLI is retrying, as its `system/api_retry` message tells it. */
interface RetrySpell {
  /** When the first retry of this run of failures was announced. */
  since: number;
  attempt: number;
  maxRetries: number;
  status: number | null;
}

/**
 * Watches one Claude call's messages: adds up turns, tokens and spend so far for progress
 * reports, and gives up on an API that keeps failing. The CLI retries a failing API with
 * backoff for minutes (10 retries by default) and says nothing on its own; once it has been
 * retrying for `apiWaitMs` without an answer in between, `onGiveUp` is called (the invoker
 * aborts the call) and `unreachable` says why. A slow answer or a long tool run is no
 * retry, so neither trips it.
 */
export class CallWatch {
  /** Set when the call was given up on: one line naming the API, the cause and the fix. */
  unreachable: string | null = null;
  private readonly usageById = new Map<string, { model: string; usage: TokenUsage }>();
  private spell: RetrySpell | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly options: {
      prices: PriceTable;
      now: () => number;
      /** How long the CLI may keep retrying before the call fails. */
      apiWaitMs: number;
      /** The API the CLI talks to, for the message. */
      apiUrl: string;
      onProgress?: (progress: CallProgress) => void;
      onGiveUp: () => void;
    },
  ) {}

  see(message: SDKMessage): void {
    if (message.type === "assistant") {
      // An answer, even a partial one: the API is reachable again.
      if (!message.error) this.endSpell();
      const m = message.message;
      if (m.id && m.usage) {
        this.usageById.set(m.id, {
          model: m.model,
          usage: {
            inputTokens: m.usage.input_tokens ?? 0,
            outputTokens: m.usage.output_tokens ?? 0,
            cacheCreationTokens: m.usage.cache_creation_input_tokens ?? 0,
            cacheReadTokens: m.usage.cache_read_input_tokens ?? 0,
          },
        });
      }
      this.report();
    } else if (message.type === "system" && message.subtype === "api_retry") {
      this.spell = {
        since: this.spell?.since ?? this.options.now(),
        attempt: message.attempt,
        maxRetries: message.max_retries,
        status: message.error_status,
      };
      this.timer ??= setTimeout(() => this.giveUp(), this.options.apiWaitMs);
      this.report();
    }
  }

  /** Stops the watchdog; call when the call ends. */
  close(): void {
    this.endSpell();
  }

  private endSpell(): void {
    this.spell = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private giveUp(): void {
    const spell = this.spell;
    this.timer = null;
    if (!spell) return;
    const waited = Math.round(this.options.apiWaitMs / 1000);
    const cause =
      spell.status === null
        ? "no connection (refused, unresolved or timed out)"
        : `it answered HTTP ${spell.status}`;
    this.unreachable = `could not reach the Anthropic API at ${this.options.apiUrl}: ${cause}, ${spell.attempt} attempt(s) failed over ${waited} s; check the network and ANTHROPIC_BASE_URL (retry.api_wait_seconds sets how long to wait)`;
    this.options.onGiveUp();
  }

  private report(): void {
    if (!this.options.onProgress) return;
    let tokens = 0;
    let costUsd = 0;
    for (const { model, usage } of this.usageById.values()) {
      tokens +=
        usage.inputTokens + usage.outputTokens + usage.cacheCreationTokens + usage.cacheReadTokens;
      costUsd += computeCost(model, usage, this.options.prices).costUsd;
    }
    const spell = this.spell;
    this.options.onProgress({
      turns: this.usageById.size,
      tokens,
      costUsd,
      apiRetry: spell
        ? {
            attempt: spell.attempt,
            maxRetries: spell.maxRetries,
            status: spell.status,
            forMs: this.options.now() - spell.since,
          }
        : null,
    });
  }
}
