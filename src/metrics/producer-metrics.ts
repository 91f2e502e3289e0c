import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { ProducerEventEmitter } from "../producer/events.js";

/** Dispatch durations, in seconds: from a quick exec agent to a long Claude session. */
const DURATION_BUCKETS = [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];

/** What the process-side metrics watch: a running Producer's events and its calls in flight. */
export interface WatchedProducer {
  readonly events: ProducerEventEmitter;
  readonly inFlight: number;
}

/**
 * Registers the metrics only a running Producer knows, counted from its events since this
 * process started (as Prometheus counters are: a restart begins again at 0, which `rate()`
 * and `increase()` allow for). The ledger keeps no cheap per-outcome count of dispatches (the
 * audit index leaves out the per-task actions to keep writes small), so these are not
 * served by `producer metrics` or `producer ui`, which would have to print made-up zeros.
 */
export function registerProducerMetrics(registry: Registry, producer: WatchedProducer): void {
  const { events } = producer;
  const started = new Counter({
    name: "ai_producer_dispatches_started_total",
    help: "Dispatches this Producer started (a task claimed and funded), by role; counted since the process started.",
    labelNames: ["role"] as const,
    registers: [registry],
  });
  const ended = new Counter({
    name: "ai_producer_dispatches_ended_total",
    help: "Dispatches this Producer saw end, by role and outcome (succeeded; failed, then retry, escalated, failed for good, or released uncounted; or lost, its claim taken back meanwhile); counted since the process started.",
    labelNames: ["role", "outcome"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "ai_producer_dispatch_duration_seconds",
    help: "Wall-clock time of this Producer's dispatches, by role and outcome, in seconds.",
    labelNames: ["role", "outcome"] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const retries = new Counter({
    name: "ai_producer_retries_total",
    help: "Retries this Producer scheduled after a failed dispatch, by role; counted since the process started.",
    labelNames: ["role"] as const,
    registers: [registry],
  });
  const escalations = new Counter({
    name: "ai_producer_escalations_total",
    help: "Tasks this Producer escalated to a human, by role; counted since the process started.",
    labelNames: ["role"] as const,
    registers: [registry],
  });
  const idle = new Gauge({
    name: "ai_producer_idle",
    help: "1 while this Producer has had nothing to dispatch for its idle threshold (idle_threshold_polls x poll_interval_seconds), else 0.",
    registers: [registry],
  });
  idle.set(0);
  new Gauge({
    name: "ai_producer_dispatches_in_flight",
    help: "Calls this Producer has running now.",
    registers: [registry],
    collect() {
      this.set(producer.inFlight);
    },
  });

  events.on("claimed", (e) => started.inc({ role: e.role }));
  events.on("succeeded", (e) => {
    ended.inc({ role: e.role, outcome: "succeeded" });
    duration.observe({ role: e.role, outcome: "succeeded" }, e.durationMs / 1000);
  });
  events.on("failed", (e) => {
    ended.inc({ role: e.role, outcome: e.next });
    duration.observe({ role: e.role, outcome: e.next }, e.durationMs / 1000);
  });
  // The claim was recovered while the call ran: its cost counts, its outcome was dropped.
  events.on("claim_lost", (e) => ended.inc({ role: e.role, outcome: "lost" }));
  events.on("retry_scheduled", (e) => retries.inc({ role: e.role }));
  events.on("escalated", (e) => escalations.inc({ role: e.role }));
  events.on("idle", () => idle.set(1));
  events.on("back_online", () => idle.set(0));
}
