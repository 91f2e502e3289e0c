/** What happens to a task whose dispatch failed. */
export type NextStep =
  | { kind: "retry"; delaySeconds: number }
  | { kind: "escalate" }
  | { kind: "fail" };

/**
 * Retry n (1-based) waits `backoffSeconds × 2^(n-1)`. `attempts` counts dispatches so far,
 * this one included: with max_retries 3 the 4th failure escalates. Failures a retry cannot
 * fix (a missing prompt file, an unknown runtime) fail at once.
 */
export function nextStep(
  attempts: number,
  retry: { maxRetries: number; backoffSeconds: number },
  retryable: boolean,
): NextStep {
  if (!retryable) return { kind: "fail" };
  if (attempts > retry.maxRetries) return { kind: "escalate" };
  return { kind: "retry", delaySeconds: retry.backoffSeconds * 2 ** (Math.max(1, attempts) - 1) };
}
