import { Registry } from "prom-client";

/**
 * The Content-Type of the Prometheus text exposition format, as `GET /metrics` answers it
 * (`text/plain; version=0.0.4; charset=utf-8`).
 */
export const METRICS_CONTENT_TYPE: string = Registry.PROMETHEUS_CONTENT_TYPE;

/**
 * A registry of this process's metrics. Never prom-client's global one: a library user's own
 * metrics, or a second Producer in the same process, must not mix with ours.
 */
export function newMetricsRegistry(): Registry {
  return new Registry();
}

/** The registry's metrics in the text exposition format, read at this moment. */
export function metricsText(registry: Registry): Promise<string> {
  return registry.metrics();
}

/**
 * Runs `read` once for every metric that asks during one scrape: prom-client collects all of
 * a registry's metrics at once, and each would otherwise read the ledger again.
 */
export function oncePerScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | null = null;
  return () => {
    if (pending) return pending;
    const current = read().finally(() => {
      pending = null;
    });
    pending = current;
    return current;
  };
}
