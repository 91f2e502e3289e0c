import { performance } from "node:perf_hooks";
import { Histogram, type Registry } from "prom-client";
import type { Ledger } from "../ledger/ledger.js";

/** From a quick SQLite commit to a PostgreSQL write waiting on a lock. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** The ledger calls that write: each is one transaction (retried whole when it must be). */
const WRITES = new Set<string>([
  "insertTask",
  "insertTasks",
  "claimNext",
  "heartbeat",
  "endClaim",
  "complete",
  "fail",
  "escalate",
  "release",
  "recoverExpiredLeases",
  "recoverDeadClaims",
  "finishClaim",
  "reserveBudget",
  "claimAndReserve",
  "settleBudget",
  "releaseBudget",
  "releaseOrphanHolds",
  "requeue",
  "kill",
  "reroute",
  "recordDecision",
  "registerAsset",
  "recordNotification",
  "setNotificationDelivery",
  "resolveAttention",
  "producerStarted",
  "producerBeat",
  "producerStopped",
  "sealAudit",
  "appendAudit",
] satisfies (keyof Ledger)[]);

/**
 * The same ledger, with the time of every write call observed in
 * `ai_producer_ledger_write_seconds` (by operation, failures included: a slow refusal is
 * still time the loop waited). Measured around the call, so it is what the Producer waits
 * for: the transaction, its retries on a busy database, and the round trips to a server.
 */
export function timeLedgerWrites(ledger: Ledger, registry: Registry): Ledger {
  const latency = new Histogram({
    name: "ai_producer_ledger_write_seconds",
    help: "Time this process waited for each ledger write, by operation, in seconds.",
    labelNames: ["operation"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  // Made once per method: the Producer calls the ledger on every poll.
  const methods = new Map<string, (...args: unknown[]) => unknown>();
  return new Proxy(ledger, {
    get(target, property) {
      // The client itself as `this`, so its getters and private state work as without us.
      const value: unknown = Reflect.get(target, property, target);
      if (typeof property !== "string" || typeof value !== "function") return value;
      let method = methods.get(property);
      if (!method) {
        const call = value as (...args: unknown[]) => unknown;
        method = WRITES.has(property)
          ? (...args: unknown[]) => {
              const start = performance.now();
              const observe = () =>
                latency.observe({ operation: property }, (performance.now() - start) / 1000);
              return Promise.resolve(call.apply(target, args)).finally(observe);
            }
          : call.bind(target);
        methods.set(property, method);
      }
      return method;
    },
  });
}
