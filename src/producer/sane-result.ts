import type { TokenUsage } from "../ledger/types.js";
import type { InvocationResult } from "../runtimes/types.js";

/** More tokens than any one call can use: a count above it is a broken or lying report. */
export const MAX_TOKENS_PER_CALL = 1e10;

/**
 * A runtime's result as the ledger may record it. Token counts or a cost that are not finite,
 * negative or absurd are the agent's bad output, not facts: the call fails for good, no
 * tokens are recorded, and it is charged its whole hold (`holdUsd`), the most it was allowed
 * to spend, so an unknowable cost is never counted low.
 */
export function saneResult(result: InvocationResult, holdUsd: number): InvocationResult {
  const problem = impossible(result);
  if (!problem) return result;
  const zero: TokenUsage = {
    inputTokens: 0,
    outputTokens: 0,
    cacheCreationTokens: 0,
    cacheReadTokens: 0,
  };
  return {
    ...result,
    ok: false,
    errorKind: "bad_output",
    retryable: false,
    error: `the agent reported ${problem}; it is charged its whole hold ($${holdUsd.toFixed(4)})`,
    usage: zero,
    usageByModel: {},
    costUsd: holdUsd,
    actualCostUsd: null,
  };
}

function impossible(result: InvocationResult): string | null {
  const counts: [string, number | undefined][] = [
    ["input tokens", result.usage.inputTokens],
    ["output tokens", result.usage.outputTokens],
    ["cache write tokens", result.usage.cacheCreationTokens],
    ["cache read tokens", result.usage.cacheReadTokens],
  ];
  for (const [what, n] of counts) {
    if (n !== undefined && !(Number.isFinite(n) && n >= 0 && n <= MAX_TOKENS_PER_CALL)) {
      return `an impossible usage (${what}: ${n})`;
    }
  }
  for (const [what, n] of [
    ["cost", result.costUsd],
    ["actual cost", result.actualCostUsd ?? 0],
  ] as const) {
    if (!(Number.isFinite(n) && n >= 0)) return `an impossible ${what} ($${n})`;
  }
  return null;
}
